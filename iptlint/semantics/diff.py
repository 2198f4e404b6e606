"""What changes between two rulesets of one family: `iptlint diff OLD NEW`.

The answer comes from walking probe packets (`iptlint.semantics.walk`) through both
rulesets and comparing what happens to each, so reordering independent rules, renaming
a user chain, splitting a chain, or spelling a rule another way is "no change".

Probes.  For each field the rules of *both* dumps constrain, the values are cut into
*cells*: the boundaries are every interval the rules' match models name (addresses of
`-s`/`-d` and of conntrack's `--ctorigdst`, interface names and wildcards, protocols,
ports, conntrack states, marks), so every value of one cell meets every rule the same
way, and one value per cell stands for the cell (the argument of
`iptlint.docker.exposure`).  Fields enumerated: `in_iface`, `out_iface`, `src`, `dst`,
`proto`, `sport`, `dport`, `icmp_type`, `icmp_code`, `ct_state`, `mark`, `ct_mark`
(and, for a packet the host sends, `dst_local` where `addrtype` asks and no
`--local-address` says).  The rest keep the walk's defaults (TCP flags of a NEW or
later packet, no fragment).  Rules whose target changes neither verdict nor
destination (LOG, MASQUERADE, SNAT... `UNCOMPARED_TARGETS`) cut no cells.

- interfaces: the cells of the names used, one of them a name no rule mentions;
- addresses: the cells of every network named, plus the `--local-address` ones;
- protocols: every protocol named and the rest (one cell);
- ports: per protocol, the cells of the ports and ranges named for that protocol (or
  for any protocol), enumerated only for protocols with ports;
- `ct_state`: the states the rules tell apart, and those the walk does: NEW and
  ESTABLISHED whenever a rule reads the state or the TCP flags, and INVALID/UNTRACKED
  apart too where a nat rule changes the destination (nat skips them);
- ICMP type and code: per ICMP protocol, like ports (echo request when no rule reads them);
- `mark`, `ct_mark`: 0 and each value a `--mark` names, when a rule reads the mark.

Hook paths.  Probes are enumerated per path: *to the host* (incoming, `dst_local`),
*through the host* (incoming, forwarded) and *from the host* (local output).  A field
that no rule of the chains a path traverses (in either dump) constrains keeps one value
on that path; a path whose chains are the same in both dumps (`path_signature`) is not
walked at all.  When the walk itself infers the out interface (a destination in a
Docker bridge's subnet), the probe leaves it out.

Bound.  At most `MAX_WALKS` walks (200,000: two per probe).  When the cells would need
more, a seeded sample of the probes is walked instead and the difference says it is not
exhaustive (`Difference.exhaustive` False): a change may then go unnoticed.

What is compared.  A probe's *outcome* is its verdict, where it arrived (local,
forwarded) and its destination after NAT: the deciding rules are reported, not
compared (a rule moved to another line decides the same).  Probes whose outcomes
differ are grouped by path, incoming interface and the pair of outcomes; each group is
described as a packet set (its cells merged where they differ in one field) with one
concrete example packet, the one walked.

Besides: published Docker ports newly exposed or closed (`iptlint.docker.exposure`,
compared by host address, port and protocol) and findings new or fixed (`iptlint.linter`,
matched by `iptlint.baseline.fingerprint`, as many times as they occur).
"""

from __future__ import annotations

import ipaddress
import itertools
import random
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from iptlint.findings import Severity
from iptlint.semantics import packets as p
from iptlint.semantics import walk as walk_module
from iptlint.semantics.models import ModelContext, match_bounds
from iptlint.semantics.models.basics import option_bounds
from iptlint.semantics.packets import Cube, IntervalSet, PacketSet, PatternSet
from iptlint.syntax.ast import Chain, Family, Rule, Ruleset
from iptlint.syntax.values import Endpoint

MAX_WALKS = 200_000
SAMPLE_SEED = 20_231
PATHS = ("input", "forward", "output")
PATH_TITLES = {"input": "to the host", "forward": "through the host", "output": "from the host"}
ENUMERATED = ("in_iface", "out_iface", "src", "dst", "proto", "sport", "dport", "icmp_type", "icmp_code", "ct_state")
MARKS = ("mark", "ct_mark")
PORT_PROTOCOLS = walk_module.PORT_PROTOCOLS
ICMP_PROTOCOLS = frozenset({1, 58})
# Fields that mean something for some protocols only: enumerated per protocol, with a default.
PER_PROTOCOL = {
    "sport": (PORT_PROTOCOLS, {}),
    "dport": (PORT_PROTOCOLS, {}),
    "icmp_type": (ICMP_PROTOCOLS, {1: 8, 58: 128}),  # echo request
    "icmp_code": (ICMP_PROTOCOLS, {1: 0, 58: 0}),
}
# Targets whose effect the comparison does not see: they change no verdict, no destination.
UNCOMPARED_TARGETS = frozenset(
    {"LOG", "NFLOG", "ULOG", "MASQUERADE", "SNAT", "TCPMSS", "CHECKSUM", "TOS", "TTL", "HL", "DSCP", "CLASSIFY"}
    | {"AUDIT", "TRACE", "SECMARK", "CONNSECMARK", "IDLETIMER", "LED", "RATEEST", "NETMAP_SRC"}
)
DESTINATION_NAT = frozenset({"DNAT", "REDIRECT", "NETMAP"})
# Where the walk itself tells conntrack states apart (indices into packets.CT_STATE_NAMES,
# each the first state of a cell): nat is traversed by NEW, replayed for ESTABLISHED and
# RELATED, skipped for INVALID and UNTRACKED; TCP flags default to SYN for NEW only.
_NAT_STATE_CUTS = frozenset({1, 2, 4})
_NEW_STATE_CUTS = frozenset({1, 2})
FOLDED = {"ct_orig_dst": "dst", "ct_orig_dport": "dport"}  # conntrack's original values cut these too

