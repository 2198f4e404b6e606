"""`iptlint graph --format dot|svg`: the flow graph (`iptlint.graph.Graph`) in Graphviz's DOT.

    text = render(graph)          # DOT, for `dot -Tsvg`, `dot -Tpng`...
    svg = to_svg(text)            # runs Graphviz's `dot`; GraphvizMissing when it is not installed

Hooks are clusters left to right in the kernel's order, tables clusters inside them;
user chains sit in their table's cluster, Docker's in a cluster of their own.  Jumps are
solid edges, gotos dashed, the flow between tables grey.  A traced packet's nodes are
filled orange and numbered in the order it visited them; the edges it took are thick
and orange, labelled `#N` with their hop numbers, and carry `class="trace"` and
`comment="hops N,M"` (SVG keeps the class: style or script it).
"""

from __future__ import annotations

import shutil
import subprocess

from iptlint.graph import VERDICT, Cluster, Edge, Graph, Node

INSTALL_HINT = "install graphviz: apt-get install graphviz"
TRACE_COLOR = "#d9480f"
TRACE_FILL = "#ffe8cc"
VERDICT_COLORS = {"ACCEPT": "#2b8a3e", "DROP": "#c92a2a", "REJECT": "#c92a2a", "UNKNOWN": "#e67700"}
POLICY_COLORS = {"ACCEPT": "#2b8a3e", "DROP": "#c92a2a"}
CLUSTER_STYLES = {
    "hook": 'style="rounded,bold" color="#495057" fontname="Helvetica-Bold"',
    "table": 'style="rounded,filled" color="#adb5bd" fillcolor="#f8f9fa"',
    "user": 'style="rounded,dashed" color="#868e96"',
    "docker": 'style="rounded,filled" color="#1c7ed6" fillcolor="#e7f5ff"',
}
NODE_SHAPES = {
    "builtin": 'shape=box style="rounded,filled,bold" fillcolor="white"',
    "user": 'shape=box style="rounded,filled" fillcolor="white"',
    "docker": 'shape=box style="rounded,filled" fillcolor="#d0ebff"',
    "endpoint": 'shape=ellipse style=filled fillcolor="#e9ecef"',
    "routing": 'shape=diamond style=filled fillcolor="#e9ecef"',
    "verdict": 'shape=octagon style="filled,bold"',
}


class GraphvizMissing(RuntimeError):
    """Graphviz's `dot` is not installed: SVG cannot be made."""


def quoted(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, newlines as centred line breaks."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def node_line(node: Node) -> str:
    attributes = [NODE_SHAPES.get(node.kind, "shape=box")]
    label = node.label
    if node.visits:
        label += "\n#" + ", #".join(str(n) for n in node.visits)
        attributes.append(f'fillcolor="{TRACE_FILL}" color="{TRACE_COLOR}" penwidth=3 class="trace"')
    elif node.policy in POLICY_COLORS:
        attributes.append(f'color="{POLICY_COLORS[node.policy]}"')
    if node.kind == "verdict":
        color = next((c for v, c in VERDICT_COLORS.items() if label.startswith(f"verdict: {v}")), "#495057")
        attributes.append(f'color="{color}" fontcolor="{color}" fillcolor="white"')
    return f"{quoted(node.id)} [label={quoted(label)} {' '.join(attributes)}];"


def edge_line(edge: Edge) -> str:
    attributes = []
    label = edge.label
    if edge.kind == "goto":
        attributes.append("style=dashed")
    if edge.kind == "flow":
        attributes.append('color="#868e96" penwidth=2 arrowhead=vee')
    if edge.kind in ("hop", "decided"):
        # A move back (a RETURN, the end of a table) must not pull the layout; the verdict sits by its chain.
        attributes.append("style=dotted" if edge.target == VERDICT else "style=dotted constraint=false")
    if edge.traversed:
        hops = ",".join(str(n) for n in edge.hops)
        label = " ".join(part for part in (label, "#" + ", #".join(str(n) for n in edge.hops)) if part)
        attributes.append(
            f'color="{TRACE_COLOR}" fontcolor="{TRACE_COLOR}" penwidth=3 class="trace" comment="hops {hops}"'
        )
    if label:
        attributes.append(f"label={quoted(label)}")
    return f"{quoted(edge.source)} -> {quoted(edge.target)} [{' '.join(attributes)}];"


def cluster_lines(cluster: Cluster, graph: Graph, indent: str) -> list[str]:
    """A `subgraph cluster_...` with its nodes and the clusters inside it."""
    lines = [
        f"{indent}subgraph {quoted('cluster_' + cluster.id)} {{",
        f"{indent}  label={quoted(cluster.label)} {CLUSTER_STYLES.get(cluster.kind, '')};",
    ]
    lines += [indent + "  " + node_line(node) for node in graph.nodes if node.cluster == cluster.id]
    for child in graph.clusters:
        if child.parent == cluster.id:
            lines += cluster_lines(child, graph, indent + "  ")
    lines.append(f"{indent}}}")
    return lines


def title(graph: Graph) -> str:
    if graph.packet is None:
        return f"iptlint: {graph.title}"
    return f"iptlint: {graph.title}\npacket: {graph.packet}\nverdict: {graph.verdict_text}"


def render(graph: Graph) -> str:
    """The whole graph as DOT text, ending in a newline."""
    lines = [
        "digraph iptlint {",
        "  rankdir=LR; compound=true; newrank=true; nodesep=0.3; ranksep=0.5;",
        f'  labelloc=t; fontname="Helvetica"; label={quoted(title(graph))};',
        '  node [fontname="Helvetica" fontsize=11];',
        '  edge [fontname="Helvetica" fontsize=9];',
    ]
    lines += ["  " + node_line(node) for node in graph.nodes if node.cluster is None]
    for cluster in graph.clusters:
        if cluster.parent is None:
            lines += cluster_lines(cluster, graph, "  ")
    lines += ["  " + edge_line(edge) for edge in graph.edges]
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_svg(dot_text: str, timeout: float = 60) -> str:
    """SVG made by Graphviz's `dot -Tsvg`; GraphvizMissing when `dot` is not installed, RuntimeError
    when it fails or takes longer than `timeout` seconds."""
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing(INSTALL_HINT)
    try:
        done = subprocess.run(
            [program, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"dot -Tsvg took more than {timeout:g} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip()
        raise RuntimeError(f"dot -Tsvg failed: {message}")
    return done.stdout.decode("utf-8")
