"""A ruleset as a flow graph: netfilter's hooks, each table's chains, the jumps between them.

    graph = build(ruleset)                      # the chains and how packets flow through them
    graph = build(ruleset, trace)               # ... with one packet's path (`iptlint trace`) marked

The renderers (`iptlint/report/graph_dot.py`, `graph_mermaid.py`) only draw this model.

Layout, in the kernel's order: a packet comes in, goes through PREROUTING, the routing
decision sends it to INPUT (then a local process) or FORWARD; a local process sends
through OUTPUT; FORWARD and OUTPUT end in POSTROUTING and the packet goes out.  Each hook
is a cluster holding one cluster per table (in priority order: raw, mangle, nat, filter,
security) with that table's built-in chain, its policy and rule count.  User chains are
nodes of their table's cluster of user chains; Docker's chains are grouped in a cluster
of their own.  A `-j CHAIN` rule is a `jump` edge, a `-g CHAIN` rule a `goto` edge
(drawn dashed), labelled with the rules' lines.

A traced packet visits nodes in order (`Graph.path`); each move from one node to the
next is a numbered hop.  A hop along an edge of the graph (a jump taken, the flow to the
next table) marks that edge; a hop the graph has no edge for (a RETURN to the calling
chain, an ACCEPT that ends a table) adds a `hop` edge labelled with what happened.  The
verdict is a node of its own, linked from the chain that decided it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from iptlint.semantics import walk as w
from iptlint.syntax.ast import Chain, Ruleset

ROUTING, PACKET_IN, LOCAL_PROCESS, PACKET_OUT, VERDICT = "ROUTING", "IN", "LOCAL", "OUT", "VERDICT"
DOCKER_CLUSTER = "docker"

# The tables of each hook in the kernel's priority order, as the walk runs them.
HOOK_TABLES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PREROUTING", tuple(table for _, table in w.PREROUTING)),
    ("INPUT", tuple(table for _, table in w.LOCAL_INPUT)),
    ("FORWARD", tuple(table for hook, table in w.FORWARDING if hook == "FORWARD")),
    ("OUTPUT", tuple(table for hook, table in w.LOCAL_OUTPUT if hook == "OUTPUT")),
    ("POSTROUTING", tuple(table for hook, table in w.FORWARDING if hook == "POSTROUTING")),
)
# The ways through the hooks: (where the packet starts, hooks in order, where it ends).
ROUTES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (PACKET_IN, ("PREROUTING",), ROUTING),
    (ROUTING, ("INPUT",), LOCAL_PROCESS),
    (ROUTING, ("FORWARD", "POSTROUTING"), PACKET_OUT),
    (LOCAL_PROCESS, ("OUTPUT", "POSTROUTING"), PACKET_OUT),
)
ENDPOINT_LABELS = {
    PACKET_IN: "packet in\n(network interface)",
    ROUTING: "routing decision",
    LOCAL_PROCESS: "local process",
    PACKET_OUT: "packet out\n(network interface)",
}
MAX_LINES_IN_LABEL = 3


@dataclass(frozen=True)
class Cluster:
    """A box around nodes: a hook, a table within a hook, a table's user chains, Docker's chains."""

    id: str
    label: str
    kind: str  # "hook" | "table" | "user" | "docker"
    parent: str | None = None


@dataclass(frozen=True)
class Node:
    """A chain (`table/CHAIN`), an end of the flow (IN, ROUTING, LOCAL, OUT) or the verdict."""

    id: str
    label: str  # lines separated by "\n"
    kind: str  # "builtin" | "user" | "docker" | "endpoint" | "routing" | "verdict"
    cluster: str | None = None
    policy: str | None = None
    visits: tuple[int, ...] = ()  # positions in the traced path, from 1


@dataclass(frozen=True)
class Edge:
    """`flow` (to the next table or hook), `jump`, `goto`, `hop` (a traced move with no edge) or `decided`."""

    source: str
    target: str
    kind: str
    label: str = ""
    hops: tuple[int, ...] = ()  # traced hop numbers along this edge (from 1); empty: not traversed

    @property
    def traversed(self) -> bool:
        return bool(self.hops)


@dataclass(frozen=True)
class Graph:
    title: str
    clusters: tuple[Cluster, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    path: tuple[str, ...] = ()  # node ids the traced packet visited, in order (empty: no trace)
    packet: str | None = None  # the traced packet, described
    verdict: str | None = None
    verdict_text: str | None = None  # one line: the verdict and what gave it
    notes: tuple[str, ...] = field(default=())

    def node(self, node_id: str) -> Node | None:
        return next((node for node in self.nodes if node.id == node_id), None)


# ---------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------


def chain_id(table: str, chain: str) -> str:
    """The node id of a chain: `filter/DOCKER-USER`."""
    return f"{table}/{chain}"


def is_docker_chain(name: str) -> bool:
    """True for a chain Docker creates (`DOCKER`, `DOCKER-USER`, `DOCKER-ISOLATION-STAGE-1`...)."""
    return name == "DOCKER" or name.startswith("DOCKER-")


def lines_text(lines: list[int]) -> str:
    """`line 17`, `lines 17, 21`, `lines 17, 21, 30 (+2)`."""
    if len(lines) == 1:
        return f"line {lines[0]}"
    shown = ", ".join(str(n) for n in lines[:MAX_LINES_IN_LABEL])
    more = f" (+{len(lines) - MAX_LINES_IN_LABEL})" if len(lines) > MAX_LINES_IN_LABEL else ""
    return f"lines {shown}{more}"


def rules_text(count: int) -> str:
    return "1 rule" if count == 1 else f"{count} rules"


def chain_label(table: str, chain: Chain) -> str:
    """`filter FORWARD / policy DROP / 6 rules` for a built-in chain, `DOCKER-USER / 2 rules` otherwise."""
    lines = [f"{table} {chain.name}" if chain.builtin else chain.name]
    if chain.policy is not None:
        counted = chain.counters is not None and chain.counters.packets > 0
        counters = f" [{chain.counters.packets}:{chain.counters.bytes}]" if counted else ""
        lines.append(f"policy {chain.policy}{counters}")
    lines.append(rules_text(len(chain.rules)))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The untraced graph
# ---------------------------------------------------------------------------------------


def builtin_chains(ruleset: Ruleset, hook: str, tables: tuple[str, ...]) -> list[tuple[str, Chain]]:
    """The (table, chain) of `hook` present in the dump, in priority order."""
    found = []
    for table in tables:
        chain = ruleset.chain(table, hook)
        if chain is not None:
            found.append((table, chain))
    return found


def hook_parts(ruleset: Ruleset) -> tuple[list[Cluster], list[Node]]:
    """A cluster per hook, one per table inside it, and the built-in chain nodes."""
    clusters, nodes = [], []
    for hook, tables in HOOK_TABLES:
        present = builtin_chains(ruleset, hook, tables)
        if not present:
            continue
        clusters.append(Cluster(f"hook-{hook}", hook, "hook"))
        for table, chain in present:
            cluster = f"hook-{hook}-{table}"
            clusters.append(Cluster(cluster, table, "table", f"hook-{hook}"))
            nodes.append(Node(chain_id(table, hook), chain_label(table, chain), "builtin", cluster, chain.policy))
    return clusters, nodes


def user_chain_parts(ruleset: Ruleset) -> tuple[list[Cluster], list[Node]]:
    """A cluster of user chains per table; Docker's chains in a Docker cluster, one sub-cluster per table."""
    clusters, nodes = [], []
    for table in ruleset.tables:
        users = [chain for chain in table.chains if not chain.builtin]
        plain = [chain for chain in users if not is_docker_chain(chain.name)]
        docker = [chain for chain in users if is_docker_chain(chain.name)]
        if plain:
            cluster = f"user-{table.name}"
            clusters.append(Cluster(cluster, f"{table.name}: user chains", "user"))
            nodes += [Node(chain_id(table.name, c.name), chain_label(table.name, c), "user", cluster) for c in plain]
        if docker:
            if not any(c.id == DOCKER_CLUSTER for c in clusters):
                clusters.append(Cluster(DOCKER_CLUSTER, "Docker's chains", "docker"))
            cluster = f"docker-{table.name}"
            clusters.append(Cluster(cluster, table.name, "docker", DOCKER_CLUSTER))
            nodes += [Node(chain_id(table.name, c.name), chain_label(table.name, c), "docker", cluster) for c in docker]
    return clusters, nodes