_HOOKS = {
    "input": walk_module.PREROUTING + walk_module.LOCAL_INPUT + walk_module.FORWARDING,
    "forward": walk_module.PREROUTING + walk_module.FORWARDING,
    "output": walk_module.LOCAL_OUTPUT,
}
_DEFAULTS = {
    Family.IPV4: {"src": "198.51.100.7", "dst": "203.0.113.10"},
    Family.IPV6: {"src": "2001:db8:77::7", "dst": "2001:db8:ffff::10"},
}
_NICE_ADDRESSES = {
    Family.IPV4: ("203.0.113.7", "192.0.2.7", "10.0.0.7", "172.16.0.7", "192.168.0.7"),
    Family.IPV6: ("2001:db8::7", "fd00::7"),
}
_DEFAULT_IN, _DEFAULT_SPORT, _DEFAULT_DPORT = "eth0", 40000, 80
_PREFERRED_PROTOCOLS = (6, 17, 1, 58, 132)


# ---------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one ruleset does with one probe: the compared part, and who decided."""

    verdict: str  # ACCEPT / DROP / REJECT / UNKNOWN
    arrived_at: str | None  # local / forwarded / None
    destination: str  # after NAT, `172.17.0.3:5432`, `[2001:db8::3]:5432` ('' when unchanged or unknown)
    rule: Rule | None = field(default=None, compare=False)
    decider: str = field(default="", compare=False)  # `rules.v4:40` or `policy of filter INPUT`

    @property
    def key(self) -> tuple[str, str | None, str]:
        return (self.verdict, self.arrived_at, self.destination)

    @property
    def accepts(self) -> bool:
        """The packet is accepted, or may be (a random choice that accepts some share)."""
        return self.verdict == "ACCEPT" or (self.verdict == "RANDOM" and "ACCEPT" in self.destination)

    def text(self) -> str:
        if self.verdict == "RANDOM":  # `-m statistic --mode random`: each outcome with its share
            return f"one of {self.destination} ({self.decider})"
        where = f" to {self.destination}" if self.destination else ""
        return f"{self.verdict}{where} ({self.decider})"


@dataclass(frozen=True)
class Change:
    """Packets that one ruleset treats differently from the other, with one example."""

    path: str  # input / forward / output
    description: str  # `tcp from any via eth0 to any port 5432`
    example: tuple[tuple[str, Any], ...]  # the packet walked, as given to `walk`
    old: Outcome
    new: Outcome
    probes: int  # how many probes (cells) differ in this group
    exact: bool = True  # False: the packets that reach a changed chain; the outcomes are the example's

    @property
    def opened(self) -> bool:
        """The new ruleset lets through what the old one did not, or translates it to a new destination.

        (A packet the old ruleset translated that the new one lets in untranslated is a
        change, not an opening.)
        """
        if not self.new.accepts:
            return False
        if not self.old.accepts:
            return True
        return bool(self.new.destination) and self.new.destination != self.old.destination

    @property
    def example_packet(self) -> dict[str, Any]:
        return dict(self.example)

    def text(self) -> str:
        return f"{self.description}: was {self.old.text()}, now {self.new.text()}"


@dataclass(frozen=True)
class ExposureChange:
    """A published port whose exposure differs.

    `opened`: exposed now and not before, or to sources it was not exposed to; `closed`:
    exposed before, not now; `changed`: exposed to fewer sources.
    """

    kind: str
    port: str  # `*:5432/tcp -> 172.17.0.3:5432`
    key: tuple[str, str, str]  # host address, host ports, protocol
    old_sources: tuple[str, ...]
    new_sources: tuple[str, ...]
    old_status: str  # exposed / possibly / closed / host-only / absent
    new_status: str
    line: int = 0  # the DNAT rule of the port (in NEW, in OLD for a port closed)

    def text(self) -> str:
        if self.kind == "opened":
            status = "exposed" if self.new_status == "exposed" else "possibly exposed"
            was = f" (was {', '.join(self.old_sources)})" if self.old_sources else ""
            return f"{self.port} newly {status} to {', '.join(self.new_sources) or 'sources iptlint cannot tell'}{was}"
        if self.kind == "closed":
            return f"{self.port} no longer exposed (was {self.old_status} to {', '.join(self.old_sources)})"
        return f"{self.port} reachable from {', '.join(self.new_sources)} (was {', '.join(self.old_sources)})"


@dataclass(frozen=True)
class Difference:
    old_path: str
    new_path: str
    family: Family
    changes: tuple[Change, ...]
    exposure_changes: tuple[ExposureChange, ...] = ()
    new_findings: tuple = ()  # iptlint.findings.Finding
    fixed_findings: tuple = ()
    walks: int = 0
    exhaustive: bool = True
    local_addresses: tuple[str, ...] = ()  # as given (for the `iptlint trace` commands shown)
    parse_errors: tuple[int, int] = (0, 0)  # errors in the old and the new dump (their rules that parsed are diffed)
    method: str = "cells"  # cells (every cell walked) or chains (`iptlint.semantics.diff_chains`)

    @property
    def behaviour_changed(self) -> bool:
        return bool(self.changes or self.exposure_changes)

    @property
    def opened(self) -> bool:
        return any(c.opened for c in self.changes) or any(e.kind == "opened" for e in self.exposure_changes)

    @property
    def any_difference(self) -> bool:
        return self.behaviour_changed or bool(self.new_findings or self.fixed_findings)


