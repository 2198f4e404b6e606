"""Which packets each rule of a chain can see, and which rules see none.

The walk follows a chain in rule order, in terms of the packets *as they are at each
rule*, and keeps what every claim needs, always on the safe side:

- `decided`: packets that certainly never reach the current rule, the union of the
  **under**-approximations of earlier rules whose target always ends evaluation in
  this chain (ACCEPT, DROP, QUEUE, RETURN, a goto `-g`, a terminal extension such as
  REJECT or DNAT), and of jumps for the packets the called chain certainly never
  returns (`chain_decides`: `-j LOGDROP` decides like a DROP).  A rule *never matches* when its **over**-approximation is covered
  by `decided`, or is empty by itself (its own conditions contradict).  The deciding
  rules are those whose under-set meets the rule's over-set.
- rewrites: a rule that may change a modelled field of a packet that goes on (MARK sets
  `mark`, CONNMARK `ct_mark`, a jump to a chain that does either, an unknown target
  anything) turns packets of one set into packets of another, so a piece (cube) of an
  earlier decider's under-set only keeps counting when it says nothing of the
  rewritten fields, or when no packet the rewriting rule may match has the rest of its
  fields.  That is what `_surviving` keeps.
- `seen`: for each rule that ends evaluation, the packets that may reach it and may
  match it (its over-set minus `decided`): what `redundant()` starts from.

Nothing here depends on how the chain is entered: every packet may come in, so a
claim holds whichever chain jumps here.  Over-sets may contain impossible packets (a
port on an ICMP packet): that only makes fewer claims.

Scale.  A chain's rules are indexed by their most selective field (`OverlapIndex`:
destination prefix, port, interface...), so a rule is compared only with the rules
that can overlap it; a kube-proxy chain of thousands of `-d IP/32` rules costs one
dictionary lookup per rule.  Most of such a dump is tens of thousands of chains of
one to four rules, so nothing is computed before it is asked for: a rule at the head
of a chain that decides nothing and plainly matches some packet is passed without its
bounds, a rule's bounds and effect are computed on first use, and what a jump may
rewrite only after a rule that decides (`PerRule`, `_RewritesOnDemand`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from iptlint import collector, extensions
from iptlint.semantics.models import ModelContext, match_bounds, rule_bounds
from iptlint.semantics.models.basics import option_bounds
from iptlint.semantics.packets import FIELD_NAMES, Bounds, Cube, IntervalSet, PacketSet, domain
from iptlint.syntax.ast import Chain, Family, Match, Option, Rule, Ruleset, Table, TargetKind, fast_constructor

T = TypeVar("T")
ALL_FIELDS = frozenset(FIELD_NAMES)
CONNTRACK_FIELDS = frozenset({"ct_state", "ct_snat", "ct_dnat", "ct_orig_dst", "ct_orig_dport", "ct_mark"})
_NOTHING: frozenset[str] = frozenset()
_NO_CHAINS: Mapping[tuple[str, str], frozenset[str]] = {}  # `target_effect` knowing no chain: a jump rewrites anything
# Target kinds for the per-rule loops: reading a member off an Enum class is a descriptor call.
_VERDICT, _EXTENSION, _CHAIN = TargetKind.VERDICT, TargetKind.EXTENSION, TargetKind.CHAIN

# Non-terminal targets that change a field of the packet model for the rules after them.
# LOG, NFLOG, TOS, TTL, DSCP, CLASSIFY, TCPMSS... change nothing the model reads.
REWRITTEN_FIELDS: dict[str, frozenset[str]] = {
    "MARK": frozenset({"mark"}),
    "HMARK": frozenset({"mark"}),
    "CONNMARK": frozenset({"mark", "ct_mark"}),  # --restore-mark writes the packet mark
    "CT": CONNTRACK_FIELDS,
    "NOTRACK": CONNTRACK_FIELDS,
    "ECN": frozenset({"tcp_flags"}),  # --ecn-tcp-remove clears ECE and CWR
    "SNPT": frozenset({"src"}),
    "DNPT": frozenset({"dst"}),
    "SET": ALL_FIELDS,  # changes the contents of ipsets, hence what `-m set` matches
}

# The fields a rule can be indexed by (interval fields only), most useful first on a tie.
INDEX_FIELDS = ("dst", "src", "dport", "sport", "in_iface", "out_iface", "ct_orig_dst", "ct_orig_dport", "icmp_type")
_INDEXED = frozenset(INDEX_FIELDS)
_MAX_INDEX_INTERVALS = 8  # beyond this, a rule is indexed by the hull of its values
_MAX_EXPLAINED_PARTS = 4
_LARGE_RULESET = 20_000  # rules; from here on the walk's objects are frozen for the collector
_MAX_PRUNED_DECIDERS = 12
_MAX_DECIDING_RULES = 64  # rules of a user chain read to learn what a jump there certainly decides
_MAX_DECIDING_CHAIN = 64  # rules; longer user chains are not asked what they certainly decide  # beyond this, every decider found is kept (pruning is quadratic)


# ---------------------------------------------------------------------------------------
# What a target does in its chain
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Effect:
    """What a rule does to a packet it matches, as far as the rest of its chain can tell.

    `ends`: evaluation of this chain always stops there.  `rewrites`: the modelled
    fields it may change on a packet that goes on.  `acts`: it does anything at all
    (False only for a rule without a target, which just counts packets).
    """

    ends: bool
    rewrites: frozenset[str] = frozenset()
    acts: bool = True


NO_TARGET = Effect(ends=False, acts=False)
ENDS = Effect(ends=True)
CONTINUES = Effect(ends=False)


def target_effect(rule: Rule, chain_rewrites: Mapping[tuple[str, str], frozenset[str]]) -> Effect:
    """The effect of a rule's target; `chain_rewrites` gives what a jump to each chain may rewrite."""
    target = rule.target
    if target is None:
        return NO_TARGET
    kind = target.kind
    if target.goto or kind is _VERDICT:
        return ENDS
    if kind is _CHAIN:
        return _continues(chain_rewrites.get((rule.table, target.name), ALL_FIELDS))
    if kind is _EXTENSION:
        return _extension_effect(target.name)
    return _continues(ALL_FIELDS)  # a target iptlint does not know


