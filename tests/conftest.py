"""Shared fixtures: the shared corpus, the real iptables, throwaway network namespaces.

* `requires_root_tools()` skips a test that needs root, `ip` and the four
  `ip(6)tables-(nft|legacy)-restore` binaries, with the reason, and FAILS instead when
  the environment says `CI=true`: in CI a missing tool is a broken runner, not a reason
  to go green.  The `root_tools` fixture does the same for a whole test.
* `netns` gives a test a network namespace of its own and always deletes it.
* Tests report numbers (agreement rates) with `report_summary(line)`; they are printed
  at the end of the run, in the terminal summary, so CI logs show them without `-s`.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import kernel
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = SHARED / "corpus"

_summary: list[str] = []


def in_ci() -> bool:
    """True when the environment declares a CI run (`CI=true`)."""
    return os.environ.get("CI", "").lower() == "true"


def requires_root_tools() -> None:
    """Skip the calling test when the real iptables cannot run here; fail instead under CI=true."""
    reason = kernel.missing_tools()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true but the real iptables cannot run: {reason}", pytrace=False)
    pytest.skip(f"real iptables unavailable: {reason}")


def requires_corpus() -> None:
    """Skip the calling test when the shared corpus is absent; fail instead under CI=true."""
    if (CORPUS / "manifest.jsonl").is_file():
        return
    if in_ci():
        pytest.fail(f"CI=true but the shared corpus is missing at {CORPUS}", pytrace=False)
    pytest.skip(f"shared corpus not found at {CORPUS}")


def report_summary(line: str) -> None:
    """Add a line to the terminal summary printed at the end of the run."""
    _summary.append(line)


@pytest.fixture
def root_tools() -> None:
    """Use in a test that runs the real iptables (skips or fails, see requires_root_tools)."""
    requires_root_tools()


@pytest.fixture
def netns(root_tools) -> kernel.Namespace:
    """A fresh network namespace, deleted after the test whatever happens."""
    with kernel.Namespace() as namespace:
        yield namespace


def pytest_configure(config) -> None:
    """The tests keep iptlint's cache (iptlint.cache) in a directory of their own, so that
    the shapes of a thousand corpus files do not land in the user's cache."""
    if "IPTLINT_CACHE_DIR" not in os.environ:
        directory = tempfile.mkdtemp(prefix="iptlint-test-cache-")
        os.environ["IPTLINT_CACHE_DIR"] = directory
        config.add_cleanup(lambda: shutil.rmtree(directory, ignore_errors=True))


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if not _summary:
        return
    terminalreporter.section("iptlint agreement with the real iptables")
    for line in _summary:
        terminalreporter.write_line(line)