# ---------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One value standing for every value of `constraint` (a field's cell)."""

    value: Any
    constraint: Any  # IntervalSet / PatternSet, or None for "any"


def chains_on_path(ruleset: Ruleset, path: str) -> Iterator[tuple[str, str, Chain]]:
    """(table, name, chain) of every chain a packet on `path` may traverse: the built-in
    chains of its hooks and what they jump or go to, each once per table."""
    for hook, table in _HOOKS[path]:
        seen: set[str] = set()
        pending = [hook]
        while pending:
            name = pending.pop()
            chain = ruleset.chain(table, name)
            if name in seen or chain is None:
                continue
            seen.add(name)
            yield table, name, chain
            pending.extend(rule.jump for rule in chain.rules if rule.jump is not None)


def reachable_rules(ruleset: Ruleset, path: str) -> Iterator[Rule]:
    """The rules of every chain a packet on `path` may traverse (built-in chains and what they call)."""
    for _, _, chain in chains_on_path(ruleset, path):
        yield from chain.rules


def rule_cubes(rule: Rule, family: Family, ipsets: Mapping[str, Any]) -> Iterator[Cube]:
    """Every cube of the over- and under-approximations of each of the rule's conditions."""
    ctx = ModelContext(family, rule.table, rule.chain, ipsets)
    conditions = [option_bounds(option, ctx) for option in rule.basics]
    conditions += [match_bounds(match, ctx) for match in rule.matches]
    for bounds in conditions:
        yield from bounds.over.cubes
        yield from bounds.under.cubes


@dataclass
class _Cuts:
    """Boundaries per field, gathered from the rules (internal)."""

    points: dict[str, set[int]] = field(default_factory=dict)
    names: dict[str, set[IntervalSet]] = field(default_factory=dict)  # interface sets, for atoms
    port_points: dict[int | None, dict[str, set[int]]] = field(default_factory=dict)  # per protocol
    marks: dict[str, set[int]] = field(default_factory=dict)  # mark, ct_mark: the values named
    translates: bool = False  # a nat rule changes the destination: the walk tells states apart
    reads_flags: bool = False  # a rule reads the TCP flags, whose default depends on the state

    def add(self, name: str, constraint: Any, protocols: IntervalSet | None) -> None:
        name = FOLDED.get(name, name)
        if name == "dst_local":
            self.points.setdefault(name, set()).add(1)
            return
        if name == "tcp_flags":
            self.reads_flags = True
            return
        if name in MARKS and isinstance(constraint, PatternSet):
            self.marks.setdefault(name, set()).update(value for value, _ in constraint.patterns)
            return
        if name not in ENUMERATED or not isinstance(constraint, IntervalSet):
            return
        target = self.points.setdefault(name, set())
        if name in ("in_iface", "out_iface"):
            self.names.setdefault(name, set()).add(constraint)
        if name in PER_PROTOCOL:
            per = self.port_points.setdefault(_protocol_key(protocols), {}).setdefault(name, set())
            target = per
            self.points.setdefault(name, set())
        for lo, hi in constraint.intervals:
            target.add(lo)
            target.add(hi + 1)


def _protocol_key(protocols: IntervalSet | None) -> int | None:
    """The one protocol a port condition is about, or None (any protocol)."""
    if (
        protocols is not None
        and len(protocols.intervals) == 1
        and protocols.intervals[0][0] == protocols.intervals[0][1]
    ):
        return protocols.intervals[0][0]
    return None


def gather_cuts(
    rulesets: Sequence[Ruleset], path: str, ipsets: Mapping[str, Any], extra: Sequence[tuple[str, Any]] = ()
) -> _Cuts:
    """The cuts of every rule a packet on `path` may meet, and of the `extra` constraints."""
    cuts = _Cuts()
    for name, constraint in extra:
        cuts.add(name, constraint, None)
    for ruleset in rulesets:
        for rule in reachable_rules(ruleset, path):
            if rule.table == "nat" and rule.target is not None and rule.target.name in DESTINATION_NAT:
                cuts.translates = True
            if rule.target is not None and rule.target.name in UNCOMPARED_TARGETS:
                continue
            protocols = _rule_protocols(rule, ruleset.family)
            for cube in rule_cubes(rule, ruleset.family, ipsets):
                for name, constraint in cube.items:
                    cuts.add(name, constraint, protocols)
    return cuts


def _rule_protocols(rule: Rule, family: Family) -> IntervalSet | None:
    option = rule.protocol
    if option is None or option.negated:
        return None
    try:
        packets = p.from_protocol(option.value, family)
    except (TypeError, ValueError, AttributeError):
        return None
    values = packets.field_values("proto")
    return values if isinstance(values, IntervalSet) else None


def interval_cells(points: Iterable[int], lo: int, hi: int) -> list[IntervalSet]:
    """The intervals of [lo, hi] that the `points` (each the first value of a cell) delimit."""
    cuts = sorted({lo, hi + 1, *(x for x in points if lo < x <= hi)})
    return [IntervalSet.span(a, b - 1) for a, b in itertools.pairwise(cuts)]


def _domain_bounds(name: str, family: Family) -> tuple[int, int]:
    full = p.domain(name, family)
    return full.intervals[0][0], full.intervals[-1][1]