@functools.cache
def _extension_effect(name: str) -> Effect:
    """The effect of `-j name` for a target extension, from its table (looked up once per name)."""
    extension = extensions.find("target", name)
    if extension is None:
        return _continues(ALL_FIELDS)  # a target iptlint does not know
    if extension.terminal:
        return ENDS
    return _continues(REWRITTEN_FIELDS.get(name, frozenset()))


@functools.cache
def _continues(rewritten: frozenset[str]) -> Effect:
    """The effect of a target after which evaluation goes on, one object per set of fields
    (a kube-proxy dump jumps to tens of thousands of chains that all rewrite the mark)."""
    return Effect(ends=False, rewrites=rewritten) if rewritten else CONTINUES


def chain_rewrites(ruleset: Ruleset) -> Mapping[tuple[str, str], frozenset[str]]:
    """(table, chain) -> the fields a packet may have changed when it comes back from a jump there.

    The non-terminal targets of the chain and, through `-j` and `-g`, of every chain it
    leads to (a goto returns to the caller of the chain that went); a jump to a chain
    the table lacks may change anything.  Propagated from callee to callers with a
    worklist, so each jump is followed once per change (few: there are few fields).
    A table's are computed when first asked (`_RewritesOnDemand`).
    """
    return _RewritesOnDemand(ruleset)


class _RewritesOnDemand(Mapping[tuple[str, str], frozenset[str]]):
    """`chain_rewrites`, each table's computed on the first question about one of its chains.

    The walk asks what a jump rewrites only after a rule that certainly decides some
    packets, and a kube-proxy nat table (40,000 chains) has none: it is never computed.
    A table written twice: a chain of both blocks has the later block's answer, as when
    the tables were read in one pass.
    """

    def __init__(self, ruleset: Ruleset) -> None:
        self._tables: dict[str, list[Table]] = {}
        for table in ruleset.tables:
            self._tables.setdefault(table.name, []).append(table)
        self._known: dict[str, dict[str, frozenset[str]]] = {}

    def _table(self, name: str) -> dict[str, frozenset[str]]:
        found = self._known.get(name)
        if found is None:
            found = self._known[name] = {}
            for table in self._tables.get(name, ()):
                found.update(_table_rewrites(table))
        return found

    def __getitem__(self, key: tuple[str, str]) -> frozenset[str]:
        table, chain = key
        return self._table(table)[chain]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((name, chain) for name in self._tables for chain in self._table(name))

    def __len__(self) -> int:
        return sum(len(self._table(name)) for name in self._tables)


def _table_rewrites(table: Table) -> dict[str, frozenset[str]]:
    """`chain_rewrites` within one table (jumps never leave it), by chain name."""
    declared = {chain.name for chain in table.chains}
    result: dict[str, frozenset[str]] = {}
    callers: dict[str, list[str]] = {}
    for chain in table.chains:
        fields = _NOTHING
        for rule in chain.rules:
            target = rule.target
            if target is None:
                continue
            if target.kind is _CHAIN and target.name in declared:
                found = callers.get(target.name)
                if found is None:
                    callers[target.name] = [chain.name]
                else:
                    found.append(chain.name)
                continue
            rewritten = target_effect(rule, _NO_CHAINS).rewrites  # a jump to no chain of the table: anything
            if not rewritten <= fields:
                fields = fields | rewritten if fields else rewritten
        result[chain.name] = fields
    # Sets are shared, not copied, while a caller has nothing of its own: tens of thousands
    # of kube-proxy chains come to rewrite just what KUBE-MARK-MASQ does.
    pending = [name for name, fields in result.items() if fields]
    while pending:
        callee = pending.pop()
        added = result[callee]
        for caller in callers.get(callee, ()):
            known = result[caller]
            if not added <= known:
                result[caller] = known | added if known else added
                pending.append(caller)
    return result


