"""The `sarif` format: SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

One run whose `tool.driver` is iptlint (name, version, informationUri) with `rules`
metadata for every code that appears in the results, sorted by code: id, name,
shortDescription (the doc's first line), fullDescription (its `## What it does`),
help (the whole doc, as text and Markdown) and defaultConfiguration (level, enabled).

Each result has ruleId, ruleIndex, level (`error`, `warning`, `note` for info), message,
one location, its related locations (ids from 0, with their messages) and, when the fix
has replacement text, a SARIF fix replacing the finding's region; a fix without
replacement text is added to the message as `help: ...`.  When the span is on one line
and the source line is known, the region carries the spanned text and a context region
the whole line as snippets.  Table, chain and rule number (`ruleNumber`) go in the
result's `properties`.

Paths become URI references: percent-encoded (`my rules/100%.v4` -> `my%20rules/100%25.v4`),
relative ones against `%SRCROOT%` when `ctx.root` is given (absolute paths under it are
made relative), other absolute ones `file:///` URIs; a byte of a file name that was not
UTF-8 is percent-encoded as itself (`%FF`).  Columns count Unicode code points
(`columnKind`), end columns are exclusive, as SARIF's.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from iptlint.findings import Finding, Severity, Span
from iptlint.report.json_format import dump_json
from iptlint.report.text import finding_text
from iptlint.rules import RuleInfo

if TYPE_CHECKING:
    from iptlint.report import ReportContext

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
SRCROOT = "%SRCROOT%"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render(findings: Sequence[Finding], ctx: ReportContext) -> str:
    """A complete SARIF log (one run, maybe no results), ending in a newline."""
    return dump_json(sarif_log(findings, ctx))


def sarif_log(findings: Sequence[Finding], ctx: ReportContext) -> dict[str, Any]:
    """The SARIF log as plain data."""
    codes = sorted({finding.code for finding in findings})
    rule_indexes = {code: index for index, code in enumerate(codes)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "iptlint",
                "version": ctx.version,
                "informationUri": ctx.information_uri,
                "rules": [rule_descriptor(code, ctx.rule_info(code)) for code in codes],
            }
        },
    }
    if ctx.root is not None:
        run["originalUriBaseIds"] = {SRCROOT: {"uri": directory_uri(ctx.root)}}
    if ctx.files:
        run["artifacts"] = [{"location": artifact_location(path, ctx)} for path in ctx.files]
    run["results"] = [result(finding, rule_indexes[finding.code], ctx) for finding in findings]
    run["columnKind"] = "unicodeCodePoints"
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def rule_descriptor(code: str, info: RuleInfo | None) -> dict[str, Any]:
    """A `reportingDescriptor` from the rule catalogue; only the id for a code it does not know."""
    if info is None:
        return {"id": code}
    doc = info.doc.strip()
    descriptor: dict[str, Any] = {
        "id": code,
        "name": info.name,
        "shortDescription": {"text": info.summary},
        "fullDescription": {"text": doc_section(doc, "What it does") or info.summary},
        "defaultConfiguration": {"level": LEVELS[info.severity], "enabled": info.default},
    }
    if doc:
        descriptor["help"] = {"text": doc, "markdown": doc}
    return descriptor


def doc_section(doc: str, heading: str) -> str:
    """The text under `## heading` in a rule doc, up to the next heading; empty when missing."""
    collected: list[str] = []
    inside = False
    for line in doc.splitlines():
        if line.startswith("## "):
            if inside:
                break
            inside = line[3:].strip().lower() == heading.lower()
            continue
        if inside:
            collected.append(line)
    return "\n".join(collected).strip()


def result(finding: Finding, rule_index: int, ctx: ReportContext) -> dict[str, Any]:
    """A SARIF `result` for one finding."""
    location = artifact_location(finding.path, ctx)
    found: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        "message": {"text": result_message(finding)},
        "locations": [{"physicalLocation": physical_location(finding, location)}],
    }
    if finding.related:
        found["relatedLocations"] = related_locations(finding, ctx)
    if finding.fix is not None and finding.fix.replacement is not None:
        found["fixes"] = [sarif_fix(finding.fix.description, finding.fix.replacement, location, finding.span)]
    properties = result_properties(finding)
    if properties:
        found["properties"] = properties
    return found


def related_locations(finding: Finding, ctx: ReportContext) -> list[dict[str, Any]]:
    """The finding's related locations, with ids 0, 1, ... in order and their messages."""
    return [
        {
            "id": index,
            "physicalLocation": {
                "artifactLocation": artifact_location(related.path or finding.path, ctx),
                "region": region(related.span),
            },
            "message": {"text": related.message},
        }
        for index, related in enumerate(finding.related)
    ]


