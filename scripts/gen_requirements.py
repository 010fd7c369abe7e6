"""Generate requirements.txt (what Azure Functions installs) from pyproject.toml's dependencies.

`python scripts/gen_requirements.py` writes it; `--check` exits 1 when the file has drifted.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# Generated from pyproject.toml by scripts/gen_requirements.py. Do not edit.\n"


def render() -> str:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return HEADER + "".join(f"{dep}\n" for dep in sorted(project["dependencies"], key=str.lower))


def main(argv: list[str]) -> int:
    target = ROOT / "requirements.txt"
    wanted = render()
    if "--check" in argv:
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != wanted:
            print("requirements.txt has drifted from pyproject.toml: run python scripts/gen_requirements.py")
            return 1
        print("requirements.txt matches pyproject.toml")
        return 0
    target.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