def same_action(first: Rule, second: Rule) -> bool:
    """Whether two rules do the same to a packet: the same target, options and goto flag."""
    if first.target is None or second.target is None:
        return False
    return first.key()[2] == second.key()[2]


# ---------------------------------------------------------------------------------------
# The overlap index
# ---------------------------------------------------------------------------------------


@functools.cache
def _domain_size(field: str, family: Family) -> int:
    return domain(field, family).size()


def _projection(packets: PacketSet, field: str) -> IntervalSet | None:
    """The values of `field` over the set, None when it is unconstrained (the whole domain)."""
    if len(packets.cubes) == 1:
        return packets.cubes[0].get(field)  # type: ignore[return-value]
    values = packets.field_values(field)
    return None if values == domain(field, packets.family) else values  # type: ignore[return-value]


def _index_key(packets: PacketSet) -> tuple[str | None, tuple[tuple[int, int], ...]]:
    """The most selective field of a set and its values (as few intervals), or (None, ())."""
    family = packets.family
    if len(packets.cubes) == 1:  # the usual case: read the constrained fields only
        candidates = [(field, values) for field, values in packets.cubes[0].items if field in _INDEXED]
    else:
        candidates = [(field, _projection(packets, field)) for field in INDEX_FIELDS]
    best: tuple[float, str, IntervalSet] | None = None
    for field, values in candidates:
        if values is None or values.is_empty():
            continue
        share = values.size() / _domain_size(field, family)
        if best is None or share < best[0]:
            best = (share, field, values)
    if best is None:
        return None, ()
    return best[1], _coarse(best[2])


def _coarse(values: IntervalSet) -> tuple[tuple[int, int], ...]:
    intervals = values.intervals
    if len(intervals) > _MAX_INDEX_INTERVALS:
        return ((intervals[0][0], intervals[-1][1]),)
    return intervals


class OverlapIndex:
    """Packet sets by their most selective field, to find those that may overlap a set.

    Each set is filed under one field, as aligned blocks of that field's values: an
    interval [lo, hi] lies in the block `lo >> level` of size 2**level, where `level`
    is the bit length of `lo ^ hi` (a CIDR network is exactly one block).  A query
    looks up, level by level, the blocks its own values meet.  Sets that constrain no
    indexed field are "wide" and always candidates.  `query` answers a superset of the
    overlapping entries; callers test the real overlap.
    """

    def __init__(self) -> None:
        self._fields: dict[str, dict[int, dict[int, list[int]]]] = {}
        self._wide: list[int] = []

    def is_empty(self) -> bool:
        return not self._fields and not self._wide

    def add(self, entry: int, packets: PacketSet) -> None:
        if packets.is_empty():
            return
        field, intervals = _index_key(packets)
        if field is None:
            self._wide.append(entry)
            return
        levels = self._fields.setdefault(field, {})
        for lo, hi in intervals:
            level = (lo ^ hi).bit_length()
            levels.setdefault(level, {}).setdefault(lo >> level, []).append(entry)

    def query(self, packets: PacketSet) -> set[int]:
        """Every entry that may overlap `packets` (and maybe a few more)."""
        found = set(self._wide)
        if packets.is_empty():
            return found
        for field, levels in self._fields.items():
            values = _projection(packets, field)
            if values is None:
                found.update(entry for blocks in levels.values() for entries in blocks.values() for entry in entries)
                continue
            wanted = _coarse(values)
            for level, blocks in levels.items():
                for lo, hi in wanted:
                    first, last = lo >> level, hi >> level
                    if last - first < len(blocks):
                        for block in range(first, last + 1):
                            found.update(blocks.get(block, ()))
                    else:
                        for block, entries in blocks.items():
                            if first <= block <= last:
                                found.update(entries)
        return found


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeverMatches:
    """A rule that no packet can match where it stands.

    Either earlier rules decide every packet it could match (`deciders`, in order), or
    its own conditions contradict (`conflict`: the texts of the parts that do).
    """

    rule: Rule
    deciders: tuple[Rule, ...] = ()
    conflict: tuple[str, ...] = ()

    @property
    def contradicts_itself(self) -> bool:
        return not self.deciders


@dataclass(frozen=True, slots=True)
class Redundancy:
    """A rule whose removal changes no verdict for any packet.

    The packets that may reach and match it would be decided the same way by `witnesses`
    (later rules with the same target) or, when `by_end` is set, by the policy of its
    built-in chain, with nothing in between that might act on them.
    """

    rule: Rule
    witnesses: tuple[Rule, ...]
    by_end: bool


