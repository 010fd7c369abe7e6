"""Tests of the Functions triggers.

pytest imports this directory as the top-level package `functions` (tests/ has no __init__.py), which shadows
the product's functions/ package; the trigger modules were then found only through the editable install's
finder, i.e. from whichever checkout was installed, not the one under test. Searching the product's functions/
here first makes `functions.<stage>` the code of this checkout.
"""

from pathlib import Path

__path__.insert(0, str(Path(__file__).resolve().parents[2] / "functions"))
