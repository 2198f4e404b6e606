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


class Analysis:
    """Everything checks may read about one parsed file."""

    def __init__(self, ruleset: Ruleset, options: dict | None = None) -> None:
        self.ruleset = ruleset
        self.path = ruleset.path
        self.options = options or {}
        self._reached: dict[tuple[str, str], set[str]] = {}  # (table, start) -> `_reachable_from`
        self._outside: dict[tuple, tuple[str, ...]] = {}  # (table, hooks, allowed) -> `hooks_outside`

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
        for table in self.ruleset.tables:
            for chain in table.chains:
                found[(table.name, chain.name)] = tuple(
                    (rule.target.name, rule)
                    for rule in chain.rules
                    if rule.target is not None and rule.target.kind is TargetKind.CHAIN
                )
        return found

    @functools.cached_property
    def _edges(self) -> dict[str, dict[str, tuple[str, ...]]]:
        """table -> chain -> the distinct chains it jumps or goes to, in the order of its rules.

        The graph searches need each edge once: a kube-proxy chain may hold thousands of
        jumps, and a dump has tens of thousands of chains, searched once per hook.
        """
        return {
            table: {chain: tuple(callees) for chain, callees in first.items()}
            for table, first in self._first_jumps.items()
        }

    @functools.cached_property
    def _first_jumps(self) -> dict[str, dict[str, dict[str, Rule]]]:
        """table -> chain -> {callee: the first rule of chain that jumps or goes to it}, in rule order."""
        found: dict[str, dict[str, dict[str, Rule]]] = {}
        for (table, chain), jumps in self.jumps.items():
            first: dict[str, Rule] = {}
            for callee, rule in jumps:
                first.setdefault(callee, rule)
            found.setdefault(table, {})[chain] = first
        return found

    @functools.cached_property
    def entered_from_elsewhere(self) -> frozenset[tuple[str, str]]:
        """(table, chain) for each chain that a rule of another chain jumps or goes to."""
        return frozenset(
            (table, callee)
            for table, chains in self._edges.items()
            for chain, callees in chains.items()
            for callee in callees
            if callee != chain
        )

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
        result: dict[tuple[str, str], frozenset[str]] = dict.fromkeys(self.jumps, frozenset())
        for table in self.ruleset.tables:
            hooks = [hook for hook in BUILTIN_CHAINS.get(table.name, ()) if table.chain(hook) is not None]
            masks: dict[str, int] = {}  # chain -> bit i set when hooks[i] reaches it
            for bit, hook in enumerate(hooks):
                for chain in self._reachable_from(table.name, hook):
                    masks[chain] = masks.get(chain, 0) | (1 << bit)
            shared: dict[int, frozenset[str]] = {}  # one frozenset per distinct set of hooks
            for chain, mask in masks.items():
                found = shared.get(mask)
                if found is None:
                    found = shared[mask] = frozenset(hook for bit, hook in enumerate(hooks) if mask >> bit & 1)
                result[(table.name, chain)] = found
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
        """`reachable_from`, computed once per start (`hooks_reaching` and `jump_depths` both
        need it for every built-in chain); callers must not change the set."""
        seen = self._reached.get((table, start))
        if seen is not None:
            return seen
        edges = self._edges.get(table, {})
        seen = {start}
        queue = deque([start])
        while queue:
            for callee in edges.get(queue.popleft(), ()):
                if callee not in seen:
                    seen.add(callee)
                    queue.append(callee)
        self._reached[(table, start)] = seen
        return seen

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
            for name, depth_and_jump in self._longest_paths(table).items():
                found[(table.name, name)] = depth_and_jump
        return found

    def _longest_paths(self, table: Table) -> dict[str, tuple[int, Rule | None]]:
        """Longest jump paths from the built-in chains, in topological order (Kahn).

        Each chain's distinct callees count once, with its first jump to each: a second
        jump from the same chain never makes a path longer.
        """
        starts = [chain.name for chain in table.chains if chain.builtin]
        reached = set().union(*(self._reachable_from(table.name, start) for start in starts)) if starts else set()
        first = self._first_jumps.get(table.name, {})
        no_jumps: dict[str, Rule] = {}
        waiting = dict.fromkeys(reached, 0)  # callers of reached chains not yet counted
        for name in reached:
            for callee in first.get(name, no_jumps):
                waiting[callee] += 1
        best: dict[str, tuple[int, Rule | None]] = {name: (0, None) for name in starts}
        ready = deque(name for name in starts if waiting[name] == 0)
        while ready:
            current = ready.popleft()
            depth = best[current][0]
            for callee, rule in first.get(current, no_jumps).items():
                if callee not in best or best[callee][0] < depth + 1:
                    best[callee] = (depth + 1, rule)
                waiting[callee] -= 1
                if waiting[callee] == 0:
                    ready.append(callee)
        return {name: value for name, value in best.items() if waiting.get(name, 0) == 0}

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
            declared = {chain.name: position for position, chain in enumerate(table.chains)}
            edges = self._edges.get(table.name, {})
            for component in _strongly_connected([c.name for c in table.chains], edges):
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
            rule_index=self.rule_index.get(id(rule)),
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


def _strongly_connected(chains: list[str], edges: dict[str, tuple[str, ...]]) -> Iterator[set[str]]:
    """Tarjan's algorithm, without recursion: the sets of chains that can each reach all others.

    `edges`: chain -> the distinct chains it jumps or goes to.  Only sets that hold a
    loop are yielded: two or more chains, or one that jumps to itself.
    """
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    for root in chains:
        if root in index:
            continue
        work = [(root, iter(edges.get(root, ())))]
        index[root] = lowlink[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = lowlink[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                    advanced = True
                    break
                if child in on_stack:
                    lowlink[node] = min(lowlink[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in edges.get(node, ()):
                    yield component
