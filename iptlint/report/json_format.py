"""The `json` format: a list of finding objects, the stable interface for programs.

The shape is documented in `docs/json-format.md` and checked against
`docs/json-format.schema.json`.  It is version 1 of the format: fields are never removed,
renamed or retyped; a different shape would be a new format name (`json-v2`), not an edit.
Keys keep the documented order; the output is indented by two spaces, UTF-8, not ASCII-escaped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from iptlint.findings import Finding, Related, Span

if TYPE_CHECKING:
    from iptlint.report import ReportContext

FORMAT_VERSION = 1
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def render(findings: Sequence[Finding], ctx: ReportContext) -> str:
    """The findings as a JSON array (`[]` for none), ending in a newline."""
    return dump_json([finding_object(finding, ctx) for finding in findings])


def dump_json(data: Any) -> str:
    """Indented JSON that can always be written as UTF-8, ending in a newline.

    Text keeps its non-ASCII characters, but a lone surrogate (a byte that was not UTF-8 in
    a file name, kept by Python's surrogateescape) is written as a `\\udcff` escape.
    """
    return escape_lone_surrogates(json.dumps(data, indent=2, ensure_ascii=False)) + "\n"


def escape_lone_surrogates(text: str) -> str:
    """`text` with each lone surrogate written as a `\\udcff` escape, so it encodes as UTF-8."""
    return LONE_SURROGATE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def finding_object(finding: Finding, ctx: ReportContext) -> dict[str, Any]:
    """One finding with exactly the documented keys, in the documented order."""
    return {
        "code": finding.code,
        "name": ctx.rule_name(finding.code),
        "severity": str(finding.severity),
        "message": finding.message,
        "path": finding.path,
        **span_fields(finding.span),
        "table": finding.table,
        "chain": finding.chain,
        "rule_index": finding.rule_index,
        "related": [related_object(related, finding.path) for related in finding.related],
        "fix": None
        if finding.fix is None
        else {"description": finding.fix.description, "replacement": finding.fix.replacement},
    }


def related_object(related: Related, finding_path: str) -> dict[str, Any]:
    """A related location; its path is always given, the finding's own when the location has none."""
    return {
        "message": related.message,
        "path": related.path if related.path is not None else finding_path,
        **span_fields(related.span),
    }


def span_fields(span: Span) -> dict[str, int]:
    """`line`, `column`, `end_line`, `end_column`: 1-based, end column exclusive."""
    return {"line": span.line, "column": span.column, "end_line": span.end_line, "end_column": span.end_column}