def _pick(name: str, cell: IntervalSet, family: Family, preferred: Sequence[Any]) -> Any:
    """A readable value of the cell: a preferred one inside it, else a sensible member."""
    for value in preferred:
        if cell.contains(p.encode(name, value, family)):
            return value
    lo, hi = cell.intervals[0]
    if p.SPECS[name].kind == "address":
        number = lo + 1 if hi - lo >= 2 else lo
    elif name in ("sport", "dport") and lo == 0 and hi >= 1:
        number = 1
    else:
        number = lo
    value = p.decode(name, number, family)
    return str(value) if p.SPECS[name].kind == "address" else value


def _name_pick(name: str, cell: IntervalSet, family: Family) -> str:
    """`ext0` for the names no rule mentions when it is one of them, else a readable member."""
    for candidate in ("ext0", "eth0", "ens3", "wan0"):
        if cell.contains(p.name_index(candidate)):
            return candidate
    return Cube.of(family, {name: cell}).sample()[name]


def interface_cells(name: str, named: Iterable[IntervalSet], family: Family) -> list[Cell]:
    """The atoms of the interface sets the rules name (each name, each wildcard's rest, the others).

    The empty name (no interface) is left out: an incoming packet has an in interface and
    a forwarded one an out interface.
    """
    atoms = [p.domain(name, family).subtract(IntervalSet.point(p.name_index("")))]
    for chosen in named:
        atoms = [piece for atom in atoms for piece in (atom.intersect(chosen), atom.subtract(chosen))]
        atoms = [atom for atom in atoms if not atom.is_empty()]
    return sorted((Cell(_name_pick(name, atom, family), atom) for atom in atoms), key=lambda cell: cell.value)


def field_cells(name: str, points: set[int], family: Family, extra: Sequence[Any] = ()) -> list[Cell]:
    """The cells of one (numeric or address) field, each with its representative value."""
    lo, hi = _domain_bounds(name, family)
    more = set(points)
    for value in extra:
        number = p.encode(name, value, family)
        more.update((number, number + 1))
    cells = interval_cells(more, lo, hi)
    defaults = _DEFAULTS[family]
    preferred: dict[str, Sequence[Any]] = {
        "src": (defaults["src"], *_NICE_ADDRESSES[family]),
        "dst": (*extra, defaults["dst"], *_NICE_ADDRESSES[family]),
        "proto": _PREFERRED_PROTOCOLS,
        "sport": (_DEFAULT_SPORT,),
        "dport": (_DEFAULT_DPORT,),
        "ct_state": ("NEW", "ESTABLISHED"),
    }
    picked = [Cell(_pick(name, c, family, preferred.get(name, ())), c) for c in cells]
    if name == "ct_state":  # NEW and ESTABLISHED always, even when one cell holds both
        for state in ("NEW", "ESTABLISHED"):
            if all(cell.value != state for cell in picked):
                number = p.encode(name, state, family)
                picked.append(Cell(state, IntervalSet.point(number)))
    return picked


# ---------------------------------------------------------------------------------------
# Probes
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """A packet to walk, the path it starts on, and the cell of each enumerated field."""

    path: str
    packet: tuple[tuple[str, Any], ...]
    cells: tuple[tuple[str, Any], ...]  # field -> constraint of its cell
    exact: bool = True  # False: stands for a region whose packets may differ among themselves

    def cube(self, family: Family) -> Cube:
        return Cube.of(family, {name: constraint for name, constraint in self.cells if constraint is not None})


@dataclass(frozen=True)
class _Plan:
    """The dimensions of one path: blocks of (field, cells) whose products are the probes."""

    path: str
    fixed: tuple[tuple[str, Any], ...]
    blocks: tuple[tuple[tuple[str, tuple[Cell, ...]], ...], ...]  # one block per protocol cell

    def size(self) -> int:
        return sum(_product_size(block) for block in self.blocks)


def _product_size(block: Sequence[tuple[str, Sequence[Cell]]]) -> int:
    size = 1
    for _, cells in block:
        size *= len(cells)
    return size


