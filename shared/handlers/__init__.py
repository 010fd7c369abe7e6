"""Stage handlers: one async function per stage, (message, ports, workflow) -> messages that follow.

Handlers send nothing themselves, so the Functions host and the local host run the same code and
resume logic is tested without I/O.
"""