@dataclass(frozen=True, slots=True)
class ChainReach:
    """The walk of one chain: per rule (by position) its bounds and effect, and what it found."""

    table: str
    chain: Chain
    bounds: Sequence[Bounds]  # computed on first use
    effects: Sequence[Effect]  # computed on first use
    never: Mapping[int, NeverMatches]  # position -> why
    seen: Mapping[int, PacketSet]  # position of a rule that ends evaluation -> packets it may decide
    index: OverlapIndex | None  # the rules after the first that ends evaluation; None: no such rule

    def redundancies(self) -> Iterator[Redundancy]:
        """Rules that end evaluation and whose removal changes no verdict (see `Redundancy`)."""
        for position, packets in self.seen.items():
            found = self._redundancy(position, packets)
            if found is not None:
                yield found

    def _redundancy(self, position: int, remaining: PacketSet) -> Redundancy | None:
        rules = self.chain.rules
        rule = rules[position]
        witnesses: list[Rule] = []
        candidates = self.index.query(remaining) if self.index is not None else ()
        for later in sorted(entry for entry in candidates if entry > position):
            if not self.bounds[later].over.overlaps(remaining):
                continue
            other = rules[later]
            never = self.never.get(later)
            if never is not None and (same_action(rule, other) or all(d is not rule for d in never.deciders)):
                continue  # matches nothing with or without this rule, or does the same
            if not self.effects[later].acts:
                continue
            if not same_action(rule, other):
                return None
            under = self.bounds[later].under
            if under.overlaps(remaining):
                remaining = remaining - under
                witnesses.append(other)
                if remaining.is_empty():
                    return Redundancy(rule, tuple(witnesses), by_end=False)
        if self._end_does_the_same(position):
            return Redundancy(rule, tuple(witnesses), by_end=True)
        return None

    def _end_does_the_same(self, position: int) -> bool:
        """Whether a packet falling off the end of the chain gets what the rule gives it.

        Only built-in chains count: their policy decides (RETURN there applies it too).  The
        end of a user chain returns, but a RETURN there is not claimed redundant: tools
        write RETURNs first so that the rules they append later stay behind them (Docker's
        `-A DOCKER -i docker0 -j RETURN`, ufw's logging chains).
        """
        target = self.chain.rules[position].target
        if target is None or target.goto or target.options or not self.chain.builtin:
            return False
        return target.name == "RETURN" or target.name == self.chain.policy


_ADDRESS_OPTIONS = frozenset({"-s", "-d"})


def _shared_first(rule: Rule) -> tuple[Option | Match, ...]:
    """The rule's condition nodes, comments left out, addresses last: the nodes most
    rules share (`-p tcp`, `-m tcp --dport 80`) come first, so prefixes repeat.

    One plain loop (asked once per rule: generators cost four times as much here)."""
    nodes: list[Option | Match] = []
    addresses: list[Option] = []
    for option in rule.basics:
        (addresses if option.name in _ADDRESS_OPTIONS else nodes).append(option)
    for match in rule.matches:
        if match.name != "comment":
            nodes.append(match)
    nodes += addresses
    return tuple(nodes)


class CachedConditions:
    """`rule_bounds`, with each distinct condition node and each distinct list of nodes computed once.

    `rule_bounds` is the intersection of the bounds of the rule's options and matches.
    The parser shares identical option and match nodes between rules (`-p tcp`, `-m tcp
    --dport 80` recur thousands of times), so each node's bounds are kept by identity,
    and so are those of each prefix of a rule's nodes (`_shared_first`), comments aside
    (a comment matches every packet).  One cache serves all the user chains of a table: a model may depend
    on the table and on the built-in chain (its hook), not on the name of a user chain.
    """

    def __init__(self, ctx: ModelContext) -> None:
        self.ctx = ctx
        self._nodes: dict[int, tuple[Option | Match, Bounds]] = {}  # the node keeps its id alive
        self._rules: dict[tuple[int, ...], Bounds] = {}

    def __call__(self, rule: Rule) -> Bounds:
        # Not kept by rule: the walk asks each rule once (`PerRule` keeps the answer).
        nodes = _shared_first(rule)
        return self._combined(nodes, tuple(map(id, nodes)))

    def _combined(self, nodes: tuple[Option | Match, ...], key: tuple[int, ...]) -> Bounds:
        """The intersection of the nodes' bounds, cached for every prefix of the node list."""
        found = self._rules.get(key)
        if found is None:
            if not nodes:
                found = Bounds.exactly(PacketSet.any(self.ctx.family))
            elif len(nodes) == 1:
                found = self._node(nodes[0])
            else:
                found = self._combined(nodes[:-1], key[:-1]) & self._node(nodes[-1])
            self._rules[key] = found
        return found

    def _node(self, node: Option | Match) -> Bounds:
        found = self._nodes.get(id(node))
        if found is None:
            found = self._nodes[id(node)] = (node, self._model(node))
        return found[1]

    def _model(self, node: Option | Match) -> Bounds:
        """The node's bounds; unknown (any packet might match, none surely does) when its
        model fails on a value it did not expect: a lint run goes on, and stays sound."""
        try:
            return option_bounds(node, self.ctx) if isinstance(node, Option) else match_bounds(node, self.ctx)
        except Exception:  # a model's bug must not stop the other checks
            return Bounds.unknown(self.ctx.family)