def plan_path(
    rulesets: Sequence[Ruleset],
    path: str,
    local_addresses: Sequence[str],
    ipsets,
    bridges=(),
    extra: Sequence[tuple[str, Any]] = (),
) -> _Plan:
    """The cells of every field the rules of `path` constrain; one value for the others.

    The walk decides from the address alone that a Docker bridge's gateway is local and
    its other addresses are containers: such destinations are probed on the path they
    really take (containers through the host, gateways to the host).
    """
    family = rulesets[0].family
    cuts = gather_cuts(rulesets, path, ipsets, extra)
    if "dst" in cuts.points:  # the walk decides locality from these addresses alone
        loopback = ipaddress.ip_network("127.0.0.0/8" if family is Family.IPV4 else "::1/128")
        cuts.add("dst", IntervalSet.span(int(loopback.network_address), int(loopback.broadcast_address)), None)
        for bridge in bridges:
            subnet = bridge.subnet
            cuts.add("dst", IntervalSet.span(int(subnet.network_address), int(subnet.broadcast_address)), None)
            cuts.add("dst", IntervalSet.point(int(bridge.gateway)), None)
    constrained = {name for name, points in cuts.points.items() if points}
    fixed: dict[str, Any] = {}
    dims: list[tuple[str, tuple[Cell, ...]]] = []
    if path != "output":
        fixed["dst_local"] = path == "input"
        if "in_iface" in constrained:
            dims.append(("in_iface", tuple(interface_cells("in_iface", cuts.names["in_iface"], family))))
        else:
            fixed["in_iface"] = _DEFAULT_IN
    if path != "input" and "out_iface" in constrained:
        dims.append(("out_iface", tuple(interface_cells("out_iface", cuts.names["out_iface"], family))))
    for name in ("src", "dst"):
        extra = tuple(local_addresses) if name == "dst" else ()
        if name in constrained:
            cells = field_cells(name, cuts.points[name], family, extra)
            if name == "dst" and path == "input" and local_addresses:
                cells = [c for c in cells if c.value in local_addresses]
            if name == "dst" and path == "forward" and local_addresses:
                cells = [c for c in cells if c.value not in local_addresses]
            if name == "dst" and path != "output":
                cells = [c for c in cells if _routed_as(c.value, bridges) in (None, path)] or cells
            dims.append((name, tuple(cells)))
        elif name == "dst" and path == "input" and local_addresses:
            fixed["dst"] = local_addresses[0]
        else:
            fixed[name] = _DEFAULTS[family][name]
    states = set(cuts.points.get("ct_state", set()))
    if states or cuts.reads_flags:
        states |= _NEW_STATE_CUTS
    if cuts.translates:
        states |= _NAT_STATE_CUTS
    if states:
        dims.append(("ct_state", tuple(field_cells("ct_state", states, family))))
    if path == "output" and "dst_local" in constrained and not local_addresses:
        # the walk cannot tell whether an address is the host's: both, where the rules ask
        dims.append(("dst_local", (Cell(False, IntervalSet.point(0)), Cell(True, IntervalSet.point(1)))))
    for name, named in sorted(cuts.marks.items()):
        dims.append((name, tuple(Cell(v, PatternSet.point(v, 32)) for v in sorted({0, *named}))))
    protocols = field_cells("proto", cuts.points.get("proto", set()), family) if "proto" in constrained else []
    if not protocols:
        protocols = [Cell(6, None)]
    blocks = []
    for protocol in protocols:
        block = [*dims, ("proto", (protocol,))]
        for name, (protocols_of_field, defaults) in PER_PROTOCOL.items():
            if protocol.value not in protocols_of_field:
                continue
            points = set(cuts.port_points.get(None, {}).get(name, set()))
            points |= cuts.port_points.get(protocol.value, {}).get(name, set())
            if points:
                block.append((name, tuple(field_cells(name, points, family))))
            else:
                default = {"sport": _DEFAULT_SPORT, "dport": _DEFAULT_DPORT}.get(name, defaults.get(protocol.value))
                block.append((name, (Cell(default, None),)))
        blocks.append(tuple(block))
    return _Plan(path, tuple(fixed.items()), tuple(blocks))


def _probe(plan: _Plan, chosen: Sequence[tuple[str, Cell]], bridges) -> Probe:
    packet = dict(plan.fixed)
    cells = []
    for name, cell in chosen:
        packet[name] = cell.value
        cells.append((name, cell.constraint))
    if "dst_local" in packet and plan.path == "output" and _known_locality(packet.get("dst"), bridges):
        del packet["dst_local"]  # the walk knows from the address
        cells = [(n, c) for n, c in cells if n != "dst_local"]
    if "out_iface" in packet and _in_bridge(packet.get("dst"), bridges):
        del packet["out_iface"]  # the walk routes it to the bridge
        cells = [(n, c) for n, c in cells if n != "out_iface"]
    return Probe(plan.path, tuple(packet.items()), tuple(cells))


def _routed_as(address: str, bridges) -> str | None:
    """The path the walk gives an incoming packet to `address` (loopback, a bridge's), None when it cannot tell."""
    ip = ipaddress.ip_address(address)
    if ip.is_loopback:
        return "input"
    for bridge in bridges:
        if ip in bridge.subnet:
            return "input" if ip == bridge.gateway else "forward"
    return None


def _known_locality(address: str | None, bridges) -> bool:
    """Whether the walk tells from the address alone if it is the host's (loopback, Docker bridges)."""
    return address is not None and (ipaddress.ip_address(address).is_loopback or _in_bridge(address, bridges))


def _in_bridge(address: str | None, bridges) -> bool:
    if address is None:
        return False
    ip = ipaddress.ip_address(address)
    return any(ip in bridge.subnet for bridge in bridges)


def enumerate_probes(plan: _Plan, bridges) -> Iterator[Probe]:
    seen: set[tuple] = set()
    for block in plan.blocks:
        names = [name for name, _ in block]
        for combination in itertools.product(*(cells for _, cells in block)):
            probe = _probe(plan, list(zip(names, combination, strict=True)), bridges)
            if probe.packet not in seen:
                seen.add(probe.packet)
                yield probe


def sample_probes(plan: _Plan, bridges, count: int, rng: random.Random) -> Iterator[Probe]:
    """`count` probes drawn uniformly from the plan's product (seeded)."""
    sizes = [_product_size(block) for block in plan.blocks]
    total = sum(sizes)
    for index in sorted(rng.sample(range(total), min(count, total))):
        for block, size in zip(plan.blocks, sizes, strict=True):
            if index < size:
                chosen = []
                for name, cells in reversed(block):
                    index, digit = divmod(index, len(cells))
                    chosen.append((name, cells[digit]))
                yield _probe(plan, chosen[::-1], bridges)
                break
            index -= size


# ---------------------------------------------------------------------------------------
# Walking
# ---------------------------------------------------------------------------------------


def outcome_of(ruleset: Ruleset, probe: Probe, local_addresses: Sequence[str], ipsets, cache=None) -> Outcome:
    """Walk the probe through `ruleset` (`cache`: a `walk.WalkCache` shared by the comparison's walks)."""
    trace = walk_module.walk(ruleset, dict(probe.packet), local_addresses=local_addresses, ipsets=ipsets, cache=cache)
    return outcome_of_trace(ruleset, trace)


