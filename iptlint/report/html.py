"""`iptlint report FILE -o report.html`: one self-contained page about a dump.

    page = render(collect(data, "rules.v4", settings))

The page needs nothing but a browser: no network, no script, the CSS inline, the graph
inlined as SVG when Graphviz's `dot` is installed (else its Mermaid text in a `<pre>`,
which GitHub and mermaid.live draw).  Sections, in order:

1. Findings: what `iptlint check` reports, by severity, with file:line and source line.
2. Exposure: the published Docker ports and who really reaches them (`iptlint exposure`).
3. Graph: the hooks, tables and chains as `iptlint graph` draws them.
4. Chains: each chain explained by `iptlint.explain` (what it is for, each rule in plain
   words, its counters and findings), in the order a packet meets them.

`collect` does the work (lint, analyse, draw); `render` is a pure function of what it
collected.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from iptlint.findings import Finding, Severity
from iptlint.syntax.ast import Ruleset

MAX_DRAWN_NODES = 400  # more chains than this make a picture nobody reads (and dot takes minutes)
STATUS_WORDS = {"exposed": "EXPOSED", "possibly": "POSSIBLY", "closed": "closed", "host-only": "host only"}

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0;
       color: #212529; background: #f8f9fa; }
header { background: #212529; color: #f8f9fa; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #ced4da; }
header a { color: #a5d8ff; }
main { padding: 8px 32px 40px; max-width: 1400px; }
section { background: white; border: 1px solid #dee2e6; border-radius: 8px; padding: 8px 20px 16px;
          margin: 18px 0; }
h2 { font-size: 18px; border-bottom: 1px solid #dee2e6; padding-bottom: 6px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #e9ecef; vertical-align: top; }
th { background: #f1f3f5; }
code, pre, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
pre { background: #f1f3f5; padding: 10px; border-radius: 6px; overflow-x: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         color: white; }
.error { background: #c92a2a; } .warning { background: #e67700; } .info { background: #1971c2; }
.exposed { background: #c92a2a; } .possibly { background: #e67700; } .closed { background: #2b8a3e; }
.host-only { background: #495057; }
.summary span { margin-right: 14px; }
.muted { color: #868e96; }
.policy { font-weight: 600; }
.policy-DROP { color: #c92a2a; } .policy-ACCEPT { color: #2b8a3e; }
.graph { overflow: auto; border: 1px solid #dee2e6; border-radius: 6px; background: white; }
.graph svg { display: block; max-width: none; height: auto; }
td.mono:nth-child(2) { white-space: nowrap; }
.finding { color: #c92a2a; font-size: 13px; }
code.rule { color: #495057; }
.counters { color: #495057; white-space: nowrap; text-align: right; width: 9em; }
"""


@dataclass(frozen=True)
class RuleText:
    """One rule for the page: its position, counters, source and (from iptlint.explain) sentence and findings."""

    index: int
    counters: str  # "packets:bytes", or "" when the dump has none
    source: str
    sentence: str | None = None
    findings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChainText:
    """One chain for the page: its table, name, policy, what it is for, and its rules."""

    table: str
    name: str
    policy: str | None
    rules: tuple[RuleText, ...]
    purpose: str = ""
    policy_note: str = ""


@dataclass(frozen=True)
class ReportData:
    path: str
    version: str
    findings: tuple[Finding, ...]
    rule_names: dict[str, str]
    exposure_rows: tuple[dict, ...]
    has_docker: bool
    chains: tuple[ChainText, ...]
    graph_svg: str | None  # inline SVG; None when Graphviz is missing or the graph is too large
    graph_mermaid: str  # empty when the graph is too large
    graph_nodes: int = 0


# ---------------------------------------------------------------------------------------
# Collecting
# ---------------------------------------------------------------------------------------


def collect(data: bytes, path: str, settings) -> ReportData:
    """Lint, analyse and draw the dump `data` (named `path`) for the page."""
    from iptlint import __version__
    from iptlint.analysis import Analysis
    from iptlint.graph import build
    from iptlint.linter import lint
    from iptlint.report import exposure, graph_dot, graph_mermaid
    from iptlint.rules import all_rules

    result = lint(data, path, settings)
    analysis = Analysis(result.ruleset, settings.check_options)
    graph = build(result.ruleset)
    drawable = len(graph.nodes) <= MAX_DRAWN_NODES
    rows = ()
    if analysis.docker is not None:
        exposures = analysis.exposures
        rows = tuple(
            {**row, "reached_from": _reached_from(item)}
            for row, item in zip(exposure.rows(exposures, path), exposures, strict=True)
        )
    return ReportData(
        path=path,
        version=__version__,
        findings=result.findings,
        rule_names={info.code: info.name for info in all_rules()},
        exposure_rows=rows,
        has_docker=analysis.docker is not None,
        chains=chain_texts(result.ruleset, result.findings),
        graph_svg=_svg_or_none(graph_dot.render(graph)) if drawable else None,
        graph_mermaid=graph_mermaid.render(graph) if drawable else "",
        graph_nodes=len(graph.nodes),
    )