def flow_edges(ruleset: Ruleset) -> list[Edge]:
    """The way a packet goes from hook to hook and table to table, whatever the rules say."""
    edges: list[Edge] = []
    for start, hooks, end in ROUTES:
        chain_nodes = [
            chain_id(table, hook)
            for hook in hooks
            for table, _ in builtin_chains(ruleset, hook, dict(HOOK_TABLES)[hook])
        ]
        sequence = [start, *chain_nodes, end]
        for source, target in itertools.pairwise(sequence):
            label = {"INPUT": "local", "FORWARD": "forward"}.get(hooks[0], "") if source == ROUTING else ""
            edge = Edge(source, target, "flow", label)
            if all((e.source, e.target) != (source, target) for e in edges):
                edges.append(edge)
    return edges


def jump_edges(ruleset: Ruleset) -> list[Edge]:
    """One edge per (chain, target chain, jump or goto), labelled with the rules' lines."""
    grouped: dict[tuple[str, str, bool], list[int]] = {}
    for table in ruleset.tables:
        declared = {chain.name for chain in table.chains}
        for rule in table.rules:
            if rule.jump is None or rule.jump not in declared:
                continue
            key = (chain_id(table.name, rule.chain), chain_id(table.name, rule.jump), rule.target.goto)
            grouped.setdefault(key, []).append(rule.line)
    return [
        Edge(source, target, "goto" if goto else "jump", f"{'-g' if goto else '-j'} {lines_text(lines)}")
        for (source, target, goto), lines in grouped.items()
    ]


def endpoint_nodes() -> list[Node]:
    return [
        Node(node_id, label, "routing" if node_id == ROUTING else "endpoint")
        for node_id, label in ENDPOINT_LABELS.items()
    ]


