"""`iptlint diff` for large rulesets: compare chain by chain, walk only where they differ.

The cells method of `iptlint.semantics.diff` walks one probe per cell of every field the
rules name: on a kube-proxy dump (100,000 rules, 10,000 cluster IPs, 30,000 pod
addresses) that is far more probes than any bound allows, and each walk scans chains
of 10,000 rules.  This module compares the two rulesets as programs instead:

1. **Chain shapes.**  A chain written the same in both dumps under one name, calling
   only such chains, behaves the same (`dirty_chains` finds the others).  The others
   get an identifier that depends on what they do and not on their names: the policy
   (built-in chains), and per rule the rule's text after `-A CHAIN` with the name of a
   jumped-to chain replaced by that chain's own identifier (computed bottom-up, shared
   by both dumps).  Two chains with the same identifier treat every packet alike, so a
   renamed chain or a subtree copied under new names is no change and is never walked.
2. **Changed chains (sites).**  From each built-in chain, both dumps are descended
   together: where the two chains have the same identifier, nothing below differs;
   where they have the same rules but some jump into chains that differ, the descent
   follows those jumps; anywhere else (a rule added, removed, moved or respelled, a
   policy changed) the pair is a *site*, recorded with the jump rules that lead to it.
3. **Regions.**  Only packets that reach a site can be treated differently.  The jump
   rules leading to it give an over-approximation of them (`Bounds.over` of each
   condition), on the fields no earlier rule can have rewritten (destination NAT in an
   earlier table frees `dst`/`dport`, source NAT `src`/`sport`); a site in nat holds
   for NEW packets and the ESTABLISHED/RELATED ones that replay the translation only.
   Every packet outside every region is treated alike by both dumps: this is exact.
4. **Walks in the region.**  For each region and path (to, through, from the host), the
   rulesets are pruned to the chains and rules a packet of the region can meet (a rule
   whose condition cannot hold in the region is skipped by the walk anyway; big chains
   are indexed by `-d` and `--dport`; after DNAT the destination widens to the
   `--to-destination` values kept), and one probe per cube of the region is walked on
   both sides.  When they differ, the region is reported as a change with that
   example, marked `exact=False`: every packet that may be treated differently is
   inside it, the outcomes shown are the example's, and other packets of the region
   may differ in other ways.  When the representatives agree, the region falls back to the cells
   method on the pruned rulesets (exact, within the walk bound).

`-m statistic --mode random` (kube-proxy's choice of endpoint): a walk that stops at
such a rule is walked again for each way the choice can go (the random rules that
follow one another in the chain are one choice: the i-th taken, or none), weighted by
the probabilities, so an outcome is the distribution of the endpoints a connection may
be sent to ("ACCEPT to 10.244.1.5:8080 (33.3%) or ...").  Two distributions compare equal
when they give the same outcomes with the same shares (to three significant digits),
so reordering the endpoints with matching probabilities is no change, and replacing
one endpoint is.
"""

from __future__ import annotations

import bisect
import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iptlint import collector
from iptlint.semantics import packets as p
from iptlint.semantics import walk as walk_module
from iptlint.semantics.models import ModelContext
from iptlint.semantics.packets import IntervalSet, PacketSet
from iptlint.syntax.ast import Chain, Family, Rule, Ruleset, TargetKind

