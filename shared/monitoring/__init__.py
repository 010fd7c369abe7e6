"""Cutover monitoring: JIT tenant setup, sign-in ingestion, migration metrics, alert rules and their dispatch."""