def _reached_from(item) -> str:
    """The exposure table's `REACHED FROM` words for one published port."""
    from iptlint.report.exposure import _sources

    return _sources(item)


def _svg_or_none(dot_text: str) -> str | None:
    from iptlint.report.graph_dot import GraphvizMissing, to_svg

    try:
        return inline_svg(to_svg(dot_text))
    except (GraphvizMissing, RuntimeError, OSError):
        return None


def inline_svg(svg: str) -> str:
    """The `<svg>` element of Graphviz's output, without its XML declaration, doctype and comments."""
    start = svg.find("<svg")
    body = svg[start:] if start >= 0 else svg
    return re.sub(r"<!--.*?-->", "", body, flags=re.DOTALL).strip()


def counters_text(counters) -> str:
    return f"{counters.packets}:{counters.bytes}" if counters is not None else ""


def chain_texts(ruleset: Ruleset, findings: Sequence[Finding] = ()) -> tuple[ChainText, ...]:
    """Every chain, explained by `iptlint.explain` in the order a packet meets them; without
    that module, every chain in file order with its rules as written."""
    try:
        from iptlint.explain import explain_ruleset
    except ImportError:
        return plain_chain_texts(ruleset)
    by_rule: dict[tuple[str, str, int], list[str]] = {}
    for finding in findings:
        if finding.table and finding.chain and finding.rule_index:
            by_rule.setdefault((finding.table, finding.chain, finding.rule_index), []).append(
                f"{finding.code} {finding.message}"
            )
    explanation = explain_ruleset(ruleset, ruleset.path, by_rule)
    return tuple(
        ChainText(
            chain.table,
            chain.chain,
            chain.policy,
            tuple(
                RuleText(rule.index, counters_text(rule.counters), rule.source, rule.sentence, rule.findings)
                for rule in chain.rules
            ),
            chain.purpose,
            chain.policy_note,
        )
        for chain in explanation.chains
    )


def plain_chain_texts(ruleset: Ruleset) -> tuple[ChainText, ...]:
    """Every chain of every table in file order, with its rules as written and their counters."""
    return tuple(
        ChainText(
            table.name,
            chain.name,
            chain.policy,
            tuple(
                RuleText(index, counters_text(rule.counters), rule.source_text)
                for index, rule in enumerate(chain.rules, 1)
            ),
        )
        for table in ruleset.tables
        for chain in table.chains
    )


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def summary_line(findings: Sequence[Finding]) -> str:
    counts = {severity: sum(1 for f in findings if f.severity is severity) for severity in Severity}
    parts = [
        f'<span><span class="badge {e(severity)}">{e(severity)}</span> {count}</span>'
        for severity, count in sorted(counts.items(), reverse=True)
    ]
    return f'<p class="summary">{len(findings)} findings: {"".join(parts)}</p>'


def findings_section(data: ReportData) -> str:
    if not data.findings:
        return '<section id="findings"><h2>Findings</h2><p>No findings: nothing to report.</p></section>'
    rows = []
    for finding in data.findings:
        where = f"{finding.path}:{finding.span.line}"
        place = f"{finding.table} {finding.chain}" if finding.table and finding.chain else ""
        source = f"<pre>{e(finding.source_line.strip())}</pre>" if finding.source_line else ""
        fix = f'<p class="muted">fix: {e(finding.fix.description)}</p>' if finding.fix else ""
        rows.append(
            "<tr>"
            f'<td><span class="badge {e(finding.severity)}">{e(finding.severity)}</span></td>'
            f'<td class="mono">{e(finding.code)}<br><span class="muted">{e(data.rule_names.get(finding.code, ""))}'
            "</span></td>"
            f'<td class="mono">{e(where)}<br><span class="muted">{e(place)}</span></td>'
            f"<td>{e(finding.message)}{source}{fix}</td>"
            "</tr>"
        )
    head = "<tr><th>Severity</th><th>Code</th><th>Where</th><th>What</th></tr>"
    return (
        '<section id="findings"><h2>Findings</h2>'
        f"{summary_line(data.findings)}<table>{head}{''.join(rows)}</table></section>"
    )


