"""One version: the Cargo workspace's is the extension's, ``kakashi.__version__``
and the installed distribution's (kakashi-rs, built by maturin from Cargo)."""

import re
from pathlib import Path

import pytest

import kakashi

DISTRIBUTION = "kakashi-rs"
WORKSPACE_MANIFEST = Path(__file__).resolve().parents[3] / "Cargo.toml"


def cargo_version():
    """``version`` of ``[workspace.package]`` in the repository's Cargo.toml."""
    text = WORKSPACE_MANIFEST.read_text(encoding="utf-8")
    section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert section, f"no [workspace.package] in {WORKSPACE_MANIFEST}"
    version = re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
    assert version, f"no version in [workspace.package] of {WORKSPACE_MANIFEST}"
    return version.group(1)


def test_version_is_the_cargo_workspace_version():
    assert kakashi.__version__ == kakashi._kakashi.__version__ == cargo_version()


def test_the_distribution_is_kakashi_rs_with_the_same_version_and_license():
    metadata = pytest.importorskip("importlib.metadata")  # 3.8 and newer
    assert metadata.version(DISTRIBUTION) == kakashi.__version__
    meta = metadata.metadata(DISTRIBUTION)
    assert meta["Name"] == DISTRIBUTION
    assert meta["License-Expression"] == "LGPL-2.1-or-later"
    assert meta.get_all("License-File") == ["LICENSE"]