SCALE_RULES = 20_000  # rules of both dumps together above which `auto` compares chain by chain
CELLS_RULES = 2_000  # ... and below which `auto` keeps the cells even when it must sample them
MAX_SITES = 20_000
MAX_BRANCHES = 64  # leaves of one probe's statistic branches
MAX_REPRESENTATIVE_CUBES = 4
INDEX_FROM = 48  # chains with more rules are indexed by destination
# Fields a region keeps: those the probe sets and only NAT rewrites (the rest are freed).
STABLE = frozenset({"in_iface", "src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "dst_local"})
_DESTINATION_FIELDS = ("dst", "dport", "dst_local")
_SOURCE_FIELDS = ("src", "sport")
NAT_STATES = ("NEW", "ESTABLISHED", "RELATED")


# ---------------------------------------------------------------------------------------
# Chain shapes
# ---------------------------------------------------------------------------------------


def rule_text_key(rule: Rule) -> Any:
    """The rule as written after `-A CHAIN`, without the name of a jumped-to chain.

    Two rules with the same key (and jumps to chains of the same shape) are the same
    rule.  Lines not written as `-A CHAIN ...` fall back to `Rule.key()`.
    """
    text, offsets = rule.text, rule.offsets
    words = len(offsets) // 2
    first = 0
    if words and text[offsets[0] : offsets[1]].startswith("["):
        first = 1  # `[packets:bytes] -A ...`
    if words < first + 2 or text[offsets[2 * first] : offsets[2 * first + 1]] not in ("-A", "--append"):
        return ("key", rule.key(), rule.target.goto if rule.target is not None else False)
    start = offsets[2 * (first + 1) + 1]
    target = rule.target
    if (
        target is not None
        and target.kind is TargetKind.CHAIN
        and target.token >= 0
        and 2 * target.token + 3 < len(offsets)
    ):
        name = target.token + 1
        return text[start : offsets[2 * name]] + "\0" + text[offsets[2 * name + 1] :]
    return text[start:]


@dataclass
class Shapes:
    """Identifiers of chain shapes, shared by the dumps compared (equal ids: equal behaviour)."""

    interned: dict[Any, int] = field(default_factory=dict)

    def of_ruleset(self, ruleset: Ruleset) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for table in ruleset.tables:
            chains = {chain.name: chain for chain in table.chains}
            for chain in table.chains:
                self._shape(table.name, chain, chains, found, set())
        return found

    def _shape(self, table: str, chain: Chain, chains: Mapping[str, Chain], found: dict, active: set) -> int:
        key = (table, chain.name)
        if key in found:
            return found[key]
        if chain.name in active or len(active) > walk_module.MAX_DEPTH:
            return self._intern(("named", table, chain.name))  # a cycle: compared by name
        active.add(chain.name)
        parts = []
        for rule in chain.rules:
            child = None
            target = rule.target
            if target is not None and target.kind is TargetKind.CHAIN:
                jumped = chains.get(target.name)
                child = self._shape(table, jumped, chains, found, active) if jumped is not None else target.name
            parts.append((rule_text_key(rule), child))
        active.discard(chain.name)
        head = (table, chain.name, chain.policy) if chain.builtin or chain.policy is not None else (table,)
        found[key] = self._intern((head, tuple(parts)))
        return found[key]

    def _intern(self, key: Any) -> int:
        return self.interned.setdefault(key, len(self.interned))


# ---------------------------------------------------------------------------------------
# Sites: where the two dumps differ
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """A pair of chains that differ, reached from built-in chain `hook` of `table` by `path_rules`."""

    table: str
    hook: str
    chain: str  # its name in NEW (in OLD when NEW lacks it)
    path_rules: tuple[Rule, ...]  # the jump rules leading there (the same in both dumps)


class TooManySites(Exception):
    """The dumps differ in too many places for the chains method."""


def _same_rules(mine: Chain, theirs: Chain) -> bool:
    """Whether the two chains' rules are written the same (their positions then mean the same rules)."""
    return len(mine.rules) == len(theirs.rules) and all(
        x.text == y.text for x, y in zip(mine.rules, theirs.rules, strict=True)
    )


def dirty_chains(mine: Mapping[str, Chain], theirs: Mapping[str, Chain]) -> set[str]:
    """Names of the chains of one table that may behave differently under the same name.

    A chain whose rules are written the same in both dumps, and that calls only such
    chains, behaves the same: the rest are "dirty" (changed, missing on one side, or
    calling a dirty chain).  Only dirty chains need shapes (a clean chain is its own
    counterpart), which keeps the comparison of 40,000 chains cheap.
    """
    dirty = set()
    for name in mine.keys() | theirs.keys():
        a, b = mine.get(name), theirs.get(name)
        if a is None or b is None or a.policy != b.policy or not _same_rules(a, b):
            dirty.add(name)
    callers: dict[str, set[str]] = {}
    chain_target = TargetKind.CHAIN
    # A clean chain jumps to the same chains on both sides: its rules are read once.
    for chain in (*mine.values(), *(c for name, c in theirs.items() if name in dirty)):
        name = chain.name
        for rule in chain.rules:
            target = rule.target
            if target is not None and target.kind is chain_target:
                callers.setdefault(target.name, set()).add(name)
    pending = list(dirty)
    while pending:
        for caller in callers.get(pending.pop(), ()):
            if caller not in dirty:
                dirty.add(caller)
                pending.append(caller)
    return dirty


@dataclass
class _Sides:
    """One table of both dumps, with lazily computed shapes (internal)."""

    table: str
    chains: tuple[dict[str, Chain], dict[str, Chain]]
    dirty: set[str]
    shapes: Shapes
    found: tuple[dict, dict] = field(default_factory=lambda: ({}, {}))

    def same(self, mine: Chain | None, theirs: Chain | None) -> bool:
        """Whether the two chains surely behave alike (same name and clean, or, renamed, the same shape)."""
        if mine is None or theirs is None:
            return False
        if mine.name == theirs.name:  # dirty under one name: the descent compares it rule by rule
            return mine.name not in self.dirty
        left = self.shapes._shape(self.table, mine, self.chains[0], self.found[0], set())
        right = self.shapes._shape(self.table, theirs, self.chains[1], self.found[1], set())
        return left == right


def find_sites(old: Ruleset, new: Ruleset) -> list[Site]:
    shapes = Shapes()
    sites: list[Site] = []
    tables = sorted({t.name for t in old.tables} | {t.name for t in new.tables})
    for table in tables:
        old_table, new_table = old.table(table), new.table(table)
        old_chains = {c.name: c for c in old_table.chains} if old_table else {}
        new_chains = {c.name: c for c in new_table.chains} if new_table else {}
        sides = _Sides(table, (old_chains, new_chains), dirty_chains(old_chains, new_chains), shapes)
        builtins = sorted(
            {c.name for c in old_chains.values() if c.builtin} | {c.name for c in new_chains.values() if c.builtin}
        )
        for hook in builtins:
            _descend(sides, hook, old_chains.get(hook), new_chains.get(hook), (), sites, frozenset())
    return sites


def _descend(sides: _Sides, hook: str, mine, theirs, path_rules, sites, active) -> None:
    if sides.same(mine, theirs):
        return
    name = (theirs or mine).name

    def site() -> None:
        sites.append(Site(sides.table, hook, name, path_rules))
        if len(sites) > MAX_SITES:
            raise TooManySites

    if (
        mine is None
        or theirs is None
        or mine.policy != theirs.policy
        or len(mine.rules) != len(theirs.rules)
        or (mine.name, theirs.name) in active
        or len(active) > walk_module.MAX_DEPTH
    ):
        site()
        return
    pairs = list(zip(mine.rules, theirs.rules, strict=True))
    if any(a.text != b.text and rule_text_key(a) != rule_text_key(b) for a, b in pairs):
        site()
        return
    inner = active | {(mine.name, theirs.name)}
    for a, b in pairs:
        if a.jump is None or b.jump is None:
            continue
        left, right = sides.chains[0].get(a.jump), sides.chains[1].get(b.jump)
        if sides.same(left, right):
            continue
        _descend(sides, hook, left, right, (*path_rules, b), sites, inner)


# ---------------------------------------------------------------------------------------
# Regions: the packets that can reach a site
# ---------------------------------------------------------------------------------------


def table_writes(rulesets: Sequence[Ruleset]) -> dict[tuple[str, str], frozenset[str]]:
    """(hook, table) -> the stable fields its targets may rewrite (NAT only; by hook)."""
    names: dict[str, set[str]] = {}
    for ruleset in rulesets:
        for table in ruleset.tables:
            seen = names.setdefault(table.name, set())
            for chain in table.chains:
                for rule in chain.rules:
                    if rule.target is not None:
                        seen.add(rule.target.name)
    writes: dict[tuple[str, str], frozenset[str]] = {}
    for table, targets in names.items():
        for hook in ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"):
            fields: set[str] = set()
            if hook in ("PREROUTING", "OUTPUT") and targets & {"DNAT", "REDIRECT", "NETMAP"}:
                fields.update(_DESTINATION_FIELDS)
            if hook in ("POSTROUTING", "INPUT") and targets & {"SNAT", "MASQUERADE", "NETMAP"}:
                fields.update(_SOURCE_FIELDS)
            writes[(hook, table)] = frozenset(fields)
    return writes


def unstable_fields(path: str, hook: str, table: str, writes: Mapping[tuple[str, str], frozenset[str]]) -> set[str]:
    """The stable fields some earlier table on `path` may have rewritten before (hook, table)."""
    from iptlint.semantics.diff import _HOOKS

    fields: set[str] = set()
    for position in _HOOKS[path]:
        if position == (hook, table):
            break
        fields |= writes.get(position, frozenset())
    return fields


@dataclass
class _Conditions:
    """Each rule node's over-approximation, computed once for both dumps (internal).

    Kept in the comparison's `walk.WalkCache`, whose walks read the same conditions.
    """

    family: Family
    ipsets: Mapping[str, Any]
    shared: walk_module.WalkCache

    def overs(self, rule: Rule) -> Iterator[PacketSet]:
        known = self.shared.conditions
        for node in (*rule.basics, *rule.matches):
            key = (id(node), rule.table, rule.chain)
            found = known.get(key)
            if found is None:
                ctx = ModelContext(self.family, rule.table, rule.chain, self.ipsets)
                found = known[key] = (node, walk_module.condition_of(node, ctx))
            yield found[1].bounds.over

    def may_match(self, rule: Rule, region: PacketSet) -> bool:
        """False when no packet of `region` can match the rule (one condition excludes them all)."""
        return all(over.overlaps(region) for over in self.overs(rule))


def keep_fields(packets: PacketSet, keep: frozenset[str] | set[str]) -> PacketSet:
    for name in {n for cube in packets.cubes for n, _ in cube.items} - set(keep):
        packets = packets.assign(name, None)
    return packets


def site_region(site: Site, path: str, conditions: _Conditions, writes) -> PacketSet:
    """An over-approximation of the packets (as they enter) that reach the site on `path`."""
    keep = STABLE - unstable_fields(path, site.hook, site.table, writes)
    region = PacketSet.any(conditions.family)
    for rule in site.path_rules:
        for over in conditions.overs(rule):
            region &= keep_fields(over, keep)
            if region.is_empty():
                return region
    if site.table == "nat":
        states = IntervalSet.of(*((n, n) for n in (p.encode("ct_state", s, conditions.family) for s in NAT_STATES)))
        region = region.restrict("ct_state", states)
    return region


# ---------------------------------------------------------------------------------------
# Pruned rulesets: the rules a packet of a region can meet
# ---------------------------------------------------------------------------------------


def _dport_range(rule: Rule) -> tuple[int, int] | None:
    """The plain `--dport` range of the rule's tcp/udp/sctp match, if any."""
    for match in rule.matches:
        if match.name in ("tcp", "udp", "sctp", "udplite"):
            option = match.get("--dport")
            if option is not None and not option.negated and hasattr(option.value, "lo"):
                return option.value.lo, option.value.hi
    return None


def _dst_range(rule: Rule) -> tuple[int, int] | None:
    option = rule.destination
    network = getattr(option.value, "network", None) if option is not None and not option.negated else None
    return None if network is None else (int(network.network_address), int(network.broadcast_address))


_FEW = 16  # candidates from one index that need no other index to narrow them
_WIDE = 1 << 8  # an entry naming more values than this is searched linearly, not by bisection


@dataclass
class _Index:
    """Rules of a big chain by the range of one field they name (`-d` or `--dport`) (internal).

    Narrow entries (a /32, one port) are found by bisection over their starts, in a window
    as wide as the widest of them; the few wide ones (a /12 of a service CIDR, a node port
    range) are kept apart, or one of them would widen every window to the whole chain.
    """

    name: str
    starts: list[int]
    entries: list[tuple[int, int, int]]  # lo, hi, rule index (sorted by lo), the narrow ones
    widest: int  # of the narrow entries
    wide: list[tuple[int, int, int]]
    others: list[int]  # rules that do not name one range of the field

    @classmethod
    def of(cls, chain: Chain, name: str) -> _Index:
        read = _dst_range if name == "dst" else _dport_range
        entries, wide, others = [], [], []
        for index, rule in enumerate(chain.rules):
            found = read(rule)
            if found is None:
                others.append(index)
            else:
                (wide if found[1] - found[0] > _WIDE else entries).append((found[0], found[1], index))
        entries.sort()
        widest = max((hi - lo for lo, hi, _ in entries), default=0)
        return cls(name, [lo for lo, _, _ in entries], entries, widest, wide, others)

    def candidates(self, region: PacketSet) -> list[int] | None:
        """The rules that may name a value of the region; None when the region leaves the field free."""
        wanted = region.field_values(self.name)
        if not isinstance(wanted, IntervalSet) or wanted.covers(p.domain(self.name, region.family)):
            return None
        if len(wanted.intervals) > 64:
            return None
        found = set(self.others)
        for lo, hi in wanted.intervals:
            start = bisect.bisect_left(self.starts, lo - self.widest)
            stop = bisect.bisect_right(self.starts, hi)
            found.update(i for a, b, i in self.entries[start:stop] if b >= lo and a <= hi)
            found.update(i for a, b, i in self.wide if b >= lo and a <= hi)
        return sorted(found)


def _widened(region: PacketSet, name: str, values: IntervalSet | None) -> PacketSet:
    """The region after a rewrite of `name` to one of `values` (None: to anything) or not at all."""
    if values is None:
        return region.assign(name, None)
    cubes = []
    for cube in region.cubes:
        current = cube.get(name)
        cubes.append(cube if current is None else cube.assign(name, current.union(values)))
    return PacketSet.from_cubes(region.family, cubes)


def _rewrites(rules: Sequence[Rule], family: Family) -> dict[str, IntervalSet | None]:
    """What the destination NAT rules kept may write: field -> values (None: anything)."""
    found: dict[str, IntervalSet | None] = {}

    def add(name: str, lo: int | None, hi: int | None) -> None:
        if name in found and found[name] is None:
            return
        if lo is None:
            found[name] = None
            return
        piece = IntervalSet.span(lo, hi)
        found[name] = piece if name not in found else found[name].union(piece)

    for rule in rules:
        name = rule.target.name if rule.target is not None else ""
        if name == "DNAT":
            option = rule.target.get("--to-destination")
            nat = option.value if option is not None else None
            addresses = getattr(nat, "addresses", None)
            if addresses is None:
                add("dst", None, None)
            else:
                add("dst", p.encode("dst", str(addresses.lo), family), p.encode("dst", str(addresses.hi), family))
            ports = getattr(nat, "ports", None)
            if ports is not None:
                if ports.base is not None:
                    add("dport", None, None)
                else:
                    add("dport", ports.lo, ports.hi)
            add("dst_local", None, None)
        elif name in ("REDIRECT", "NETMAP"):
            for field_name in _DESTINATION_FIELDS:
                add(field_name, None, None)
    return found


@dataclass
class Pruner:
    """Builds, for a region, the ruleset holding only what a packet of it can meet.

    A rule left out is one whose conditions no packet of the region can meet where it
    stands: the walk of such a packet would pass it by (\"no match\") in the full ruleset
    too.  After destination NAT the region's destination is widened by the
    `--to-destination` values of the DNAT rules kept (REDIRECT and NETMAP free it).
    """

    ruleset: Ruleset
    conditions: _Conditions
    shared: dict[tuple[str, str, str], tuple[Chain, _Index]] = field(default_factory=dict)  # both sides'
    chains: dict[tuple[str, str], Chain] = field(default_factory=dict)
    order: dict[tuple[str, str], int] = field(default_factory=dict)
    indexes: dict[tuple[str, str, str], _Index] = field(default_factory=dict)
    builtins: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for table in self.ruleset.tables:
            self.builtins[table.name] = tuple(chain.name for chain in table.chains if chain.builtin)
            for position, chain in enumerate(table.chains):
                self.chains[(table.name, chain.name)] = chain
                self.order[(table.name, chain.name)] = position

    def _index(self, table: str, chain: Chain, name: str) -> _Index:
        """The chain's index by `name`, made on first use; the other side's when its rules read the same."""
        key = (table, chain.name, name)
        found = self.indexes.get(key)
        if found is None:
            other = self.shared.get(key)
            if other is not None and _same_rules(other[0], chain):
                found = other[1]
            else:
                found = _Index.of(chain, name)
                self.shared[key] = (chain, found)
            self.indexes[key] = found
        return found

    def _rules(self, table: str, chain: Chain, region: PacketSet) -> Sequence[int]:
        if len(chain.rules) > INDEX_FROM:
            chosen: set[int] | None = None
            for name in ("dst", "dport"):
                found = self._index(table, chain, name).candidates(region)
                if found is not None:
                    chosen = set(found) if chosen is None else chosen & set(found)
                    if len(chosen) <= _FEW:  # a superset is enough: `may_match` tells each rule
                        break
            if chosen is not None:
                return sorted(chosen)
        return range(len(chain.rules))

    def prune(self, path: str, region: PacketSet) -> Ruleset:
        from iptlint.semantics.diff import _HOOKS

        kept: dict[tuple[str, str], set[int]] = {}
        family = self.ruleset.family
        current = region
        for hook, table in _HOOKS[path]:
            local = keep_fields(current, STABLE)
            pending, seen = [hook], set()
            nat_rules: list[Rule] = []
            while pending:
                name = pending.pop()
                chain = self.chains.get((table, name))
                if chain is None or name in seen:
                    continue
                seen.add(name)
                chosen = kept.setdefault((table, name), set())
                for index in self._rules(table, chain, local):
                    rule = chain.rules[index]
                    if index in chosen or self.conditions.may_match(rule, local):
                        chosen.add(index)
                        if rule.jump is not None:
                            pending.append(rule.jump)
                        elif table == "nat" and hook in ("PREROUTING", "OUTPUT"):
                            nat_rules.append(rule)
            for name, values in _rewrites(nat_rules, family).items():
                current = _widened(current, name, values)
        tables = []
        for table in self.ruleset.tables:
            names = set(self.builtins.get(table.name, ()))
            names |= {name for (t, name) in kept if t == table.name}
            chains = []
            for name in sorted(names, key=lambda n: self.order.get((table.name, n), 0)):
                chain = self.chains.get((table.name, name))
                if chain is None:
                    continue
                chosen = kept.get((table.name, name), set())
                if table.name == "nat" and name == "POSTROUTING":  # Docker bridges are read from it
                    chosen = chosen | {
                        i
                        for i, r in enumerate(chain.rules)
                        if r.target is not None and r.target.name in ("MASQUERADE", "SNAT")
                    }
                chains.append(dataclasses.replace(chain, rules=tuple(chain.rules[i] for i in sorted(chosen))))
            tables.append(dataclasses.replace(table, chains=tuple(chains)))
        return dataclasses.replace(self.ruleset, tables=tuple(tables))


# ---------------------------------------------------------------------------------------
# Random choices: -m statistic --mode random
# ---------------------------------------------------------------------------------------


def random_match(rule: Rule):
    """The rule's `-m statistic --mode random` match, or None."""
    for match in rule.matches:
        if match.name == "statistic":
            mode = match.get("--mode")
            if mode is not None and "random" in mode.raw and match.get("--probability") is not None:
                return match
    return None


def match_probability(match) -> float:
    option = match.get("--probability")
    value = float(option.value if isinstance(option.value, (int, float)) else option.raw[-1])
    return 1.0 - value if option.negated else value


def random_branches(ruleset: Ruleset, rule: Rule) -> list[tuple[Ruleset, float]]:
    """The rulesets a random choice starting at `rule` leads to, with their probabilities.

    `rule` and the random rules right after it in its chain (kube-proxy's endpoints) are
    one choice: the i-th taken (the ones before it removed, its statistic match
    dropped), or none (all removed).  A taken rule whose other conditions fail simply
    passes the packet on, which is what the draw would do too.
    """
    chain = ruleset.chain(rule.table, rule.chain)
    rules = chain.rules if chain is not None else ()
    start = next((i for i, r in enumerate(rules) if r is rule), None)
    if chain is None or start is None:
        return []
    run = []
    for candidate in rules[start:]:
        match = random_match(candidate)
        if match is None:
            break
        run.append((candidate, match))
    branches: list[tuple[Ruleset, float]] = []
    left = 1.0
    for position, (candidate, match) in enumerate(run):
        chance = match_probability(match)
        taken = dataclasses.replace(candidate, matches=tuple(m for m in candidate.matches if m is not match))
        removed = {id(r) for r, _ in run[:position]}
        branches.append((_rewritten(ruleset, rule.table, chain, removed, candidate, taken), left * chance))
        left *= 1.0 - chance
    branches.append((_rewritten(ruleset, rule.table, chain, {id(r) for r, _ in run}, None, None), left))
    return [(branch, share) for branch, share in branches if share > 0]


def _rewritten(ruleset: Ruleset, table_name: str, chain: Chain, removed: set[int], old, new) -> Ruleset:
    """`ruleset` with the rules `removed` (ids) left out of `chain` and `old` replaced by `new`."""
    rules = tuple(new if r is old else r for r in chain.rules if id(r) not in removed)
    tables = tuple(
        table
        if table.name != table_name
        else dataclasses.replace(
            table, chains=tuple(dataclasses.replace(c, rules=rules) if c is chain else c for c in table.chains)
        )
        for table in ruleset.tables
    )
    return dataclasses.replace(ruleset, tables=tables)


def branch_outcome(ruleset: Ruleset, packet: Mapping[str, Any], local_addresses, ipsets, outcome_of_trace, cache=None):
    """The outcome of `packet`, random choices followed both ways; (Outcome, walks).

    `cache`: a `walk.WalkCache` shared by every walk of the comparison (the pruned and
    branched rulesets share the original's nodes, so their conditions are computed once).
    """
    from iptlint.semantics.diff import Outcome

    leaves: list[tuple[Any, float]] = []
    pending = [(ruleset, 1.0)]
    walks = 0
    first_choice: Rule | None = None
    while pending:
        current, share = pending.pop()
        trace = walk_module.walk(current, dict(packet), local_addresses=local_addresses, ipsets=ipsets, cache=cache)
        walks += 1
        step = trace.undetermined if trace.verdict == "UNKNOWN" else None
        match = random_match(step.rule) if step is not None and step.rule is not None else None
        if (
            match is not None
            and step.unknown == walk_module.match_text(match)
            and len(leaves) + len(pending) < MAX_BRANCHES
        ):
            branches = random_branches(current, step.rule)
            if branches:
                first_choice = first_choice or step.rule
                pending.extend((branch, share * chance) for branch, chance in branches)
                continue
        leaves.append((outcome_of_trace(ruleset, trace), share))
    if len(leaves) == 1:
        return leaves[0][0], walks
    merged: dict[tuple, list] = {}
    for outcome, share in leaves:
        entry = merged.setdefault(outcome.key, [outcome, 0.0])
        entry[1] += share
    choices = sorted(merged.values(), key=lambda e: (-round(e[1], 6), e[0].key))
    choices = [(o, s) for o, s in choices if s > 0]
    if len(choices) == 1:
        return choices[0][0], walks
    verdicts = {(o.verdict, o.arrived_at) for o, _ in choices}
    where = f"-m statistic at {ruleset.path}:{first_choice.line}" if first_choice is not None else "random"
    if len(verdicts) == 1:
        verdict, arrived = next(iter(verdicts))
        text = " or ".join(f"{o.destination or 'unchanged'} ({_share(s)})" for o, s in choices)
        return Outcome(verdict, arrived, text, None, where), walks
    text = " or ".join(
        f"{o.verdict}{' to ' + o.destination if o.destination else ''} ({_share(s)})" for o, s in choices
    )
    return Outcome("RANDOM", None, text, None, where), walks


def _share(value: float) -> str:
    return f"{100 * value:.3g}%"


# ---------------------------------------------------------------------------------------
# The comparison
# ---------------------------------------------------------------------------------------


def in_region(cube, packet: Mapping[str, Any]) -> bool:
    """Whether the packet's given fields lie in the cube (fields it leaves out count as inside)."""
    for name, constraint in cube.items:
        if name in packet and p.encode(name, packet[name], cube.family) not in constraint:
            return False
    return True


def representative(cube, path: str, family: Family, local_addresses: Sequence[str], bridges):
    """One probe of the cube on `path` (a `diff.Probe` marked inexact), or None when the path misses it."""
    from iptlint.semantics import diff as d

    packet: dict[str, Any] = {}
    defaults = d._DEFAULTS[family]

    def pick(name: str, preferred: Sequence[Any]) -> Any:
        constraint = cube.get(name)
        if constraint is None:
            return preferred[0]
        return d._pick(name, constraint, family, preferred)

    if path != "output":
        constraint = cube.get("in_iface")
        if constraint is None:
            packet["in_iface"] = d._DEFAULT_IN
        else:
            named = constraint.subtract(IntervalSet.point(p.name_index("")))
            if named.is_empty():
                return None
            packet["in_iface"] = d._name_pick("in_iface", named, family)
        packet["dst_local"] = path == "input"
    packet["src"] = pick("src", (defaults["src"], *d._NICE_ADDRESSES[family]))
    dst = cube.get("dst") or p.domain("dst", family)
    locals_ = [a for a in local_addresses if dst.contains(p.encode("dst", a, family))]
    if path == "input" and local_addresses:
        if not locals_:
            return None
        packet["dst"] = locals_[0]
    else:
        if path == "forward" and local_addresses:
            for address in local_addresses:
                dst = dst.subtract(IntervalSet.point(p.encode("dst", address, family)))
            if dst.is_empty():
                return None
        packet["dst"] = d._pick("dst", dst, family, (defaults["dst"], *d._NICE_ADDRESSES[family]))
    if path != "output" and d._routed_as(packet["dst"], bridges) not in (None, path):
        return None
    packet["proto"] = pick("proto", d._PREFERRED_PROTOCOLS)
    if packet["proto"] in d.PORT_PROTOCOLS:
        packet["sport"] = pick("sport", (d._DEFAULT_SPORT,))
        packet["dport"] = pick("dport", (d._DEFAULT_DPORT,))
    elif packet["proto"] in d.ICMP_PROTOCOLS:
        packet["icmp_type"] = pick("icmp_type", (d.PER_PROTOCOL["icmp_type"][1][packet["proto"]],))
        packet["icmp_code"] = pick("icmp_code", (0,))
    packet["ct_state"] = pick("ct_state", ("NEW", "ESTABLISHED"))
    if path == "output" and cube.get("dst_local") is not None and not local_addresses:
        packet["dst_local"] = bool(pick("dst_local", (True, False)))
    if not in_region(cube, packet):
        return None
    if "out_iface" in packet and d._in_bridge(packet.get("dst"), bridges):
        del packet["out_iface"]
    return d.Probe(path, tuple(packet.items()), tuple(cube.items), exact=False)


def restricted(plan, region: PacketSet):
    """The plan without the cells that lie outside the region."""
    blocks = []
    for block in plan.blocks:
        kept = []
        for name, cells in block:
            allowed = [cube.get(name) for cube in region.cubes]
            if any(c is None for c in allowed):
                kept.append((name, cells))
                continue
            chosen = tuple(
                cell for cell in cells if cell.constraint is None or any(cell.constraint.overlaps(a) for a in allowed)
            )
            kept.append((name, chosen))
        if all(cells for _, cells in kept):
            blocks.append(tuple(kept))
    return dataclasses.replace(plan, blocks=tuple(blocks))


@dataclass
class ChainsResult:
    """What the chains method found (see the module docstring)."""

    differing: list  # (Probe, old Outcome, new Outcome)
    walks: int
    exhaustive: bool
    sites: int
    regions: int
    fallback_regions: int


@collector.paused()
def chain_differences(
    old: Ruleset,
    new: Ruleset,
    *,
    local_addresses: Sequence[str],
    ipsets: Mapping[str, Any],
    max_walks: int,
    bridges,
    walk_addresses: Sequence[str] | None = None,
) -> ChainsResult:
    """The probes whose outcome differs, found chain by chain; raises TooManySites.

    `local_addresses` are plain addresses (probe destinations); `walk_addresses` the
    `--local-address` specs as given (`ADDR[/PREFIX][@IFACE]`) for the walks, by
    default the same.

    The cyclic garbage collector is paused meanwhile, as during a parse: the shapes and
    walks allocate many small objects, and each collection would walk the whole AST of
    both dumps (none of it cyclic).
    """
    from iptlint.semantics import diff as d

    walk_addresses = local_addresses if walk_addresses is None else walk_addresses
    family = old.family
    sites = find_sites(old, new)
    writes = table_writes((old, new))
    cache = walk_module.WalkCache(family, dict(ipsets or {}))
    conditions = _Conditions(family, ipsets, cache)
    indexes: dict = {}
    pruners = (Pruner(old, conditions, indexes), Pruner(new, conditions, indexes))
    regions: dict[str, dict[Any, PacketSet]] = {path: {} for path in d.PATHS}
    for site in sites:
        for path in d.PATHS:
            if (site.hook, site.table) not in d._HOOKS[path]:
                continue
            region = site_region(site, path, conditions, writes)
            if path != "output":  # the probes of these paths say whether the destination is the host's
                region = region.restrict("dst_local", IntervalSet.point(1 if path == "input" else 0))
            if not region.is_empty():
                regions[path].setdefault(region.cubes, region)
    differing: list = []
    walks, exhaustive, fallbacks, count = 0, True, 0, 0
    rng = __import__("random").Random(d.SAMPLE_SEED)

    def outcomes(pruned: tuple[Ruleset, Ruleset], packet) -> tuple[Any, Any]:
        nonlocal walks
        before, used = branch_outcome(pruned[0], packet, walk_addresses, ipsets, d.outcome_of_trace, cache)
        after, more = branch_outcome(pruned[1], packet, walk_addresses, ipsets, d.outcome_of_trace, cache)
        walks += used + more
        return before, after

    for path in d.PATHS:
        for region in regions[path].values():
            count += 1
            pruned = (pruners[0].prune(path, region), pruners[1].prune(path, region))
            found = False
            for cube in region.cubes:
                probe = representative(cube, path, family, local_addresses, bridges)
                if probe is None:
                    continue
                before, after = outcomes(pruned, probe.packet)
                if before.key != after.key:
                    differing.append((probe, before, after))
                    found = True
            if found:
                continue
            fallbacks += 1  # the examples agree: every cell of the region, exactly
            extra = [(name, constraint) for cube in region.cubes for name, constraint in cube.items]
            plan = restricted(d.plan_path(pruned, path, local_addresses, ipsets, bridges, extra=extra), region)
            budget = max(0, max_walks - walks) // 2
            if plan.size() <= budget:
                probes: Iterator = d.enumerate_probes(plan, bridges)
            else:
                exhaustive = False
                probes = d.sample_probes(plan, bridges, max(1, budget), rng)
            for probe in probes:
                if not any(in_region(cube, dict(probe.packet)) for cube in region.cubes):
                    continue
                before, after = outcomes(pruned, probe.packet)
                if before.key != after.key:
                    differing.append((probe, before, after))
    return ChainsResult(differing, walks, exhaustive, len(sites), count, fallbacks)
