"""Packaging: one suite version, complete metadata, requirements at the ranges the suite is tested with."""

from __future__ import annotations

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.version import Version

from tests.helpers import ROOT

PACKAGES = ["tap-analytics-common", *(f"tap-analytics-{x}" for x in "abcde"), "sandbox"]
VERSION = Version((ROOT / "VERSION").read_text().strip())


def project(package: str) -> dict:
    return tomllib.loads((ROOT / package / "pyproject.toml").read_text())


def requirements(package: str) -> dict[str, Requirement]:
    return {r.name: r for r in map(Requirement, project(package)["project"]["dependencies"])}


def pinned(name: str) -> Version:
    """The version constraints.txt installs for development and tests."""
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.startswith(f"{name}=="):
            return Version(line.split("==", 1)[1])
    raise AssertionError(f"{name} is not pinned in constraints.txt")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_takes_the_suite_version_from_the_root_file(package):
    meta = project(package)
    assert "version" not in meta["project"]
    assert meta["project"]["dynamic"] == ["version"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"file": "VERSION"}
    assert (ROOT / package / "VERSION").resolve() == (ROOT / "VERSION").resolve()
    assert (ROOT / package / "LICENSE").resolve() == (ROOT / "LICENSE").resolve()
    assert "VERSION" in (ROOT / package / "MANIFEST.in").read_text()


@pytest.mark.parametrize("package", PACKAGES)
def test_metadata_is_complete(package):
    meta = project(package)["project"]
    assert (ROOT / package / meta["readme"]).is_file()
    assert meta["license"] == "Apache-2.0"
    assert meta["authors"] == [{"name": "tap-analytics contributors"}]
    assert {"singer-io", "meltano"} <= set(meta["keywords"])
    assert meta["classifiers"]
    assert meta["description"]


@pytest.mark.parametrize("package", [p for p in PACKAGES if p.startswith("tap-")])
def test_singer_sdk_at_the_tested_range_not_a_pin(package):
    sdk = requirements(package)["singer-sdk"]
    assert pinned("singer-sdk") in sdk.specifier
    assert not any(spec.operator == "==" for spec in sdk.specifier)
    assert Version("0.55.0") not in sdk.specifier  # the overrides are tested against 0.54 only


@pytest.mark.parametrize("package", [f"tap-analytics-{x}" for x in "abcde"])
def test_taps_require_common_at_a_compatible_range_of_the_suite_version(package):
    (spec,) = requirements(package)["tap-analytics-common"].specifier
    assert spec.operator == "~="
    assert spec.contains(VERSION)
    assert not spec.contains(Version(f"{VERSION.major}.{VERSION.minor + 1}.0"))
