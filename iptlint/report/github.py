"""The `github` format: GitHub Actions workflow commands that annotate the pull request.

    ::error file=rules.v4,line=12,col=1,endLine=12,endColumn=44,title=S205::this rule never matches

`error`, `warning` and `notice` follow the severity.  Related locations and the fix go
into the message on lines of their own (`note: rules.v4:5:1: shadowed by this rule`,
`help: ...`), which the annotation shows.  GitHub wants paths relative to the
repository: an absolute path under `ctx.root` (the CLI's working directory) is made so.  `col` and `endColumn` are left out when the
span covers more than one line, as GitHub requires; `endColumn` is, as everywhere in
iptlint, one past the last column.

Escaping follows `@actions/core` (`toolkit/packages/core/src/command.ts`): in the message
`%`, `\\r` and `\\n` become `%25`, `%0D`, `%0A`; in property values `:` and `,` also become
`%3A` and `%2C`.  Bytes that were not UTF-8 in a path print as `\\udcff` escapes.  No
findings print nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from iptlint.findings import Finding, Severity
from iptlint.report.json_format import escape_lone_surrogates
from iptlint.report.sarif import relative_to_root
from iptlint.report.text import fix_text, related_location

if TYPE_CHECKING:
    from iptlint.report import ReportContext

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(findings: Sequence[Finding], ctx: ReportContext) -> str:
    """One workflow command line per finding."""
    return escape_lone_surrogates("".join(command(finding, ctx.root) + "\n" for finding in findings))


def command(finding: Finding, root: str | None = None) -> str:
    """`::error file=...,line=...::message` for one finding; a path under `root` made relative to it."""
    properties = ",".join(f"{key}={escape_property(str(value))}" for key, value in annotation_properties(finding, root))
    return f"::{COMMANDS[finding.severity]} {properties}::{escape_data(annotation_message(finding))}"


def annotation_properties(finding: Finding, root: str | None = None) -> list[tuple[str, str | int]]:
    """file, line, col, endLine, endColumn and title; no columns for a span over several lines."""
    span = finding.span
    path = relative_to_root(finding.path, root)
    properties: list[tuple[str, str | int]] = [("file", path), ("line", span.line)]
    if span.end_line == span.line:
        properties.append(("col", span.column))
    properties.append(("endLine", span.end_line))
    if span.end_line == span.line:
        properties.append(("endColumn", span.end_column))
    properties.append(("title", finding.code))
    return properties


def annotation_message(finding: Finding) -> str:
    """The message, then a `note:` line per related location and a `help:` line for the fix."""
    lines = [finding.message]
    lines.extend(f"note: {related_location(finding, index)}" for index in range(len(finding.related)))
    if finding.fix is not None:
        lines.append(f"help: {fix_text(finding)}")
    return "\n".join(lines)


def escape_data(text: str) -> str:
    """A workflow command's message: `%`, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, and `:` and `,` too."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
