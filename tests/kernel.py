"""Run the real iptables-restore on a text, in a throwaway network namespace.

The differential tests compare iptlint with what iptables 1.8.9 says about the same
dump.  This module is that oracle: `Namespace` creates a network namespace and always
deletes it, `restore()` feeds a text to `iptables-(nft|legacy)-restore` (or the
ip6tables ones) inside it, with or without `--test`, and returns a `Verdict`: whether
iptables accepted the text, and the line it blamed when it did not.

Each call is one short subprocess (a few milliseconds), so thousands of cases share
one namespace per backend.  A real load (no `--test`) lets the kernel check the rules
too; `--test` stops after iptables' own parsing and extension checks.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass

from iptlint.syntax.ast import Family

BACKENDS = ("nft", "legacy")
RESTORE_TIMEOUT = 30  # seconds; iptables-restore of the largest corpus file takes ~50 ms

_TOOLS = {
    ("nft", Family.IPV4): "iptables-nft-restore",
    ("nft", Family.IPV6): "ip6tables-nft-restore",
    ("legacy", Family.IPV4): "iptables-legacy-restore",
    ("legacy", Family.IPV6): "ip6tables-legacy-restore",
}

# How iptables-restore 1.8.9 names the line of an error, most specific first:
#   "... | Error occurred at line: 12"        a rule line rejected while parsing
#   "iptables-restore: line 4 failed"          legacy: the kernel refused a table at COMMIT
#   "iptables-nft-restore: COMMIT expected at line 8"
#   "Can't set policy `X' on `foo' line 4: Bad built-in chain name"
_LINE_PATTERNS = (
    re.compile(r"Error occurred at line: (\d+)"),
    re.compile(r"\bline (\d+) failed"),
    re.compile(r"\bat line:? (\d+)"),
    re.compile(r"\bline (\d+)\b"),
)


# Failures that say nothing about the text: netlink busy with another process's batch.
_TRANSIENT = re.compile(
    r"Resource temporarily unavailable|generation id|Another app is currently holding the xtables lock"
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What iptables-restore said about a text."""

    ok: bool
    line: int | None = None  # the line iptables blamed, when it rejected the text
    message: str = ""  # its error output, on one line

    def describe(self) -> str:
        if self.ok:
            return "accepted"
        where = f"line {self.line}" if self.line is not None else "no line"
        return f"rejected at {where}: {self.message}"


def restore_tool(backend: str, family: Family) -> str:
    """The restore binary for a backend ('nft' or 'legacy') and an address family."""
    return _TOOLS[(backend, family)]


def missing_tools() -> str | None:
    """Why the real iptables cannot be run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces and iptables-restore)"
    if shutil.which("ip") is None:
        return "needs the `ip` tool (iproute2) to create network namespaces"
    missing = [tool for tool in _TOOLS.values() if shutil.which(tool) is None]
    if missing:
        return "needs " + ", ".join(sorted(missing))
    return None


def error_line(message: str) -> int | None:
    """The line number in an iptables-restore error message, if it names one."""
    for pattern in _LINE_PATTERNS:
        found = pattern.search(message)
        if found:
            return int(found.group(1))
    return None


def verdict_of(returncode: int, stderr: str) -> Verdict:
    """A Verdict from the exit status and error output of iptables-restore."""
    message = " | ".join(line.strip() for line in stderr.splitlines() if line.strip())
    if returncode == 0:
        return Verdict(True, None, message)
    return Verdict(False, error_line(message), message)


_counter = itertools.count()


class Namespace:
    """A network namespace that exists only inside a `with` block.

    >>> with Namespace() as ns:
    ...     ns.restore("*filter\\nCOMMIT\\n", "nft", Family.IPV4).ok
    True
    """

    def __init__(self, prefix: str = "iptlint-test") -> None:
        self.name = f"{prefix}-{os.getpid()}-{next(_counter)}"
        self.created = False

    def __enter__(self) -> Namespace:
        subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True)
        self.created = True
        return self

    def __exit__(self, *exc_info) -> None:
        self.delete()

    def delete(self) -> None:
        if self.created:
            subprocess.run(["ip", "netns", "delete", self.name], check=False, capture_output=True)
            self.created = False

    def run(self, argv: list[str], stdin: str = "") -> subprocess.CompletedProcess:
        """Run a command inside the namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv],
            input=stdin.encode("utf-8", "surrogateescape"),
            capture_output=True,
            timeout=RESTORE_TIMEOUT,
            check=False,
        )

    def restore(self, text: str, backend: str, family: Family, *, test: bool = False) -> Verdict:
        """Feed `text` to iptables-restore; `test=True` adds --test (nothing is loaded)."""
        argv = [restore_tool(backend, family)]
        if test:
            argv.append("--test")
        for _attempt in range(3):
            done = self.run(argv, text)
            verdict = verdict_of(done.returncode, done.stderr.decode("utf-8", "replace"))
            if verdict.ok or not _TRANSIENT.search(verdict.message):
                break
        return verdict


def restore_in_fresh_namespace(text: str, backend: str, family: Family, *, test: bool = False) -> Verdict:
    """One restore in a namespace of its own (slower: for single checks, not for corpora)."""
    with Namespace() as namespace:
        return namespace.restore(text, backend, family, test=test)


# ---------------------------------------------------------------------------------------
# Whether two line numbers name the same place
# ---------------------------------------------------------------------------------------


def physical_lines(text: str) -> list[str]:
    """The lines iptables-restore counts (a final newline does not start another line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def table_bounds(lines: list[str], commit_line: int) -> tuple[int, int] | None:
    """(header line, COMMIT line) of the table closed on `commit_line`, if that line is a COMMIT."""
    if not 0 < commit_line <= len(lines) or not lines[commit_line - 1].startswith("COMMIT"):
        return None
    for number in range(commit_line - 1, 0, -1):
        if lines[number - 1].startswith("*"):
            return number, commit_line
    return None


def same_place(text: str, iptlint_line: int, iptables_line: int | None) -> bool:
    """Whether iptlint's first error and the line iptables blamed name the same place.

    Besides equal numbers, two spellings of one place: iptables names the line after
    the last one for a COMMIT missing at the end of the file (iptlint: the last line),
    and it blames a table's COMMIT line for what it checks only when the table is
    committed (iptlint: the rule inside that table).
    """
    if iptables_line is None or iptlint_line == iptables_line:
        return iptables_line is not None
    lines = physical_lines(text)
    if iptables_line > len(lines):  # "COMMIT expected at line N+1": the end of the file
        return iptlint_line == len(lines)
    bounds = table_bounds(lines, iptables_line)
    return bounds is not None and bounds[0] <= iptlint_line <= bounds[1]
