"""`iptlint graph --format mermaid`: the flow graph as a Mermaid flowchart, for Markdown and GitHub.

Paste the output between ```` ```mermaid ```` fences.  The same picture as the DOT
renderer: hooks and tables as nested subgraphs, Docker's chains in a subgraph of their
own, jumps `-->`, gotos dashed `-.->`, the flow between tables thick `==>`.  A traced
packet's nodes get the class `visited` (numbered `#N` in visiting order) and the edges
it took are drawn orange by `linkStyle`, labelled with their hop numbers.
"""

from __future__ import annotations

from iptlint.graph import Cluster, Edge, Graph, Node

TRACE_STYLE = "stroke:#d9480f,stroke-width:3px,color:#d9480f"
CLASS_DEFINITIONS = (
    "classDef builtin fill:#ffffff,stroke:#495057,stroke-width:2px",
    "classDef user fill:#ffffff,stroke:#868e96",
    "classDef docker fill:#d0ebff,stroke:#1c7ed6",
    "classDef endpoint fill:#e9ecef,stroke:#868e96",
    "classDef verdict fill:#ffffff,stroke:#c92a2a,stroke-width:3px",
    "classDef visited fill:#ffe8cc,stroke:#d9480f,stroke-width:3px",
)
ARROWS = {"jump": "-->", "goto": "-.->", "flow": "==>", "hop": "-.->", "decided": "-.->"}
SHAPES = {"routing": ("{", "}"), "endpoint": ("([", "])"), "verdict": ("{{", "}}")}


def text(label: str) -> str:
    """A quoted Mermaid label: quotes as `#quot;`, newlines as `<br/>`, no markup."""
    escaped = label.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return '"' + escaped.replace("\n", "<br/>") + '"'


def mermaid_ids(graph: Graph) -> dict[str, str]:
    """Node id (`filter/DOCKER-USER`) -> a Mermaid-safe id (`n7`), in node order."""
    return {node.id: f"n{index}" for index, node in enumerate(graph.nodes)}


def node_line(node: Node, ids: dict[str, str]) -> str:
    label = node.label
    if node.visits:
        label += "\n#" + ", #".join(str(n) for n in node.visits)
    opening, closing = SHAPES.get(node.kind, ("[", "]"))
    return f"{ids[node.id]}{opening}{text(label)}{closing}"


def edge_line(edge: Edge, ids: dict[str, str]) -> str:
    label = edge.label
    if edge.traversed:
        label = " ".join(part for part in (label, "#" + ", #".join(str(n) for n in edge.hops)) if part)
    arrow = ARROWS.get(edge.kind, "-->")
    middle = f"|{text(label)}|" if label else ""
    return f"{ids[edge.source]} {arrow}{middle} {ids[edge.target]}"


def cluster_lines(cluster: Cluster, graph: Graph, ids: dict[str, str], indent: str) -> list[str]:
    lines = [f"{indent}subgraph {cluster.id.replace('-', '_')}[{text(cluster.label)}]"]
    lines += [indent + "  " + node_line(node, ids) for node in graph.nodes if node.cluster == cluster.id]
    for child in graph.clusters:
        if child.parent == cluster.id:
            lines += cluster_lines(child, graph, ids, indent + "  ")
    lines.append(f"{indent}end")
    return lines


def class_lines(graph: Graph, ids: dict[str, str]) -> list[str]:
    """`class n1,n2 docker`: each node's kind, then `visited` for the traced ones."""
    by_class: dict[str, list[str]] = {}
    for node in graph.nodes:
        kind = "endpoint" if node.kind == "routing" else node.kind
        by_class.setdefault(kind, []).append(ids[node.id])
    visited = [ids[node.id] for node in graph.nodes if node.visits]
    if visited:
        by_class["visited"] = visited
    return [f"class {','.join(members)} {name}" for name, members in by_class.items()]


def render(graph: Graph) -> str:
    """The whole graph as a Mermaid flowchart, ending in a newline."""
    ids = mermaid_ids(graph)
    lines = ["flowchart LR"]
    if graph.packet is not None:
        lines.append(f"%% packet: {graph.packet}")
        lines.append(f"%% verdict: {graph.verdict_text}")
    lines += ["  " + node_line(node, ids) for node in graph.nodes if node.cluster is None]
    for cluster in graph.clusters:
        if cluster.parent is None:
            lines += cluster_lines(cluster, graph, ids, "  ")
    lines += ["  " + edge_line(edge, ids) for edge in graph.edges]
    lines += ["  " + line for line in CLASS_DEFINITIONS]
    lines += ["  " + line for line in class_lines(graph, ids)]
    traversed = [str(index) for index, edge in enumerate(graph.edges) if edge.traversed]
    if traversed:
        lines.append(f"  linkStyle {','.join(traversed)} {TRACE_STYLE}")
    return "\n".join(lines) + "\n"
