"""Baselines: adopt iptlint on an old ruleset and fail only on new problems.

`iptlint check --write-baseline FILE` records every current finding; `--baseline FILE`
then ignores the findings recorded there.  A finding is matched by what it is about, not
by its line number: its code, table, chain and the text of the line it points at (with
blanks collapsed and counters such as `[12:3456]` removed), so inserting rules above it or
a change of counters does not revive it.  Each recorded finding silences one finding:
a second identical problem is new.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from iptlint.findings import Finding

VERSION = 1
_COUNTERS = re.compile(r"\[\d+:\d+\]")


class BaselineError(Exception):
    pass


def fingerprint(finding: Finding) -> str:
    line = _COUNTERS.sub("", finding.source_line or "")
    content = " ".join(line.split())
    key = "|".join((finding.code, finding.table or "", finding.chain or "", content or finding.message))
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:20]


def _key(finding: Finding) -> tuple[str, str]:
    return (Path(finding.path).as_posix(), fingerprint(finding))


def write(findings: Iterable[Finding], path: Path) -> int:
    entries = sorted(
        (
            {"path": Path(f.path).as_posix(), "code": f.code, "fingerprint": fingerprint(f), "message": f.message}
            for f in findings
        ),
        key=lambda e: (e["path"], e["code"], e["fingerprint"]),
    )
    try:
        path.write_text(json.dumps({"version": VERSION, "findings": entries}, indent=1) + "\n")
    except OSError as error:
        raise BaselineError(f"{path}: cannot write: {error.strerror}") from None
    return len(entries)


def load(path: Path) -> Counter:
    try:
        data = json.loads(path.read_text())
    except OSError as error:
        raise BaselineError(f"{path}: cannot read: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise BaselineError(f"{path}:{error.lineno}:{error.colno}: not a baseline: {error.msg}") from None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path}: not an iptlint baseline (version {VERSION})")
    try:
        return Counter((entry["path"], entry["fingerprint"]) for entry in data["findings"])
    except (KeyError, TypeError):
        raise BaselineError(f"{path}: an entry lacks 'path' or 'fingerprint'") from None


def without_baseline(findings: Iterable[Finding], recorded: Counter) -> list[Finding]:
    """The findings that the baseline does not account for."""
    left = Counter(recorded)
    kept = []
    for finding in findings:
        key = _key(finding)
        if left[key] > 0:
            left[key] -= 1
        else:
            kept.append(finding)
    return kept
