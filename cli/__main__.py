"""`python -m cli …` is `ciam-migrate …` (for subprocesses that must use this interpreter)."""

from cli.main import main

main()