class _DecidedIn:
    """User chain name -> `chain_decides` of it, computed on first use (none for other names)."""

    def __init__(self, table: Table, conditions: CachedConditions) -> None:
        self.chains = {chain.name: chain for chain in table.chains}  # Table.chain() is a linear search
        self.conditions = conditions
        self.family = conditions.ctx.family
        self._known: dict[str, PacketSet] = {}

    def __call__(self, name: str) -> PacketSet:
        found = self._known.get(name)
        if found is None:
            chain = self.chains.get(name)
            if chain is None or chain.builtin:
                found = PacketSet.none(self.family)
            else:
                rules = chain.rules
                found = chain_decides(rules, lambda: map(self.conditions, rules), self.family)
            self._known[name] = found
        return found


class Reachability:
    """The walk of every chain of a ruleset, and the facts derived from it.

    Build once (`Analysis.reachability`); read `never_matches(rule)`, `chain(table,
    name)`, `redundancies`, `unreachable_chains`, `inert_chains`.
    """

    def __init__(self, ruleset: Ruleset, ipsets: Mapping | None = None) -> None:
        self.ruleset = ruleset
        large = sum(len(chain.rules) for table in ruleset.tables for chain in table.chains) >= _LARGE_RULESET
        with collector.paused(freeze=large):
            self._walk(ruleset, ipsets)

    def _walk(self, ruleset: Ruleset, ipsets: Mapping | None) -> None:
        rewrites = chain_rewrites(ruleset)
        self.chains: dict[tuple[str, str], ChainReach] = {}
        for table in ruleset.tables:
            shared = CachedConditions(ModelContext(ruleset.family, table.name, "", ipsets or {}))
            decided_in = _DecidedIn(table, shared)
            for chain in table.chains:
                # A user chain is read in the table's context, as `shared` computed its bounds.
                builtin = chain.builtin
                ctx = ModelContext(ruleset.family, table.name, chain.name, ipsets or {}) if builtin else shared.ctx
                conditions = CachedConditions(ctx) if builtin else shared
                self.chains[(table.name, chain.name)] = walk_chain(
                    table.name, chain, ctx, rewrites, conditions, decided_in
                )
        self._never = {id(found.rule): found for reach in self.chains.values() for found in reach.never.values()}

    def chain(self, table: str, name: str) -> ChainReach | None:
        return self.chains.get((table, name))

    def never_matches(self, rule: Rule) -> NeverMatches | None:
        return self._never.get(id(rule))

    @functools.cached_property
    def redundancies(self) -> tuple[Redundancy, ...]:
        with collector.paused():
            return tuple(found for reach in self.chains.values() for found in reach.redundancies())

    @functools.cached_property
    def unreachable_chains(self) -> dict[tuple[str, str], tuple[Rule, ...]]:
        """(table, user chain) -> the rules that name it, when none of them can send a packet there.

        A chain counts when every rule of another chain that jumps or goes to it never
        matches, or lies in a chain that is itself unreachable.  Chains no other chain
        names are left out (unused, not unreachable).  A worklist: each rule is
        looked at once when its chain turns out unreachable.
        """
        referrers: dict[tuple[str, str], list[Rule]] = {}
        for table in self.ruleset.tables:
            for chain in table.chains:
                for rule in chain.rules:
                    target = rule.target
                    if target is not None and target.kind is TargetKind.CHAIN and target.name != chain.name:
                        referrers.setdefault((table.name, target.name), []).append(rule)
        live = {key: sum(1 for rule in rules if self.never_matches(rule) is None) for key, rules in referrers.items()}
        pending = [key for key, count in live.items() if count == 0]
        found: dict[tuple[str, str], tuple[Rule, ...]] = {}
        while pending:
            key = pending.pop()
            found[key] = tuple(referrers[key])
            reach = self.chains.get(key)
            for rule in reach.chain.rules if reach is not None else ():
                callee = (key[0], rule.jump)
                if rule.jump is None or rule.jump == key[1] or self.never_matches(rule) is not None:
                    continue
                live[callee] -= 1  # a referrer in a chain never entered
                if live[callee] == 0:
                    pending.append(callee)
        return found

    @functools.cached_property
    def inert_chains(self) -> frozenset[tuple[str, str]]:
        """User chains that do nothing to any packet: every rule has no target, RETURNs, or
        jumps or goes to a chain that does nothing (a packet comes back as it went in).

        A worklist: a chain waits for the chains it jumps to; when its last one turns out
        inert, so does it.
        """
        waiting: dict[tuple[str, str], int] = {}  # chain -> its jumps to chains not yet known inert
        callers: dict[tuple[str, str], list[tuple[str, str]]] = {}
        pending = []
        for table in self.ruleset.tables:
            for chain in table.chains:
                key = (table.name, chain.name)
                if chain.builtin or not all(_inert_or_jump(rule) for rule in chain.rules):
                    continue
                jumps = [(table.name, rule.jump) for rule in chain.rules if rule.jump is not None]
                waiting[key] = len(jumps)
                for callee in jumps:
                    callers.setdefault(callee, []).append(key)
                if not jumps:
                    pending.append(key)
        found: set[tuple[str, str]] = set()
        while pending:
            key = pending.pop()
            found.add(key)
            for caller in callers.get(key, ()):
                waiting[caller] -= 1
                if waiting[caller] == 0:
                    pending.append(caller)
        return frozenset(found)


