"""The `concise` format: one line per finding, for grep, editors and `errorformat`.

    rules.v4:12:1: S205 this rule never matches: an earlier rule takes all its packets

Related locations and fixes are left out (see `text`).  Paths and messages never break
the line: control characters print as their Unicode pictures.  The summary line of
`text` follows unless `ctx.show_summary` is off; no findings print nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from iptlint.findings import Finding
from iptlint.report.text import header, summary_line

if TYPE_CHECKING:
    from iptlint.report import ReportContext


def render(findings: Sequence[Finding], ctx: ReportContext) -> str:
    """`path:line:col: CODE message` for each finding, then the summary."""
    if not findings:
        return ""
    lines = [header(finding, ctx.color) for finding in findings]
    if ctx.show_summary:
        lines.append(summary_line(findings, ctx.color))
    return "".join(line + "\n" for line in lines)
