"""The `--statistics` table: how many findings of each code, most frequent first.

    12  S110  unknown-extension
     3  S102  syntax-error

Ties are broken by code.  A code the catalogue does not know has no name.  No findings
print nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from iptlint.findings import Finding

if TYPE_CHECKING:
    from iptlint.report import ReportContext


def render(findings: Sequence[Finding], ctx: ReportContext) -> str:
    """One aligned row per code: count, code, name."""
    rows = counted_codes(findings)
    if not rows:
        return ""
    count_width = max(len(str(count)) for _, count in rows)
    code_width = max(len(code) for code, _ in rows)
    lines = [
        f"{count:>{count_width}}  {code:<{code_width}}  {ctx.rule_name(code) or ''}".rstrip() for code, count in rows
    ]
    return "".join(line + "\n" for line in lines)


def counted_codes(findings: Sequence[Finding]) -> list[tuple[str, int]]:
    """(code, count) pairs, by falling count, then by code."""
    counts = Counter(finding.code for finding in findings)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))
