"""Renderers of `iptlint diff` (`iptlint.semantics.diff.Difference`): one function per format.

- `text`: for a terminal, one line per change.
- `markdown`: a pull-request comment (`gh pr comment --body-file`), deterministic.
- `json`: everything, for programs (schema below).
- `sarif`, `github`: the changes become findings on the NEW file and go through the
  check renderers: `X020` (warning) a change that lets packets through that were not
  (`opened`, including a port newly exposed), `X021` (note) any other change (closed,
  dropped, delivered elsewhere).  Findings new in NEW are reported with their own codes.

Every renderer is pure: a `Difference` in, text ending in a newline out.

JSON: `{"old", "new", "family", "exhaustive", "method", "walks", "opened", "changed",
"changes": [{"path", "packets", "opened", "exact", "example": {field: value}, "old": OUTCOME,
"new": OUTCOME}], "exposure": [{"kind", "port", "old_status", "new_status",
"old_sources", "new_sources"}], "new_findings": [FINDING], "fixed_findings": [FINDING]}`
with OUTCOME `{"verdict", "arrived_at", "destination", "decided_by"}` (`decided_by`: a
`file:line`, or the policy that decided) and FINDING `{"code", "message", "line"}`.
`method` is `cells` or `chains` (`iptlint.semantics.diff_chains`); a change with `exact`
false stands for every packet that reaches a changed chain, its outcomes the example's.
A random choice (`-m statistic --mode random`) is an OUTCOME with `verdict` the common
verdict (or `RANDOM` when they differ) and `destination` each choice with its share.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from iptlint.findings import Finding, Severity, Span
from iptlint.semantics.diff import PATH_TITLES, Change, Difference, ExposureChange

OPENED_CODE, CHANGED_CODE = "X020", "X021"
REGION_NOTE = (
    "every packet that reaches the changed chains; the outcomes are the example's, other packets of the set may fare"
    " otherwise"
)
FORMATS = ("text", "json", "sarif", "github", "markdown")


def render(format_name: str, difference: Difference, version: str = "", root: str | None = None) -> str:
    """The difference in `format_name` (one of `FORMATS`)."""
    if format_name == "text":
        return render_text(difference)
    if format_name == "markdown":
        return render_markdown(difference)
    if format_name == "json":
        return render_json(difference)
    if format_name in ("sarif", "github"):
        from iptlint.report import ReportContext
        from iptlint.report import render as render_findings
        from iptlint.rules import all_rules

        context = ReportContext(
            rules={info.code: info for info in all_rules()},
            version=version,
            files=(difference.new_path,),
            root=root,
        )
        return render_findings(format_name, as_findings(difference), context) or ""
    raise ValueError(f"unknown diff format {format_name!r} (known: {', '.join(FORMATS)})")


# ---------------------------------------------------------------------------------------
# Words
# ---------------------------------------------------------------------------------------


def verdict_summary(difference: Difference) -> str:
    """One sentence: what kind of difference this is."""
    if difference.opened:
        head = "The new ruleset lets through packets the old one did not."
    elif difference.behaviour_changed:
        head = "The new ruleset treats some packets differently."
    else:
        head = "No change in behaviour."
    if not difference.exhaustive:
        head += f" (Sampled {difference.walks} walks: not exhaustive.)"
    return head


def packet_text(packet: Mapping[str, Any]) -> str:
    """`in eth0 src 198.51.100.7 dst 203.0.113.10 tcp dport 5432 NEW` (as `iptlint trace` words)."""
    from iptlint.syntax.values import PROTOCOL_NAMES

    words = []
    for name, label in (("in_iface", "in"), ("out_iface", "out"), ("src", "src"), ("dst", "dst")):
        if packet.get(name) not in (None, ""):
            words.append(f"{label} {packet[name]}")
    if "proto" in packet:
        words.append(_protocol_name(packet["proto"], PROTOCOL_NAMES))
    for name in ("sport", "dport"):
        if name in packet:
            words.append(f"{name} {packet[name]}")
    if "ct_state" in packet:
        words.append(str(packet["ct_state"]))
    if packet.get("mark"):
        words.append(f"mark {packet['mark']:#x}")
    return " ".join(words)


def _protocol_name(number: int, names: Mapping) -> str:
    return names.get(number) or f"proto {number}"


def trace_command(change: Change, path: str, local_addresses: tuple[str, ...] = ()) -> str:
    """The `iptlint trace` command that shows the example on one side."""
    packet = change.example_packet
    words = [f"iptlint trace {path}"]
    for name, option in (("in_iface", "--in"), ("out_iface", "--out"), ("src", "--src"), ("dst", "--dst")):
        if packet.get(name) not in (None, ""):
            words.append(f"{option} {packet[name]}")
    for name, option in (("proto", "--proto"), ("sport", "--sport"), ("dport", "--dport"), ("ct_state", "--state")):
        if name in packet:
            words.append(f"{option} {packet[name]}")
    if "dst_local" in packet:
        words.append(f"--dst-local {'yes' if packet['dst_local'] else 'no'}")
    words += [f"--local-address {address}" for address in local_addresses]
    return " ".join(words)


def exposure_line(change: ExposureChange) -> str:
    return f"{change.kind}: {change.text()}"


# ---------------------------------------------------------------------------------------
# text
# ---------------------------------------------------------------------------------------


def render_text(difference: Difference) -> str:
    lines = [f"{difference.old_path} -> {difference.new_path}: {verdict_summary(difference)}"]
    for change in difference.exposure_changes:
        lines.append(f"  published port {exposure_line(change)}")
    for change in difference.changes:
        mark = "+" if change.opened else "~"
        lines.append(f"{mark} {PATH_TITLES[change.path]}: {change.text()}")
        lines.append(f"    e.g. {packet_text(change.example_packet)}")
        if not change.exact:
            lines.append(f"    ({REGION_NOTE})")
    for finding in difference.new_findings:
        lines.append(f"new finding {finding.path}:{finding.span.line}: {finding.code} {finding.message}")
    for finding in difference.fixed_findings:
        lines.append(f"fixed finding {finding.path}:{finding.span.line}: {finding.code} {finding.message}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# markdown
# ---------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(difference: Difference) -> str:
    out = [f"### iptlint diff: `{difference.old_path}` → `{difference.new_path}`", ""]
    out += [f"**{verdict_summary(difference)}**", ""]
    if difference.exposure_changes:
        out += ["#### Published Docker ports", ""]
        out += [f"- {_cell(exposure_line(change))}" for change in difference.exposure_changes]
        out.append("")
    if difference.changes:
        out += ["#### Packets treated differently", ""]
        out += ["| | Path | Packets | Was | Now | Example |", "|---|---|---|---|---|---|"]
        for change in difference.changes:
            mark = "opened" if change.opened else "changed"
            out.append(
                f"| {mark} | {PATH_TITLES[change.path]} | {_cell(change.description)} | {_cell(change.old.text())} "
                f"| {_cell(change.new.text())} | `{_cell(packet_text(change.example_packet))}` |"
            )
        out.append("")
        first = difference.changes[0]
        out += [
            "<details><summary>Follow the first example on each side</summary>",
            "",
            "```sh",
            trace_command(first, difference.old_path, difference.local_addresses),
            trace_command(first, difference.new_path, difference.local_addresses),
            "```",
            "",
            "</details>",
            "",
        ]
    if difference.new_findings or difference.fixed_findings:
        out += ["#### Findings", ""]
        for finding in difference.new_findings:
            out.append(f"- new `{finding.code}` line {finding.span.line}: {_cell(finding.message)}")
        for finding in difference.fixed_findings:
            out.append(f"- fixed `{finding.code}` (was line {finding.span.line}): {_cell(finding.message)}")
        out.append("")
    if difference.method == "chains":
        scope = "compared chain by chain, every packet that reaches a changed chain walked or shown"
        scope += "" if difference.exhaustive else " (some regions sampled)"
    else:
        scope = "exhaustive over the cells the rules name" if difference.exhaustive else "a seeded sample"
    out.append(f"<sub>iptlint diff: {difference.walks} probe walks, {scope}.</sub>")
    if any(not change.exact for change in difference.changes):
        out.append(f"<sub>Rows whose packets reach a changed chain: {REGION_NOTE}.</sub>")
    return "\n".join(out).rstrip("\n") + "\n"


# ---------------------------------------------------------------------------------------
# json
# ---------------------------------------------------------------------------------------


def _outcome(outcome) -> dict[str, Any]:
    return {
        "verdict": outcome.verdict,
        "arrived_at": outcome.arrived_at,
        "destination": outcome.destination or None,
        "decided_by": outcome.decider,
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {"code": finding.code, "message": finding.message, "line": finding.span.line}


def to_json(difference: Difference) -> dict[str, Any]:
    return {
        "old": difference.old_path,
        "new": difference.new_path,
        "family": str(difference.family),
        "exhaustive": difference.exhaustive,
        "method": difference.method,
        "walks": difference.walks,
        "opened": difference.opened,
        "changed": difference.behaviour_changed,
        "changes": [
            {
                "path": change.path,
                "packets": change.description,
                "opened": change.opened,
                "exact": change.exact,
                "example": {k: v for k, v in change.example},
                "old": _outcome(change.old),
                "new": _outcome(change.new),
            }
            for change in difference.changes
        ],
        "exposure": [
            {
                "kind": change.kind,
                "port": change.port,
                "old_status": change.old_status,
                "new_status": change.new_status,
                "old_sources": list(change.old_sources),
                "new_sources": list(change.new_sources),
            }
            for change in difference.exposure_changes
        ],
        "new_findings": [_finding(f) for f in difference.new_findings],
        "fixed_findings": [_finding(f) for f in difference.fixed_findings],
    }


def render_json(difference: Difference) -> str:
    return json.dumps(to_json(difference), indent=1, default=str) + "\n"


# ---------------------------------------------------------------------------------------
# sarif, github: changes as findings
# ---------------------------------------------------------------------------------------


def as_findings(difference: Difference) -> list[Finding]:
    """Each change as a finding on the new file (X020 opened, X021 other), then the new findings."""
    findings = []
    for change in difference.exposure_changes:
        code = OPENED_CODE if change.kind == "opened" else CHANGED_CODE
        severity = Severity.WARNING if code == OPENED_CODE else Severity.INFO
        span = Span(change.line, 1, change.line, 2) if change.line else _LINE1
        path = difference.new_path if change.kind != "closed" else difference.old_path
        findings.append(Finding(code, f"published port {exposure_line(change)}", path, span, severity))
    for change in difference.changes:
        code = OPENED_CODE if change.opened else CHANGED_CODE
        severity = Severity.WARNING if change.opened else Severity.INFO
        rule = change.new.rule  # None: a policy decided; the finding points at the file's first line
        line = rule.line if rule is not None else 1
        message = f"{PATH_TITLES[change.path]}: {change.text()}; e.g. {packet_text(change.example_packet)}"
        findings.append(
            Finding(
                code,
                message,
                difference.new_path,
                Span(line, 1, line, 2),
                severity,
                table=rule.table if rule else None,
                chain=rule.chain if rule else None,
            )
        )
    findings.extend(difference.new_findings)
    return findings


_LINE1 = Span(1, 1, 1, 2)