def build(ruleset: Ruleset, trace: w.Trace | None = None) -> Graph:
    """The flow graph of `ruleset`; with `trace`, that packet's path marked on it."""
    hook_clusters, builtin_nodes = hook_parts(ruleset)
    user_clusters, user_nodes = user_chain_parts(ruleset)
    graph = Graph(
        title=ruleset.path,
        clusters=(*hook_clusters, *user_clusters),
        nodes=(*endpoint_nodes(), *builtin_nodes, *user_nodes),
        edges=(*flow_edges(ruleset), *jump_edges(ruleset)),
    )
    return graph if trace is None else with_trace(graph, trace)


# ---------------------------------------------------------------------------------------
# A traced packet on the graph
# ---------------------------------------------------------------------------------------


def step_node(step: w.Step) -> str | None:
    """The node a step of the walk happens at (None: a table the packet skipped)."""
    if step.kind == "route":
        return ROUTING
    if step.kind == "skip":
        return None
    return chain_id(step.table, step.chain)


def path_end(trace: w.Trace) -> str:
    """Where the packet's path ends: delivered, sent out, or the verdict that stopped it."""
    if trace.verdict != "ACCEPT":
        return VERDICT
    return LOCAL_PROCESS if trace.arrived_at == "local" else PACKET_OUT


def traced_visits(trace: w.Trace) -> list[tuple[str, str]]:
    """(node, how the packet left it) for each node visited in order; consecutive repeats merged."""
    visits: list[tuple[str, str]] = [(PACKET_IN if trace.origin == "incoming" else LOCAL_PROCESS, "")]
    for step in trace.steps:
        node = step_node(step)
        if node is None:
            continue
        if node != visits[-1][0]:
            visits.append((node, ""))
        visits[-1] = (node, leaving_text(step))
    visits.append((path_end(trace), ""))
    return visits


def leaving_text(step: w.Step) -> str:
    """What a step did, said briefly, for a hop that leaves its chain: `RETURN to FORWARD`, `ACCEPT`."""
    if step.kind == "rule" and step.matched:
        return step.action
    if step.kind == "rule" and step.matched is None:
        return f"unknown: {step.unknown}" if step.unknown else "unknown"
    if step.kind in ("policy", "return"):
        return step.action
    return ""


def traced_path(trace: w.Trace) -> tuple[str, ...]:
    """The node ids a traced packet visits, in order: IN, nat/PREROUTING, nat/DOCKER, ROUTING..."""
    return tuple(node for node, _ in traced_visits(trace))


def verdict_label(trace: w.Trace) -> str:
    """`ACCEPT by examples/nginx-published.rules:44 (filter DOCKER)` or `DROP by the policy of filter INPUT`."""
    decision = trace.decision
    if trace.decided_by is not None and decision is not None:
        return f"{trace.verdict} by {trace.location(trace.decided_by)} ({decision.table} {decision.chain})"
    if decision is not None and decision.kind == "policy":
        return f"{trace.verdict} by the policy of {decision.table} {decision.chain}"
    return trace.verdict


def with_trace(graph: Graph, trace: w.Trace) -> Graph:
    """`graph` with the packet's visits numbered on its nodes, its hops on edges, and the verdict."""
    from iptlint.report.trace import describe_packet

    visits = traced_visits(trace)
    path = tuple(node for node, _ in visits)
    edges = list(graph.edges)
    for number, ((source, how), (target, _)) in enumerate(itertools.pairwise(visits), 1):
        edges = with_hop(edges, source, target, number, how)
    decision = trace.decision
    decider = step_node(decision) if decision is not None else None
    if decider is not None and path[-1] != VERDICT:
        edges.append(Edge(decider, VERDICT, "decided", "verdict"))
    verdict_node = Node(VERDICT, f"verdict: {verdict_label(trace)}", "verdict")
    nodes = [replace(node, visits=positions(path, node.id)) for node in (*graph.nodes, verdict_node)]
    return replace(
        graph,
        nodes=tuple(nodes),
        edges=tuple(edges),
        path=path,
        packet=describe_packet(trace.input_packet),
        verdict=trace.verdict,
        verdict_text=verdict_label(trace),
        notes=trace.notes,
    )


def positions(path: tuple[str, ...], node_id: str) -> tuple[int, ...]:
    """Where `node_id` stands in the path, from 1 (hop N leaves the node at position N)."""
    return tuple(number for number, visited in enumerate(path, 1) if visited == node_id)


def with_hop(edges: list[Edge], source: str, target: str, number: int, how: str) -> list[Edge]:
    """Mark hop `number` on the edge from `source` to `target`, or add a `hop` edge saying `how`."""
    preferred = ("goto", "jump", "flow") if how.startswith("goto") else ("jump", "goto", "flow", "hop")
    for kind in preferred:
        for index, edge in enumerate(edges):
            if (edge.source, edge.target, edge.kind) == (source, target, kind):
                if kind == "hop" and edge.label != how:
                    continue
                edges[index] = replace(edge, hops=(*edge.hops, number))
                return edges
    return [*edges, Edge(source, target, "hop", how, (number,))]
