"""The facts about one ruleset that checks read: computed once, on first use, never changed.

Checks never walk chains themselves (ShellCheck's `Parameters`, ruff's semantic model):
they ask the `Analysis` for the reference graph, and later for packet semantics, the
Docker model and the active policies.  Each fact is computed the first time a check
asks for it and then shared by every check.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from iptlint.findings import Finding, Fix, Related, Severity, Span
from iptlint.syntax.ast import BUILTIN_CHAINS, Chain, Match, Option, Rule, Ruleset, Table, Target, TargetKind


@dataclass(frozen=True, slots=True)
class Reference:
    """A rule that jumps (`-j`) or goes (`-g`) to a chain."""

    table: str
    rule: Rule
    target: str
    goto: bool


@dataclass(frozen=True, slots=True)
class JumpCycle:
    """A loop of jumps between user chains: `rules[i]` jumps from one chain of the loop to the next.

    `reached` tells whether a built-in chain leads into the loop: the kernel refuses the
    table then (ELOOP, "Too many links"); an unreached loop loads, until a jump to it is added.
    """

    table: str
    rules: tuple[Rule, ...]
    reached: bool
    knot: frozenset[str] = frozenset()  # every chain that loops with these (a strongly connected set)

    @property
    def chains(self) -> tuple[str, ...]:
        """The chains of the loop in jump order, the first repeated at the end: A, B, A."""
        return (*(rule.chain for rule in self.rules), self.rules[0].chain)

    @property
    def others(self) -> tuple[str, ...]:
        """Chains of the knot that this loop does not pass through (other loops share them)."""
        return tuple(sorted(self.knot.difference(self.chains)))


@dataclass(frozen=True, slots=True)
class _Graph:
    """One table's jumps between chains, each chain an integer id (its declared chains first, in
    order): the form the graph searches read."""

    names: tuple[str, ...]  # id -> chain name
    ids: dict[str, int]  # chain name -> id
    callees: tuple[tuple[int, ...], ...]  # id -> the distinct chains it jumps or goes to, in rule order
    firsts: tuple[tuple[Rule, ...], ...]  # id -> the first rule that jumps or goes to each of `callees`
    callers: tuple[int, ...]  # id -> how many chains jump or go to it (itself included)

    @staticmethod
    def build(tables: list[Table]) -> _Graph:
        """From the tables of one name: a table written twice holds each chain's jumps from its
        last copy, as `Analysis.jumps` does."""
        names: list[str] = []
        ids: dict[str, int] = {}
        for table in tables:
            for chain in table.chains:
                if chain.name not in ids:
                    ids[chain.name] = len(names)
                    names.append(chain.name)
        callees: list[tuple[int, ...]] = [()] * len(names)
        firsts: list[tuple[Rule, ...]] = [()] * len(names)
        to_chain = TargetKind.CHAIN
        for table in tables:
            for chain in table.chains:
                first: dict[int, Rule] = {}
                for rule in chain.rules:
                    target = rule.target
                    if target is not None and target.kind is to_chain:
                        callee = ids.get(target.name)
                        if callee is None:  # a chain that is not declared: no jumps of its own
                            callee = ids[target.name] = len(names)
                            names.append(target.name)
                        if callee not in first:
                            first[callee] = rule
                caller = ids[chain.name]
                callees[caller] = tuple(first)
                firsts[caller] = tuple(first.values())
        callees += [()] * (len(names) - len(callees))
        firsts += [()] * (len(names) - len(firsts))
        callers = [0] * len(names)
        for found in callees:
            for callee in found:
                callers[callee] += 1
        return _Graph(tuple(names), ids, tuple(callees), tuple(firsts), tuple(callers))

    def acyclic(self) -> bool:
        """True when no chain can jump back to itself (Kahn: every chain comes out in order);
        most dumps, so the search for loops can be skipped."""
        callees = self.callees
        waiting = list(self.callers)
        ready = [chain for chain, count in enumerate(waiting) if count == 0]
        for chain in ready:  # grows while read
            for callee in callees[chain]:
                waiting[callee] -= 1
                if waiting[callee] == 0:
                    ready.append(callee)
        return len(ready) == len(callees)


class Analysis:
    """Everything checks may read about one parsed file."""

    def __init__(self, ruleset: Ruleset, options: dict | None = None) -> None:
        self.ruleset = ruleset
        self.path = ruleset.path
        self.options = options or {}
        self._reached: dict[tuple[str, int], list[int]] = {}  # (table, start id) -> `_reached_ids`
        self._outside: dict[tuple, tuple[str, ...]] = {}  # (table, hooks, allowed) -> `hooks_outside`
        self._positions: dict[int, dict[int, int]] = {}  # id(chain) -> `position` of each of its rules

    # -- the chain graph ------------------------------------------------------------------

    @functools.cached_property
    def references(self) -> dict[tuple[str, str], tuple[Reference, ...]]:
        """(table, chain) -> the rules that jump or go to it."""
        found: dict[tuple[str, str], list[Reference]] = {}
        for table in self.ruleset.tables:
            for rule in table.rules:
                target = rule.target
                if target is not None and target.kind is TargetKind.CHAIN:
                    found.setdefault((table.name, target.name), []).append(
                        Reference(table.name, rule, target.name, target.goto)
                    )
        return {key: tuple(refs) for key, refs in found.items()}

    def referrers(self, table: str, chain: str) -> tuple[Reference, ...]:
        return self.references.get((table, chain), ())

    def chains(self) -> Iterator[tuple[Table, Chain]]:
        for table in self.ruleset.tables:
            for chain in table.chains:
                yield table, chain

    @staticmethod
    def is_fragment(table: Table) -> bool:
        """True when the table names no built-in chain: a piece restored with `--noflush` into
        chains that other files create and jump to (ufw's `user.rules`), not a whole table."""
        return not any(chain.builtin for chain in table.chains)

    @functools.cached_property
    def jumps(self) -> dict[tuple[str, str], tuple[tuple[str, Rule], ...]]:
        """(table, chain) -> (target chain, rule) for each rule of that chain that jumps or goes to a chain.

        Every rule counts, conditional or not, even after an unconditional verdict: the
        kernel (nf_tables; x_tables only along paths it walks) checks them all.
        """
        found: dict[tuple[str, str], tuple[tuple[str, Rule], ...]] = {}
        to_chain = TargetKind.CHAIN
        for table in self.ruleset.tables:
            for chain in table.chains:
                found[(table.name, chain.name)] = tuple(
                    [
                        (target.name, rule)
                        for rule in chain.rules
                        if (target := rule.target) is not None and target.kind is to_chain
                    ]
                )
        return found

    @functools.cached_property
    def _graphs(self) -> dict[str, _Graph]:
        """table -> its chain graph over integer ids, built once for every graph search.

        A kube-proxy dump has tens of thousands of chains, searched once per hook and again
        for depths and loops: lists indexed by id cost a fraction of dicts keyed by name.
        """
        by_name: dict[str, list[Table]] = {}
        for table in self.ruleset.tables:
            by_name.setdefault(table.name, []).append(table)
        return {name: _Graph.build(tables) for name, tables in by_name.items()}

    def chains_jumping_to(self, table: str, chains: set[str] | frozenset[str]) -> set[str]:
        """The chains of `table` with a rule that jumps or goes to one of `chains` (of a table
        written twice, as `jumps` holds it: each chain's last copy)."""
        graph = self._graphs.get(table)
        if graph is None:
            return set()
        wanted = {graph.ids[name] for name in chains if name in graph.ids}
        return {graph.names[caller] for caller, callees in enumerate(graph.callees) if not wanted.isdisjoint(callees)}

    @functools.cached_property
    def entered_by_table(self) -> dict[str, frozenset[str]]:
        """table -> the chains that a rule of another chain of that table jumps or goes to."""
        return {
            table: frozenset(
                graph.names[callee]
                for caller, callees in enumerate(graph.callees)
                for callee in callees
                if callee != caller
            )
            for table, graph in self._graphs.items()
        }

    @functools.cached_property
    def entered_from_elsewhere(self) -> frozenset[tuple[str, str]]:
        """(table, chain) for each chain that a rule of another chain jumps or goes to."""
        return frozenset((table, chain) for table, chains in self.entered_by_table.items() for chain in chains)

    def callees(self, table: str, chain: str) -> tuple[tuple[str, Rule], ...]:
        """The chains `chain` jumps or goes to, each with the rule that does it, in rule order."""
        return self.jumps.get((table, chain), ())

    @functools.cached_property
    def hooks_reaching(self) -> dict[tuple[str, str], frozenset[str]]:
        """(table, chain) -> the built-in chains (hooks) of its table from which it can be reached.

        A built-in chain reaches itself; a user chain no built-in chain reaches maps to
        an empty set.  This is the kernel's "hook mask" of the rules in that chain: what a
        target's hook restrictions are checked against.
        """
        nowhere: frozenset[str] = frozenset()
        result = {(table.name, chain.name): nowhere for table in self.ruleset.tables for chain in table.chains}
        for table in self.ruleset.tables:
            graph = self._graphs.get(table.name)
            if graph is None:
                continue
            hooks = [hook for hook in BUILTIN_CHAINS.get(table.name, ()) if table.chain(hook) is not None]
            masks = [0] * len(graph.names)  # chain id -> bit i set when hooks[i] reaches it
            for bit, hook in enumerate(hooks):
                for chain in self._reached_ids(table.name, graph.ids[hook]):
                    masks[chain] |= 1 << bit
            shared: dict[int, frozenset[str]] = {}  # one frozenset per distinct set of hooks
            names = graph.names
            for chain, mask in enumerate(masks):
                if mask:
                    found = shared.get(mask)
                    if found is None:
                        found = shared[mask] = frozenset(hook for bit, hook in enumerate(hooks) if mask >> bit & 1)
                    result[(table.name, names[chain])] = found
        return result

    def hooks_outside(self, rule: Rule, allowed: tuple[str, ...]) -> list[str]:
        """The built-in chains that reach the rule's chain but are not in `allowed`, in kernel order.

        Remembered per table, set of reaching hooks and `allowed`: tens of thousands of
        rules (kube-proxy's DNATs) ask with a few distinct sets.
        """
        reaching = self.hooks_reaching.get((rule.table, rule.chain), frozenset())
        key = (rule.table, reaching, allowed)
        found = self._outside.get(key)
        if found is None:
            found = self._outside[key] = tuple(
                hook for hook in BUILTIN_CHAINS.get(rule.table, ()) if hook in reaching and hook not in allowed
            )
        return list(found)

    def reachable_from(self, table: str, start: str) -> set[str]:
        """The chains of `table` that jumps and gotos from `start` can reach (`start` included)."""
        return set(self._reachable_from(table, start))

    def _reachable_from(self, table: str, start: str) -> set[str]:
        graph = self._graphs.get(table)
        if graph is None or start not in graph.ids:
            return {start}
        return {graph.names[chain] for chain in self._reached_ids(table, graph.ids[start])}

    def _reached_ids(self, table: str, start: int) -> list[int]:
        """The ids of the chains of `table` reachable from chain id `start` (itself first), computed
        once per start (`hooks_reaching` and `jump_depths` both need it for every built-in
        chain); callers must not change the list."""
        found = self._reached.get((table, start))
        if found is None:
            callees = self._graphs[table].callees
            seen = bytearray(len(callees))
            seen[start] = 1
            found = [start]
            for chain in found:  # grows while read: a breadth-first search
                for callee in callees[chain]:
                    if not seen[callee]:
                        seen[callee] = 1
                        found.append(callee)
            self._reached[(table, start)] = found
        return found

    def hook_path(self, table: str, hook: str, chain: str) -> tuple[Rule, ...]:
        """The shortest list of jump rules that leads from built-in chain `hook` to `chain`."""
        came_by: dict[str, Rule | None] = {hook: None}
        queue = deque([hook])
        while queue:
            current = queue.popleft()
            if current == chain:
                break
            for callee, rule in self.callees(table, current):
                if callee not in came_by:
                    came_by[callee] = rule
                    queue.append(callee)
        if chain not in came_by:
            return ()
        path = []
        step = came_by[chain]
        while step is not None:
            path.append(step)
            step = came_by[step.chain]
        return tuple(reversed(path))

    @functools.cached_property
    def jump_depths(self) -> dict[tuple[str, str], tuple[int, Rule | None]]:
        """(table, chain) -> (the most jumps on a path from a built-in chain to it, the last jump of that path).

        Built-in chains have depth 0 and no jump.  Chains no built-in chain reaches, and
        chains in or below a loop (S203), have no entry: their depth has no bound.
        """
        found: dict[tuple[str, str], tuple[int, Rule | None]] = {}
        for table in self.ruleset.tables:
            found.update(self._longest_paths(table))
        return found

    def _longest_paths(self, table: Table) -> dict[tuple[str, str], tuple[int, Rule | None]]:
        """Longest jump paths from the built-in chains, in topological order (Kahn).

        Each chain's distinct callees count once, with its first jump to each: a second
        jump from the same chain never makes a path longer.
        """
        graph = self._graphs.get(table.name)
        if graph is None:
            return {}
        callees, firsts = graph.callees, graph.firsts
        starts = [graph.ids[chain.name] for chain in table.chains if chain.builtin]
        reached = bytearray(len(callees))
        count = 0
        for start in starts:
            for chain in self._reached_ids(table.name, start):
                if not reached[chain]:
                    reached[chain] = 1
                    count += 1
        if count == len(callees):  # callers of reached chains not yet counted: all of them
            waiting = list(graph.callers)
        else:
            waiting = [0] * len(callees)
            for chain, is_reached in enumerate(reached):
                if is_reached:
                    for callee in callees[chain]:
                        waiting[callee] += 1
        depths = [-1] * len(callees)
        last: list[Rule | None] = [None] * len(callees)
        order = []  # the chains given a depth, in the order they got one
        for start in starts:
            if depths[start] < 0:
                order.append(start)
            depths[start] = 0
        ready = [start for start in starts if waiting[start] == 0]
        for current in ready:  # grows while read: first in, first out
            depth = depths[current] + 1
            for callee, rule in zip(callees[current], firsts[current]):  # noqa: B905 (equal lengths)
                if depths[callee] < depth:
                    if depths[callee] < 0:
                        order.append(callee)
                    depths[callee] = depth
                    last[callee] = rule
                waiting[callee] -= 1
                if waiting[callee] == 0:
                    ready.append(callee)
        keys = [(table.name, name) for name in graph.names]
        return {keys[chain]: (depths[chain], last[chain]) for chain in order if waiting[chain] == 0}

    def deepest_path(self, table: str, chain: str) -> tuple[Rule, ...]:
        """The jumps of the longest path from a built-in chain to `chain` (see `jump_depths`)."""
        path = []
        step = self.jump_depths.get((table, chain), (0, None))[1]
        while step is not None:
            path.append(step)
            step = self.jump_depths[(table, step.chain)][1]
        return tuple(reversed(path))

    @functools.cached_property
    def jump_cycles(self) -> tuple[JumpCycle, ...]:
        """One loop per strongly connected set of chains (or chain jumping to itself), in file order.

        The loop starts at the knot's first declared chain and is the shortest way back to it.
        """
        cycles = []
        for table in self.ruleset.tables:
            graph = self._graphs.get(table.name)
            if graph is None or graph.acyclic():
                continue
            declared = {chain.name: position for position, chain in enumerate(table.chains)}
            roots = [graph.ids[chain.name] for chain in table.chains]
            for ids in _strongly_connected(roots, graph.callees):
                component = {graph.names[chain] for chain in ids}
                start = min(component, key=lambda name: declared.get(name, len(declared)))
                rules = self._loop_through(table.name, start, component)
                if rules:
                    reached = any(self.hooks_reaching.get((table.name, name)) for name in component)
                    cycles.append(JumpCycle(table.name, rules, reached, frozenset(component)))
        return tuple(sorted(cycles, key=lambda cycle: cycle.rules[-1].line))

    def _loop_through(self, table: str, start: str, component: set[str]) -> tuple[Rule, ...]:
        """The shortest loop of jumps from `start` back to itself inside `component`."""
        came_by: dict[str, Rule] = {}
        queue = deque([start])
        while queue:
            current = queue.popleft()
            for callee, rule in self.callees(table, current):
                if callee == start:
                    path = [rule]
                    while path[-1].chain != start:
                        path.append(came_by[path[-1].chain])
                    return tuple(reversed(path))
                if callee in component and callee not in came_by:
                    came_by[callee] = rule
                    queue.append(callee)
        return ()

    @functools.cached_property
    def rule_index(self) -> dict[int, int]:
        """id(rule) -> its 1-based position in its chain (`iptables -L --line-numbers`)."""
        index = {}
        for table in self.ruleset.tables:
            for chain in table.chains:
                for position, rule in enumerate(chain.rules, 1):
                    index[id(rule)] = position
        return index

    @functools.cached_property
    def _chains_named(self) -> dict[tuple[str, str], list[Chain]]:
        """(table, chain) -> the chains of that name (two when a table is written twice)."""
        found: dict[tuple[str, str], list[Chain]] = {}
        for table in self.ruleset.tables:
            for chain in table.chains:
                found.setdefault((table.name, chain.name), []).append(chain)
        return found

    def position(self, rule: Rule) -> int | None:
        """`rule_index[id(rule)]`, read in the rule's own chain: a few findings on a large dump
        need not index its every rule.  None for a rule in no chain."""
        for chain in self._chains_named.get((rule.table, rule.chain), ()):
            index = self._positions.get(id(chain))
            if index is None:
                rules = chain.rules
                index = self._positions[id(chain)] = dict(zip(map(id, rules), range(1, len(rules) + 1), strict=True))
            found = index.get(id(rule))
            if found is not None:
                return found
        return self.rule_index.get(id(rule))

    # -- packet semantics ----------------------------------------------------------------

    @functools.cached_property
    def reachability(self):
        """Which packets each rule can see (`iptlint.semantics.reach.Reachability`): rules that
        never match, redundant rules, unreachable and inert chains."""
        from iptlint.semantics.reach import Reachability

        return Reachability(self.ruleset, self.options.get("ipsets"))

    # -- Docker and policies -----------------------------------------------------------

    @functools.cached_property
    def docker(self):
        """Docker's part of the dump (`iptlint.docker.model.DockerModel`), or None.

        Option `docker`: "auto" (detect, the default), "off" (no Docker findings) or a
        generation id forced on the dump (`v18-27`, `v28`...).
        """
        from iptlint.docker.model import read

        setting = self.options.get("docker") or "auto"
        if setting == "off":
            return None
        return read(self.ruleset, None if setting == "auto" else setting)

    @functools.cached_property
    def policies(self) -> tuple:
        """The policies in force: Docker's built-in ones (unless docker=off) and the user's."""
        from iptlint.policy.load import builtin_paths, builtin_policy

        chosen = []
        if self.docker is not None:
            chosen += [builtin_policy(i) for i in builtin_paths() if i.startswith("docker-") and i != "docker-common"]
        chosen += list(self.options.get("policies", ()))
        return tuple(chosen)

    @functools.cached_property
    def policy_findings(self) -> tuple[Finding, ...]:
        """Every unmet expectation of every policy in force, each with its own code."""
        from iptlint.policy.evaluate import Context, evaluate, evaluate_assertions

        context = Context(self.ruleset, self.docker)
        policies = list(self.policies)
        assertions = evaluate_assertions(
            policies, context, tuple(self.options.get("local_addresses", ())), self.options.get("ipsets") or {}
        )
        return (*evaluate(policies, context), *assertions)

    @functools.cached_property
    def exposures(self) -> tuple:
        """What the outside world reaches of each published port (`iptlint.docker.exposure`)."""
        from iptlint.docker.exposure import allowed_networks, exposures

        extra = [n for _, entries in self.exposure_allow for n in allowed_networks(entries)]
        return exposures(
            self.ruleset,
            self.docker,
            tuple(self.options.get("local_addresses", ())),
            extra,
            self.options.get("ipsets") or {},
        )

    @functools.cached_property
    def exposure_allow(self) -> tuple:
        """The exposure allow-lists of the policies in force, with the code each reports."""
        return tuple((policy.exposure_code, policy.allow) for policy in self.policies if policy.allow is not None)

    def findings_of_policies(self, code: str) -> Iterator[Finding]:
        for finding in self.policy_findings:
            if finding.code == code:
                yield finding

    # -- making findings --------------------------------------------------------------------

    def at_rule(
        self,
        code: str,
        rule: Rule,
        message: str,
        node: Option | Match | Target | None = None,
        related: tuple[Related, ...] = (),
        fix: Fix | None = None,
        severity: Severity = Severity.WARNING,
    ) -> Finding:
        """A finding on a rule, or on one of its options, matches or target."""
        span = rule.span if node is None else rule.span_of(node)
        return Finding(
            code=code,
            message=message,
            path=self.path,
            span=span,
            severity=severity,
            table=rule.table,
            chain=rule.chain,
            rule_index=self.position(rule),
            related=related,
            fix=fix,
        )

    def at_chain(
        self,
        code: str,
        table: Table,
        chain: Chain,
        message: str,
        related: tuple[Related, ...] = (),
        fix: Fix | None = None,
        severity: Severity = Severity.WARNING,
    ) -> Finding:
        """A finding on a chain's declaration (or its table's header when it was never declared)."""
        span = chain.span if chain.line else Span.at_line(table.line, f"*{table.name}")
        return Finding(code, message, self.path, span, severity, table.name, chain.name, None, related, fix)

    def related_rule(self, rule: Rule, message: str) -> Related:
        return Related(message, rule.span)


def _strongly_connected(roots: list[int], callees: tuple[tuple[int, ...], ...]) -> Iterator[list[int]]:
    """Tarjan's algorithm, without recursion: the sets of chains that can each reach all others.

    Chains are ids (`_Graph`), searched from each of `roots` in turn; `callees`: id -> the
    distinct ids it jumps or goes to.  Only sets that hold a loop are yielded: two or
    more chains, or one that jumps to itself.
    """
    index = [-1] * len(callees)
    lowlink = [0] * len(callees)
    on_stack = bytearray(len(callees))
    stack: list[int] = []
    count = 0
    for root in roots:
        if index[root] >= 0:
            continue
        work = [(root, iter(callees[root]))]
        index[root] = lowlink[root] = count
        count += 1
        stack.append(root)
        on_stack[root] = 1
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if index[child] < 0:
                    index[child] = lowlink[child] = count
                    count += 1
                    stack.append(child)
                    on_stack[child] = 1
                    work.append((child, iter(callees[child])))
                    advanced = True
                    break
                if on_stack[child] and index[child] < lowlink[node]:
                    lowlink[node] = index[child]
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if lowlink[node] < lowlink[parent]:
                    lowlink[parent] = lowlink[node]
            if lowlink[node] == index[node]:
                if stack[-1] == node:  # a chain alone: most of them
                    stack.pop()
                    on_stack[node] = 0
                    if node in callees[node]:
                        yield [node]
                    continue
                component = []
                while True:
                    member = stack.pop()
                    on_stack[member] = 0
                    component.append(member)
                    if member == node:
                        break
                yield component