def outcome_of_trace(ruleset: Ruleset, trace) -> Outcome:
    """The compared part of a walk: verdict, arrival, destination after NAT; and who decided."""
    start, final = dict(trace.packet), dict(trace.final)
    moved = (str(final.get("dst")), final.get("dport")) != (str(start.get("dst")), start.get("dport"))
    destination = ""
    if moved and final.get("dst") is not None:
        destination = str(Endpoint.single(walk_module.ip_of(final["dst"]), final.get("dport")))
    return Outcome(trace.verdict, trace.arrived_at, destination, trace.decided_by, decider_text(ruleset, trace))


def decider_text(ruleset: Ruleset, trace) -> str:
    if trace.decided_by is not None:
        return f"{ruleset.path}:{trace.decided_by.line}"
    decision = trace.decision
    if decision is not None and decision.kind == "policy":
        return f"policy of {decision.table} {decision.chain}"
    if decision is not None and decision.kind == "route":
        return "routing"
    return "no rule"


# ---------------------------------------------------------------------------------------
# Grouping
# ---------------------------------------------------------------------------------------


def interface_text(cells: Mapping[str, Any], packet: Mapping[str, Any], name: str) -> str | None:
    """`eth0`, or `an interface no rule names (docker1)` for a cell of several names."""
    cell = cells.get(name)
    if name not in packet:
        return None
    if cell is None or (len(cell.intervals) == 1 and cell.intervals[0][0] == cell.intervals[0][1]):
        return str(packet[name])
    return f"other interfaces (e.g. {packet[name]})"


_PLAIN_VALUES = frozenset({"198.51.100.7", "203.0.113.10", "2001:db8:77::7", "2001:db8:ffff::10", "eth0", "NEW", 6})


_ICMP_ERRORS = {1: frozenset({3, 4, 5, 11, 12}), 58: frozenset({1, 2, 3, 4})}
_ICMP_ANSWERS = {1: frozenset({0, 14, 16, 18}), 58: frozenset({129})}


def _realizable(probe: Probe) -> bool:
    """Whether a real packet can be the probe: conntrack makes an ICMP error RELATED (or
    INVALID), never NEW; an answer is never NEW nor RELATED, a request never RELATED; no
    packet is forwarded from or to `lo`.  The kernel check of examples found these."""
    packet = dict(probe.packet)
    proto, state, kind = packet.get("proto"), packet.get("ct_state"), packet.get("icmp_type")
    if proto in _ICMP_ERRORS and kind is not None:
        error, answer = kind in _ICMP_ERRORS[proto], kind in _ICMP_ANSWERS[proto]
        if state == "NEW" and (error or answer):
            return False
        if state == "RELATED" and not error:
            return False
    return not (probe.path == "forward" and "lo" in (packet.get("in_iface"), packet.get("out_iface")))


def _plainness(probe: Probe) -> int:
    """How many of the probe's values are the usual example values (the example chosen for a group)."""
    return sum(1 for _, value in probe.packet if isinstance(value, (str, int)) and value in _PLAIN_VALUES)


def host_destinations(family: Family, bridges) -> IntervalSet:
    """The destinations a packet to the host may have: any address but the containers' subnets."""
    containers = IntervalSet.of(
        *(
            (int(b.subnet.network_address), int(b.subnet.broadcast_address))
            for b in bridges
            if b.subnet.version == (4 if family is Family.IPV4 else 6)
        )
    )
    return p.domain("dst", family).subtract(containers)


def describe_group(family: Family, probes: Sequence[Probe], bridges=()) -> str:
    """The probes' cells merged into a packet set, interfaces named by the group's first probe.

    To the host, a destination set that holds every address but the Docker subnets
    reads `to the host`.
    """
    first = probes[0]
    cells, packet = dict(first.cells), dict(first.packet)
    interfaces = {"in_iface": "via", "out_iface": "out"}
    merged = PacketSet.from_cubes(
        family,
        [Cube.of(family, {n: c for n, c in probe.cells if c is not None and n not in interfaces}) for probe in probes],
    )
    to_host = False
    if first.path == "input" and bridges:
        anywhere = host_destinations(family, bridges)
        if all(isinstance(c.get("dst"), IntervalSet) and c.get("dst").covers(anywhere) for c in merged.cubes):
            merged = PacketSet.from_cubes(family, [c.assign("dst", None) for c in merged.cubes])
            to_host = True
    clauses = merged.describe().split("; ")
    if to_host:
        clauses = [clause.replace(" to any", " to the host", 1) for clause in clauses]
    words = [f"{label} {text}" for name, label in interfaces.items() if (text := interface_text(cells, packet, name))]
    if words:
        clauses = [clause.replace(" to ", f" {' '.join(words)} to ", 1) for clause in clauses]
    return "; ".join(clauses)


def group_changes(
    family: Family, differing: Sequence[tuple[Probe, Outcome, Outcome]], bridges=()
) -> tuple[Change, ...]:
    """One change per path, incoming interface and pair of outcomes (and deciders)."""
    groups: dict[tuple, list[tuple[Probe, Outcome, Outcome]]] = {}
    for probe, old, new in differing:
        packet = dict(probe.packet)
        key = (probe.path, packet.get("in_iface", ""), old.key, new.key, probe.exact)
        groups.setdefault(key, []).append((probe, old, new))
    changes = []
    for members in groups.values():
        probe, old, new = max(members, key=lambda member: (_realizable(member[0]), _plainness(member[0])))
        description = describe_group(family, [member for member, _, _ in members], bridges)
        changes.append(Change(probe.path, description, probe.packet, old, new, len(members), probe.exact))
    order = {name: i for i, name in enumerate(PATHS)}
    return tuple(sorted(changes, key=lambda c: (order[c.path], not c.opened, c.old.verdict == "ACCEPT", c.description)))


