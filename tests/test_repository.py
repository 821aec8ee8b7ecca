"""The repository stands alone: a clone with nothing beside it has every fact its code and tests use."""

from __future__ import annotations

import base64
import re
import subprocess

import pytest

from tests.helpers import ROOT, api_reference

TAPS = [f"tap-analytics-{x}" for x in "abcde"]
# What lies beside the checkout and not in a clone: the folder of shared inputs, its API
# documents and the design contract. Kept encoded so that this guard does not cite them itself.
OUTSIDE_NAMES = ["Li4vc2hhcmVk", "c2hhcmVkL2FwaQ==", "REVTSUdOLm1k", "YXBpLWRvY3Mv"]
OUTSIDE = re.compile("|".join(re.escape(base64.b64decode(name).decode()) for name in OUTSIDE_NAMES))


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return listed.stdout.splitlines()


def test_nothing_reads_or_cites_a_path_outside_the_repository():
    found = []
    for name in tracked_files():
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{name}:{n}" for n, line in enumerate(text.splitlines(), 1) if OUTSIDE.search(line)]
    assert found == []


@pytest.mark.parametrize("tap", TAPS)
def test_each_tap_carries_its_api_reference(tap):
    text = api_reference(tap).read_text()
    for section in ("## Hosts and authentication", "## Pagination", "## Resources", "## Fields"):
        assert f"\n{section}\n" in text, section
    resources = re.findall(r"^\| ([A-Z][\w ]+) \| `(/[^`]*)` \| `([\w.]+)` \|", text, re.M)
    assert resources, "no resource table"