def exposure_section(data: ReportData) -> str:
    if not data.has_docker:
        body = "<p>No Docker chains: nothing is published.</p>"
    elif not data.exposure_rows:
        body = "<p>Docker publishes no port.</p>"
    else:
        head = (
            "<tr><th>Published</th><th>Container</th><th>Status</th><th>Reached from</th>"
            "<th>Via</th><th>Decided by</th></tr>"
        )
        rows = []
        for row in data.exposure_rows:
            status = row["status"]
            direct = " (+direct)" if row["direct"] and row["direct"]["reachable"] else ""
            rows.append(
                "<tr>"
                f'<td class="mono">{e(row["host_address"])}:{e(row["host_port"])}/{e(row["protocol"])}</td>'
                f'<td class="mono">{e(row["container"])}:{e(row["container_port"])}</td>'
                f'<td><span class="badge {e(status)}">{e(STATUS_WORDS.get(status, status))}</span>{e(direct)}</td>'
                f"<td>{e(row['reached_from'])}</td>"
                f"<td>{e(row['interfaces'] or '-')}</td>"
                f'<td class="mono">{e(row["decided_by"] or "-")}</td>'
                "</tr>"
            )
        body = f"<table>{head}{''.join(rows)}</table>"
    return f'<section id="exposure"><h2>Exposure of published ports</h2>{body}</section>'


def rule_row(rule: RuleText, with_counters: bool) -> str:
    """A rule's row: #, counters, what it does (and its findings), the rule as written."""
    said = f"{e(rule.sentence)}<br>" if rule.sentence else ""
    found = "".join(f'<br><span class="finding">{e(text)}</span>' for text in rule.findings)
    counters = f'<td class="counters mono">{e(rule.counters)}</td>' if with_counters else ""
    return (
        f'<tr><td class="muted">{rule.index}</td>{counters}'
        f'<td>{said}<code class="rule">{e(rule.source)}</code>{found}</td></tr>'
    )


def chain_block(chain: ChainText) -> str:
    policy = (
        f' <span class="policy policy-{e(chain.policy)}">policy {e(chain.policy)}</span>'
        if chain.policy
        else ' <span class="muted">user chain</span>'
    )
    title = (
        f'<h3 id="chain-{e(chain.table)}-{e(chain.name)}"><code>{e(chain.table)} {e(chain.name)}</code>{policy}</h3>'
    )
    about = "".join(f'<p class="muted">{e(text)}</p>' for text in (chain.purpose, chain.policy_note) if text)
    if not chain.rules:
        return f'{title}{about}<p class="muted">no rules</p>'
    with_counters = any(rule.counters for rule in chain.rules)
    head = '<tr><th>#</th><th class="counters">packets:bytes</th><th>Rule</th></tr>' if with_counters else ""
    rows = "".join(rule_row(rule, with_counters) for rule in chain.rules)
    return f"{title}{about}<table>{head}{rows}</table>"


def chains_section(data: ReportData) -> str:
    explained_any = any(rule.sentence for chain in data.chains for rule in chain.rules)
    intro = (
        "Each chain in the order a packet meets it, each rule in plain words above the rule as written."
        if explained_any
        else "Each chain's rules as written, in order (with their packet and byte counters when the dump has them)."
    )
    blocks = "".join(chain_block(chain) for chain in data.chains)
    return f'<section id="chains"><h2>Chains</h2><p class="muted">{intro}</p>{blocks}</section>'


def graph_section(data: ReportData) -> str:
    legend = (
        '<p class="muted">Hooks left to right in the kernel\'s order; a box per table; solid arrows are jumps '
        "(<code>-j</code>), dashed arrows gotos (<code>-g</code>), grey arrows the flow to the next table. "
        "<code>iptlint graph FILE --format svg --in ... --dport ...</code> draws one packet's path.</p>"
    )
    if data.graph_svg is not None:
        body = f'<div class="graph">{data.graph_svg}</div>'
    elif not data.graph_mermaid:
        body = (
            f"<p>{data.graph_nodes} nodes: too many to draw in a page. "
            f"<code>iptlint graph {e(data.path)} --format svg</code> draws them all.</p>"
        )
    else:
        body = (
            '<p class="muted">Graphviz is not installed (apt-get install graphviz): the graph in Mermaid, '
            "for GitHub or mermaid.live.</p>"
            f'<pre class="mermaid-source">{e(data.graph_mermaid)}</pre>'
        )
    return f'<section id="graph"><h2>Graph</h2>{legend}{body}</section>'


def render(data: ReportData) -> str:
    """The whole page, self-contained, ending in a newline."""
    nav = " · ".join(
        f'<a href="#{anchor}">{label}</a>'
        for anchor, label in (
            ("findings", "Findings"),
            ("exposure", "Exposure"),
            ("graph", "Graph"),
            ("chains", "Chains"),
        )
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>iptlint report: {e(data.path)}</title>"
        '<link rel="icon" href="data:,">'
        f"<style>{CSS}</style></head>\n<body>"
        f"<header><h1>iptlint report: <code>{e(data.path)}</code></h1>"
        f"<p>iptlint {e(data.version)} · {len(data.findings)} findings · {nav}</p></header>\n<main>"
        f"{findings_section(data)}\n{exposure_section(data)}\n{graph_section(data)}\n{chains_section(data)}"
        "</main></body></html>\n"
    )