def _inert_or_jump(rule: Rule) -> bool:
    """A rule with no target, a RETURN, or a jump or goto to a user chain (inert if that chain is)."""
    target = rule.target
    if target is None:
        return True
    if target.kind is TargetKind.VERDICT:
        return target.name == "RETURN"
    return target.kind is TargetKind.CHAIN


# ---------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rewrite:
    position: int
    fields: frozenset[str]
    over: PacketSet


def walk_chain(
    table: str,
    chain: Chain,
    ctx: ModelContext,
    rewrites: Mapping[tuple[str, str], frozenset[str]],
    conditions: Callable[[Rule], Bounds] | None = None,
    decided_in: Callable[[str], PacketSet] | None = None,
) -> ChainReach:
    """Walk one chain in rule order (see the module docstring).

    `conditions` gives a rule's bounds (default `rule_bounds` in `ctx`; `Reachability`
    passes a cached one); `decided_in` gives, for a user chain of the table, the packets
    a jump there certainly never returns (default: none).
    """
    conditions = conditions or functools.partial(rule_bounds, ctx=ctx)
    rules = chain.rules
    bounds: Sequence[Bounds] = PerRule(rules, conditions)
    effects: Sequence[Effect] = PerRule(rules, functools.partial(target_effect, chain_rewrites=rewrites))
    decides: dict[int, PacketSet] = {}
    # Both indexes are made on first use: most chains of a large dump are a few rules
    # that need neither, and None stands for an index without entries.
    index: OverlapIndex | None = None  # the rules after the first one that ends the chain: for `redundancies`
    decider_index: OverlapIndex | None = None  # the rules that certainly decide some packets: for `_decide`
    events: list[_Rewrite] = []
    never: dict[int, NeverMatches] = {}
    seen: dict[int, PacketSet] = {}
    last = len(rules) - 1
    for position, rule in enumerate(rules):
        ends = _ends(rule)
        if decider_index is None and not seen and _nothing_to_learn(rule, ends, decided_in):
            continue  # nothing before decides, nothing after asks, and it cannot contradict itself
        over = bounds[position].over
        if over.is_empty():
            never[position] = NeverMatches(rule, conflict=explain_contradiction(rule, ctx))
            continue
        deciders, remaining = _decide(over, position, decider_index, decides, never, events)
        if seen:  # after a rule that ends the chain, never-matching rules too: `redundancies` asks
            if index is None:
                index = OverlapIndex()
            index.add(position, over)
        if remaining.is_empty():
            needed = _fewest(over, [(i, _surviving(decides[i], i, events)) for i in deciders])
            never[position] = NeverMatches(rule, deciders=tuple(rules[i] for i in needed))
            continue
        if position < last:  # what a rule certainly decides matters only to the rules after it
            decided = _certainly_decided(rule, bounds[position], ends, decided_in)
            if not decided.is_empty():  # an empty set is no decider: the index would not file it
                decides[position] = decided
                if decider_index is None:
                    decider_index = OverlapIndex()
                decider_index.add(position, decided)
        if ends:
            seen[position] = remaining
        elif decider_index is not None:  # a rewrite only matters to earlier deciders
            rewritten = effects[position].rewrites
            if rewritten:
                events.append(_Rewrite(position, rewritten, over))
    return _chain_reach(table, chain, bounds, effects, never, seen, index)


_chain_reach = fast_constructor(ChainReach)  # one per chain: tens of thousands in a kube-proxy dump


class PerRule(Sequence[T]):
    """A value for each rule of a chain (its bounds, its effect), computed on first use:
    many are never needed."""

    def __init__(self, rules: tuple[Rule, ...], compute: Callable[[Rule], T]) -> None:
        self._rules = rules
        self._compute = compute
        self._known: list[T | None] = [None] * len(rules)

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, position):  # type: ignore[override]
        if isinstance(position, slice):
            return [self[i] for i in range(*position.indices(len(self)))]
        found = self._known[position]
        if found is None:
            found = self._known[position] = self._compute(self._rules[position])
        return found


def _ends(rule: Rule) -> bool:
    """Whether evaluation of the chain always stops at the rule: its effect's `ends`, which
    does not depend on what a jump's chains rewrite (not asked here, see `_RewritesOnDemand`)."""
    return target_effect(rule, _NO_CHAINS).ends


def _nothing_to_learn(rule: Rule, ends: bool, decided_in: Callable[[str], PacketSet] | None) -> bool:
    """A rule that decides nothing itself (no verdict, no jump to a chain that decides) and
    whose conditions surely match something: at the head of a chain, its bounds are not needed."""
    if ends or not _plainly_satisfiable(rule):
        return False
    target = rule.target
    return target is None or target.kind is not _CHAIN or decided_in is None or decided_in(target.name).is_empty()