def sarif_fix(description: str, replacement: str, location: dict[str, str], span: Span) -> dict[str, Any]:
    """A SARIF `fix`: replace the text of `span` in the file at `location` by `replacement`."""
    change = {
        "artifactLocation": location,
        "replacements": [{"deletedRegion": region(span), "insertedContent": {"text": replacement}}],
    }
    return {"description": {"text": description}, "artifactChanges": [change]}


def result_properties(finding: Finding) -> dict[str, str | int]:
    """Where in the ruleset the finding is: table, chain and the rule's number in its chain, as known."""
    known = (("table", finding.table), ("chain", finding.chain), ("ruleNumber", finding.rule_index))
    return {key: value for key, value in known if value is not None}


def physical_location(finding: Finding, location: dict[str, str]) -> dict[str, Any]:
    """The finding's file and region; with the source line known, the spanned text and its whole line."""
    physical: dict[str, Any] = {"artifactLocation": location, "region": region(finding.span)}
    if finding.source_line is not None and finding.span.end_line == finding.span.line:
        physical["region"]["snippet"] = {"text": finding_text(finding)}
        physical["contextRegion"] = {"startLine": finding.span.line, "snippet": {"text": finding.source_line}}
    return physical


def result_message(finding: Finding) -> str:
    """The finding's message, and the fix in words when SARIF cannot carry it as a fix."""
    if finding.fix is not None and finding.fix.replacement is None:
        return f"{finding.message}\nhelp: {finding.fix.description}"
    return finding.message


def region(span: Span) -> dict[str, int]:
    """A SARIF region: 1-based lines and columns, end column exclusive, as iptlint's spans."""
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": span.end_column,
    }


def artifact_location(path: str, ctx: ReportContext) -> dict[str, str]:
    """Where a file is, as a URI reference, relative to `%SRCROOT%` when the context has a root."""
    path = relative_to_root(path, ctx.root)
    if posixpath.isabs(path):
        return {"uri": PurePosixPath(path).as_uri()}
    relative = uri_path(posixpath.normpath(path))
    return {"uri": relative, "uriBaseId": SRCROOT} if ctx.root is not None else {"uri": relative}


def uri_path(path: str) -> str:
    """A relative path percent-encoded as a URI reference; bytes that were not UTF-8 keep their value (`%FF`)."""
    return quote(path, errors="surrogateescape")


def relative_to_root(path: str, root: str | None) -> str:
    """An absolute `path` inside the absolute directory `root` made relative to it; other paths as they are."""
    if root is not None and posixpath.isabs(path) and is_within(path, root):
        return posixpath.relpath(path, root)
    return path


def is_within(path: str, directory: str) -> bool:
    """Whether absolute `path` lies inside absolute `directory`."""
    return posixpath.commonpath([posixpath.normpath(path), posixpath.normpath(directory)]) == posixpath.normpath(
        directory
    )


def directory_uri(directory: str) -> str:
    """A `file:` URI for a directory, with the trailing slash SARIF base URIs need."""
    uri = PurePosixPath(directory).as_uri()
    return uri if uri.endswith("/") else uri + "/"
