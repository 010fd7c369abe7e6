"""Benchmarks: each prints figures as ratios against the quota the emulator enforces."""
