"""Refresh the settings table in each tap's README from `--about --format markdown`.

`--check` only reports drift (the tests call it): README and code must say the same.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TABLE = re.compile(r"(## Settings\n\n)(\|.*?\n)(?=\n|\Z)", re.S)


def about_table(tap: str) -> str:
    about = subprocess.run(
        [BIN / tap, "--about", "--format", "markdown"], capture_output=True, text=True, check=True
    ).stdout
    section = about.split("## Settings", 1)[1]
    return "".join(line + "\n" for line in section.splitlines() if line.startswith("|"))


def main(check: bool) -> int:
    stale = []
    for readme in sorted(ROOT.glob("tap-analytics-[a-e]/README.md")):
        tap = readme.parent.name
        text = readme.read_text()
        match = TABLE.search(text)
        if not match:
            stale.append(f"{readme}: no '## Settings' table")
            continue
        table = about_table(tap)
        if match.group(2) != table:
            stale.append(str(readme))
            if not check:
                readme.write_text(text[: match.start(2)] + table + text[match.end(2) :])
    for line in stale:
        print(("stale: " if check else "updated: ") + line)
    return 1 if check and stale else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