# ---------------------------------------------------------------------------------------
# Exposure and findings
# ---------------------------------------------------------------------------------------


def _exposure_table(ruleset: Ruleset, local_addresses: Sequence[str], ipsets) -> dict[tuple, Any]:
    from iptlint.analysis import Analysis

    analysis = Analysis(ruleset, {"local_addresses": tuple(local_addresses), "ipsets": ipsets or {}})
    if analysis.docker is None:
        return {}
    table = {}
    for exposure in analysis.exposures:
        port = exposure.port
        host = "*" if port.host_address is None else str(port.host_address)
        table[(host, str(port.host_ports), port.protocol)] = exposure
    return table


def _within(sources: Sequence[str], others: Sequence[str]) -> bool:
    """Whether every network of `sources` lies inside one of `others`."""
    theirs = [ipaddress.ip_network(text) for text in others]
    return all(
        any(mine.version == other.version and mine.subnet_of(other) for other in theirs)
        for mine in (ipaddress.ip_network(text) for text in sources)
    )


def exposure_changes(old: Ruleset, new: Ruleset, local_addresses: Sequence[str], ipsets) -> tuple[ExposureChange, ...]:
    """Published ports newly exposed, closed, or reachable from other sources."""
    before = _exposure_table(old, local_addresses, ipsets)
    after = _exposure_table(new, local_addresses, ipsets)
    found = []
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        was_open = was is not None and was.status in ("exposed", "possibly")
        now_open = now is not None and now.status in ("exposed", "possibly")
        old_sources = was.sources() if was is not None else ()
        new_sources = now.sources() if now is not None else ()
        if was_open == now_open and (not now_open or old_sources == new_sources):
            continue
        if now_open and (not was_open or not _within(new_sources, old_sources)):
            kind = "opened"  # exposed now, or to sources it was not exposed to
        else:
            kind = "closed" if not now_open else "changed"
        described = (now or was).port.describe()
        found.append(
            ExposureChange(
                kind,
                described,
                key,
                old_sources,
                new_sources,
                was.status if was is not None else "absent",
                now.status if now is not None else "absent",
                (now or was).port.dnat.line if kind != "closed" else (was or now).port.dnat.line,
            )
        )
    return tuple(found)


def matched_findings(before: Sequence, after: Sequence) -> tuple[tuple, tuple]:
    """(findings of `after` not in `before`, findings of `before` not in `after`), matched by
    `baseline.fingerprint` as a multiset (line numbers aside)."""
    from iptlint.baseline import fingerprint

    left = Counter(fingerprint(f) for f in before)
    added = []
    for finding in after:
        mark = fingerprint(finding)
        if left[mark] > 0:
            left[mark] -= 1
        else:
            added.append(finding)
    right = Counter(fingerprint(f) for f in after)
    fixed = []
    for finding in before:
        mark = fingerprint(finding)
        if right[mark] > 0:
            right[mark] -= 1
        else:
            fixed.append(finding)
    return tuple(added), tuple(fixed)


# ---------------------------------------------------------------------------------------
# The difference
# ---------------------------------------------------------------------------------------


def path_signature(ruleset: Ruleset, path: str) -> tuple:
    """Everything the walk of a packet on `path` reads: the chains it may traverse, the bridges.

    Two rulesets with the same signature treat every packet on the path alike, so the
    path needs no probe (a change in INPUT alone is not walked through OUTPUT).
    """
    chains = [
        (table, name, chain.policy, tuple(rule.key() for rule in chain.rules))
        for table, name, chain in chains_on_path(ruleset, path)
    ]
    bridges = tuple((b.name, b.subnet) for b in walk_module.docker_bridges(ruleset))
    return (tuple(chains), bridges)


@dataclass(frozen=True)
class Comparison:
    """The behaviour part of a difference, and how it was found."""

    changes: tuple[Change, ...]
    walks: int
    exhaustive: bool
    method: str  # cells / chains
    sites: int = 0  # chains: pairs of chains that differ
    regions: int = 0  # chains: regions walked (per path)


def _rule_count(ruleset: Ruleset) -> int:
    return sum(len(chain.rules) for table in ruleset.tables for chain in table.chains)