_PLAIN_OPTIONS = frozenset({"-s", "-d", "-i", "-o", "-p"})
_PORT_MATCHES = {"tcp": 6, "udp": 17}
_PORT_OPTIONS = frozenset({"--sport", "--dport"})


def _leaves_some(option: Option) -> bool:
    """Whether a negated option surely leaves some values of its field: `! -s 10.0.0.0/8`
    (every network but the whole space; kube-proxy's `! -s <pod range>` in each service)."""
    if option.name not in _ADDRESS_OPTIONS:
        return False
    network = getattr(option.value, "network", None)
    return network is not None and network.prefixlen > 0


def _plainly_satisfiable(rule: Rule) -> bool:
    """Whether the rule's conditions surely match some packet, read from the text alone.

    Distinct `-s -d -i -o -p`, non-negated or a negated network short of the whole
    space (each a non-empty set of one field), comments, and one `tcp`/`udp` match of
    the rule's own protocol with distinct, non-negated, non-reversed ports.  False says
    nothing (the walk computes the bounds then).  Asked of most rules of a dump, hence
    plain loops that stop at the first doubt.
    """
    names: set[str] = set()
    number = None  # the protocol's number, when `-p` names one
    for option in rule.basics:
        name = option.name
        if name not in _PLAIN_OPTIONS or name in names or (option.negated and not _leaves_some(option)):
            return False
        names.add(name)
        if name == "-p":
            number = getattr(option.value, "number", None)
    seen_ports = False
    for match in rule.matches:
        if match.name == "comment":
            continue
        if seen_ports or _PORT_MATCHES.get(match.name) != number:
            return False
        seen_ports = True
        port_options: set[str] = set()
        for option in match.options:
            name = option.name
            if option.negated or name not in _PORT_OPTIONS or name in port_options:
                return False
            port_options.add(name)
            if not option.value.lo <= option.value.hi:
                return False
    return True


def _certainly_decided(
    rule: Rule, bounds: Bounds, ends: bool, decided_in: Callable[[str], PacketSet] | None
) -> PacketSet:
    """The packets the rule certainly stops in this chain: its under-set if its target ends
    the chain; for a jump, the part of it the called chain certainly never returns."""
    if ends:
        return bounds.under
    callee = rule.jump
    if bounds.under.is_empty():
        return bounds.under  # nothing certain to start from (an empty set, kept: no new one)
    if callee is None or decided_in is None:
        return PacketSet.none(bounds.under.family)
    there = decided_in(callee)
    return there if there.is_empty() else bounds.under & there


def chain_decides(rules: tuple[Rule, ...], bounds: Callable[[], Iterable[Bounds]], family: Family) -> PacketSet:
    """The packets entering a user chain that certainly end with a verdict there (never come back).

    The under-sets of its rules whose target stops the traversal (ACCEPT, DROP, QUEUE, a
    terminal extension), up to the first rule that might return a packet, send it on
    (goto, jump) or change it (a rewrite, an unknown target): past that one, a packet
    might have left or changed, whatever the rule's conditions (they are not looked at,
    which keeps this cheap).  Rules without a target and targets that only observe (LOG,
    NFLOG...) are passed.  Only the first `_MAX_DECIDING_RULES` rules are read (a union
    of thousands of sets would cost more than it finds).  `bounds()` gives the rules' bounds, asked for only when a rule
    stops the traversal before any such rule.
    """
    decided = PacketSet.none(family)
    certain = tuple(itertools.islice(itertools.takewhile(_stops_or_observes, rules), _MAX_DECIDING_RULES))
    if not any(map(_stops_traversal, certain)):
        return decided
    for rule, bound in zip(certain, bounds(), strict=False):
        if _stops_traversal(rule):
            decided = decided | bound.under
    return decided


def _stops_or_observes(rule: Rule) -> bool:
    target = rule.target
    if target is None or _stops_traversal(rule):
        return True
    return target.kind is _EXTENSION and target_effect(rule, _NO_CHAINS) is CONTINUES


def _stops_traversal(rule: Rule) -> bool:
    """ACCEPT, DROP, QUEUE or a terminal extension: the packet leaves every chain of the table."""
    target = rule.target
    if target is None or target.goto:
        return False
    if target.kind is _VERDICT:
        return target.name != "RETURN"
    return target.kind is _EXTENSION and target_effect(rule, _NO_CHAINS).ends


def _decide(
    over: PacketSet,
    position: int,
    index: OverlapIndex | None,
    decides: Mapping[int, PacketSet],
    never: Mapping[int, NeverMatches],
    events: list[_Rewrite],
) -> tuple[list[int], PacketSet]:
    """The earlier rules that certainly decide part of `over`, and the part left undecided."""
    remaining = over
    deciders: list[int] = []
    if index is None:  # no earlier rule decides anything
        return deciders, remaining
    for earlier in sorted(index.query(over)):
        if earlier in never:
            continue
        under = _surviving(decides[earlier], earlier, events)
        if under.is_empty() or not under.overlaps(remaining):
            continue
        remaining = remaining - under
        deciders.append(earlier)
        if remaining.is_empty():
            break
    return deciders, remaining


