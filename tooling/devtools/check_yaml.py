"""Pre-commit hook: every YAML file given parses (pyyaml, safe loader).

A local stand-in for pre-commit-hooks' check-yaml, which cannot be cloned here.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml


def main(argv: list[str] | None = None) -> int:
    failed = 0
    for name in argv if argv is not None else sys.argv[1:]:
        try:
            list(yaml.safe_load_all(Path(name).read_text(encoding="utf-8")))
        except (OSError, yaml.YAMLError) as exc:
            print(f"{name}: {str(exc).splitlines()[0]}")
            failed = 1
    return failed


if __name__ == "__main__":
    sys.exit(main())