def compare_behaviour(
    old: Ruleset,
    new: Ruleset,
    *,
    local_addresses: Sequence[str] = (),
    ipsets: Mapping[str, Any] | None = None,
    max_walks: int = MAX_WALKS,
    old_cache: dict | None = None,
    method: str = "auto",
) -> Comparison:
    """The probes whose outcome differs, grouped; see `behaviour_changes`.

    `method`: `cells` walks every cell of the paths that differ (this module's
    docstring); `chains` compares chain by chain and walks only the packets that reach
    a changed chain (`iptlint.semantics.diff_chains`); `auto` takes `chains` when the
    two dumps hold more than `diff_chains.SCALE_RULES` rules together, or more than
    `diff_chains.CELLS_RULES` and the cells would exceed `max_walks` (and be sampled);
    `cells` otherwise.
    """
    from iptlint.semantics import diff_chains

    if old.family is not new.family:
        raise ValueError(f"{old.path} is {old.family} and {new.path} is {new.family}: diff one family")
    ipsets = dict(ipsets or {})
    given = tuple(walk_module.LocalAddress.parse(a) for a in local_addresses)
    walk_addresses = tuple(str(a) for a in given)  # prefixes and interfaces, for the walks
    local_addresses = tuple(str(a.address) for a in given)  # the addresses, for the probes
    bridges = walk_module.docker_bridges(old) + walk_module.docker_bridges(new)
    plans: list[_Plan] | None = None
    if method == "auto" and _rule_count(old) + _rule_count(new) > diff_chains.SCALE_RULES:
        method = "chains"
    if method in ("cells", "auto"):
        changed_paths = [path for path in PATHS if path_signature(old, path) != path_signature(new, path)]
        plans = [plan_path((old, new), path, local_addresses, ipsets, bridges) for path in changed_paths]
        sampled = 2 * sum(plan.size() for plan in plans) > max_walks
        if sampled and method == "auto" and _rule_count(old) + _rule_count(new) > diff_chains.CELLS_RULES:
            method = "chains"  # the cells would be sampled: compare chain by chain instead
    if method == "chains":
        try:
            found = diff_chains.chain_differences(
                old,
                new,
                local_addresses=local_addresses,
                ipsets=ipsets,
                max_walks=max_walks,
                bridges=bridges,
                walk_addresses=walk_addresses,
            )
        except diff_chains.TooManySites:
            method = "cells"
        else:
            changes = group_changes(old.family, found.differing, bridges)
            return Comparison(changes, found.walks, found.exhaustive, "chains", found.sites, found.regions)
    if plans is None:
        changed_paths = [path for path in PATHS if path_signature(old, path) != path_signature(new, path)]
        plans = [plan_path((old, new), path, local_addresses, ipsets, bridges) for path in changed_paths]
    total = sum(plan.size() for plan in plans)
    exhaustive = 2 * total <= max_walks
    rng = random.Random(SAMPLE_SEED)
    differing = []
    walks = 0
    cache = old_cache if old_cache is not None else {}
    walk_cache = walk_module.WalkCache(old.family, ipsets)
    for plan in plans:
        if exhaustive:
            probes: Iterable[Probe] = enumerate_probes(plan, bridges)
        else:
            share = max(1, (max_walks // 2) * plan.size() // max(total, 1))
            probes = sample_probes(plan, bridges, share, rng)
        for probe in probes:
            before = cache.get(probe.packet)
            if before is None:
                before = cache[probe.packet] = outcome_of(old, probe, walk_addresses, ipsets, walk_cache)
                walks += 1
            after = outcome_of(new, probe, walk_addresses, ipsets, walk_cache)
            walks += 1
            if before.key != after.key:
                differing.append((probe, before, after))
    return Comparison(group_changes(old.family, differing, bridges), walks, exhaustive, "cells")


def behaviour_changes(
    old: Ruleset,
    new: Ruleset,
    *,
    local_addresses: Sequence[str] = (),
    ipsets: Mapping[str, Any] | None = None,
    max_walks: int = MAX_WALKS,
    old_cache: dict | None = None,
    method: str = "auto",
) -> tuple[tuple[Change, ...], int, bool]:
    """(changes, walks, exhaustive): the probes whose outcome differs, grouped.

    `old_cache`: probe packet -> outcome of `old`, reused between calls (tests diff one
    old ruleset against many new ones; the cells method only).
    """
    found = compare_behaviour(
        old,
        new,
        local_addresses=local_addresses,
        ipsets=ipsets,
        max_walks=max_walks,
        old_cache=old_cache,
        method=method,
    )
    return found.changes, found.walks, found.exhaustive


def diff(
    old_text: str,
    new_text: str,
    old_path: str,
    new_path: str,
    *,
    local_addresses: Sequence[str] = (),
    ipsets: Mapping[str, Any] | None = None,
    max_walks: int = MAX_WALKS,
    findings: bool = True,
    method: str = "auto",
) -> Difference:
    """The whole difference of two dumps: behaviour, Docker exposure, findings.

    Raises ValueError when the two dumps are of different families.
    """
    from iptlint.linter import LintJob, PendingLints, Settings, start_lints
    from iptlint.syntax.parser import parse

    # The findings: each side is linted from the ruleset parsed here (no second parse),
    # started as soon as that side is parsed, in a child process when the dump is large
    # (`start_lints`: serial when a fork does not pay or fails), beside the rest.
    settings = Settings(check_options={"local_addresses": tuple(local_addresses), "ipsets": dict(ipsets or {})})
    lints: list[PendingLints] = []
    try:
        old_result = parse(old_text, old_path)
        if findings:
            lints.append(start_lints([LintJob(old_text, old_path, settings, old_result)]))
        new_result = parse(new_text, new_path)
        if findings:
            lints.append(start_lints([LintJob(new_text, new_path, settings, new_result)]))
        old, new = old_result.ruleset, new_result.ruleset
        errors = tuple(
            sum(1 for f in result.findings if f.severity is Severity.ERROR) for result in (old_result, new_result)
        )
        found = compare_behaviour(
            old, new, local_addresses=local_addresses, ipsets=ipsets, max_walks=max_walks, method=method
        )
        exposed = exposure_changes(old, new, local_addresses, ipsets)
    except BaseException:
        for pending in lints:
            pending.cancel()
        raise
    added: tuple = ()
    fixed: tuple = ()
    if findings:
        (before,), (after,) = (pending() for pending in lints)
        added, fixed = matched_findings(before, after)
    return Difference(
        old_path,
        new_path,
        old.family,
        found.changes,
        exposed,
        added,
        fixed,
        found.walks,
        found.exhaustive,
        tuple(local_addresses),
        errors,
        found.method,
    )


__all__ = [
    "Change",
    "Comparison",
    "Difference",
    "ExposureChange",
    "Outcome",
    "behaviour_changes",
    "compare_behaviour",
    "diff",
    "matched_findings",
]