def _fewest(over: PacketSet, deciders: list[tuple[int, PacketSet]]) -> list[int]:
    """A smaller list of deciders that still covers `over`: one alone if it can, else the
    list with each decider dropped in turn when the others still cover (for short lists)."""
    for position, under in deciders:
        if under.covers(over):
            return [position]
    if len(deciders) > _MAX_PRUNED_DECIDERS:
        return [position for position, _ in deciders]
    kept = list(deciders)
    for candidate in list(deciders):
        others = [entry for entry in kept if entry is not candidate]
        remaining = over
        for _, under in others:
            remaining = remaining - under
        if remaining.is_empty():
            kept = others
    return [position for position, _ in kept]


def _surviving(under: PacketSet, position: int, events: list[_Rewrite]) -> PacketSet:
    """The part of a decider's under-set that still describes packets after the later rewrites.

    A cube survives a rewrite of fields F by a rule that may match `over` when it says
    nothing of F, or when no packet of `over` agrees with it on the other fields: then
    no rewritten packet can land in it without having been in it before.
    """
    later = [event for event in events if event.position > position]
    if not later or under.is_empty():
        return under
    kept = [cube for cube in under.cubes if all(_survives(cube, event) for event in later)]
    if len(kept) == len(under.cubes):
        return under
    return PacketSet(under.family, tuple(kept))


def _survives(cube: Cube, event: _Rewrite) -> bool:
    constrained = set(cube.fields()) & event.fields
    if not constrained:
        return True
    cylinder = cube
    for field in constrained:
        cylinder = cylinder.assign(field, None)
    return not PacketSet(cube.family, (cylinder,)).overlaps(event.over)


# ---------------------------------------------------------------------------------------
# Explaining a contradiction
# ---------------------------------------------------------------------------------------


def explain_contradiction(rule: Rule, ctx: ModelContext) -> tuple[str, ...]:
    """The texts of the conditions that together match no packet, as few as the walk finds.

    One text: that condition alone matches nothing.  Two: they exclude each other.
    More: the conditions up to the one that empties their intersection.
    """
    parts = list(_condition_parts(rule, ctx))
    together = PacketSet.any(ctx.family)
    for last, (text, over) in enumerate(parts):
        if over.is_empty():
            return (text,)
        if not together.overlaps(over):
            for earlier_text, earlier in parts[:last]:
                if not earlier.overlaps(over):
                    return (earlier_text, text)
            return tuple(text for text, _ in parts[: last + 1])[-_MAX_EXPLAINED_PARTS:]
        together = together & over
    return tuple(text for text, _ in parts)[-_MAX_EXPLAINED_PARTS:]


def _condition_parts(rule: Rule, ctx: ModelContext) -> Iterable[tuple[str, PacketSet]]:
    for option in rule.basics:
        yield node_text(rule, option), option_bounds(option, ctx).over
    for match in rule.matches:
        yield node_text(rule, match), match_bounds(match, ctx).over


def node_text(rule: Rule, node: Option | Match) -> str:
    """The words of an option or a match as written in the rule (an implicit match: its options)."""
    if isinstance(node, Match) and node.token < 0:
        return " ".join(node_text(rule, option) for option in node.options) or node.name
    first, width = node.token, max(node.width, 1)
    offsets = rule.offsets
    if first < 0 or 2 * (first + width) > len(offsets):
        return node.name
    return rule.text[offsets[2 * first] : offsets[2 * (first + width) - 1]]


# ---------------------------------------------------------------------------------------
# Words for messages
# ---------------------------------------------------------------------------------------

_PARTICIPLES = {"ACCEPT": "accepted", "DROP": "dropped", "REJECT": "rejected", "RETURN": "returned", "QUEUE": "queued"}


def action_words(rule: Rule) -> str:
    """What a rule that ends evaluation does to a packet, as a participle: `accepted`,
    `sent to LOGDROP for good (-g)`, `given to DNAT`."""
    target = rule.target
    if target is None:
        return "counted"
    if target.goto:
        return f"sent to {target.name} for good (-g)"
    if target.kind is TargetKind.CHAIN:
        return f"decided in {target.name}"
    return _PARTICIPLES.get(target.name, f"given to {target.name}")


def common_action_words(rules: Iterable[Rule]) -> str:
    """The participle shared by all `rules`, or `decided` when they differ."""
    words = {action_words(rule) for rule in rules}
    return words.pop() if len(words) == 1 else "decided"


def line_list(rules: tuple[Rule, ...], shown: int = 4) -> str:
    """`line 12`, `lines 12 and 14`, `lines 3, 5, 8, 9 and 4 more`."""
    lines = [str(rule.line) for rule in rules]
    if len(lines) == 1:
        return f"line {lines[0]}"
    if len(lines) > shown:
        return f"lines {', '.join(lines[:shown])} and {len(lines) - shown} more"
    return f"lines {', '.join(lines[:-1])} and {lines[-1]}"
