"""Which published ports the outside world really reaches, decided by walking real packets.

For each published port, iptlint walks (`iptlint.semantics.walk`) a NEW connection to the
host port from every *kind* of outside packet the ruleset can tell apart: the source
addresses are cut into the cells that the networks named anywhere in the dump delimit
(`-s`, `--ctorigsrc`, ipset-free), the incoming interfaces into the names and wildcards
the dump uses plus one name it never mentions.  Every packet of one cell meets the same
rules with the same result, so one packet per cell decides for the whole cell: the
answer is exact for those fields (DESIGN.md's partition argument), and a match whose
result the dump cannot tell (rate limits, ipsets without `--ipset`...) makes the answer
"possibly" and names that match.

Docker's own interfaces (its bridges) are not "outside": traffic from containers is not
exposure.  The outside interfaces are the ones the rules name (`-i eth0` in DOCKER-USER
says eth0 is a way in); when the rules name none, one name stands for any interface.  Ports bound to a loopback address are reachable only from the host itself.
Before engine 28 a neighbour that routes the bridge subnet through the host can also
reach a container directly at its own address (`direct`), with no DNAT at all.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from iptlint.docker.model import DockerModel, PublishedPort
from iptlint.syntax.ast import Family, Rule, Ruleset
from iptlint.syntax.values import Address, Interface

_SYNTHETIC_HOST = {Family.IPV4: "203.0.113.10", Family.IPV6: "2001:db8:ffff::10"}
_PREFERRED_SOURCE = {Family.IPV4: "198.51.100.7", Family.IPV6: "2001:db8:77::7"}
_PROTOCOLS = {"tcp": 6, "udp": 17, "sctp": 132}
_MAX_CELLS = 64
_MAX_INTERFACES = 16
FRESH_INTERFACE = "ext0"  # stands for every interface name the dump never mentions


@dataclass(frozen=True, slots=True)
class Probe:
    """One packet that stands for a whole cell of outside packets, and what happened to it."""

    in_iface: str
    source: str
    cell: tuple[int, int]  # the source addresses it stands for (inclusive, as integers)
    verdict: str  # ACCEPT / DROP / REJECT / UNKNOWN
    decided_by: Rule | None
    unknown: str | None  # the match that made it UNKNOWN
    arrived: bool  # forwarded to the container


@dataclass(frozen=True, slots=True)
class Exposure:
    port: PublishedPort
    status: str  # "exposed" | "possibly" | "closed" | "host-only"
    probes: tuple[Probe, ...]
    host_address: str  # the destination the probes used
    direct: Probe | None = None  # pre-28: straight to the container address, no DNAT

    @property
    def open_probes(self) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if p.arrived)

    @property
    def unknown_probes(self) -> tuple[Probe, ...]:
        return tuple(p for p in self.probes if p.verdict == "UNKNOWN")

    @property
    def exposed_to_all(self) -> bool:
        """Every source cell reaches the container through at least one outside interface."""
        cells = {p.cell for p in self.probes}
        return bool(cells) and cells == {p.cell for p in self.open_probes}

    def sources(self) -> tuple[str, ...]:
        """The source networks that reach the container, as few CIDR blocks as possible."""
        return summarize_cells({p.cell for p in self.open_probes}, self.port.container_address.version)

    def interfaces(self) -> tuple[str, ...]:
        return tuple(sorted({p.in_iface for p in self.open_probes}))

    def interfaces_text(self, probes: Iterable[Probe] | None = None) -> str:
        """`any interface but docker0`, or the names, when only some interfaces are open."""
        probes = tuple(self.open_probes if probes is None else probes)
        every = {p.in_iface for p in self.probes}
        opened = {p.in_iface for p in probes}
        bridges = ", ".join(sorted({self.port.bridge} - {None})) or "Docker's bridges"
        if opened == every and FRESH_INTERFACE in every:
            return f"any interface but {bridges}"
        named = sorted(name for name in opened if name != FRESH_INTERFACE)
        if FRESH_INTERFACE in opened:
            named.append("interfaces the rules do not name")
        return ", ".join(named)

    @property
    def example(self) -> Probe | None:
        opened = self.open_probes
        return opened[0] if opened else (self.unknown_probes[0] if self.unknown_probes else None)

    @property
    def deciding_rule(self) -> Rule | None:
        example = self.example or (self.probes[0] if self.probes else None)
        return example.decided_by if example else None


# ---------------------------------------------------------------------------------------
# Cells of the source addresses, kinds of interfaces
# ---------------------------------------------------------------------------------------


def _cannot_stop_arrival(rule: Rule) -> bool:
    """A rule of nat POSTROUTING itself: it cannot change whether a forwarded packet reaches the container.

    nat cannot drop (iptables refuses DROP there, S128), POSTROUTING comes after every
    verdict of the forwarding path, and its source NAT leaves the destination alone.  Its
    sources (Docker's hairpin `MASQUERADE -s C/32 -d C/32`, one per published port) would
    otherwise cut the source space into a cell per container for nothing.  Chains it jumps
    to still count: a conservative cut, never a coarser one than the rules can tell apart.
    """
    return rule.table == "nat" and rule.chain == "POSTROUTING"


def _networks(ruleset: Ruleset) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    found = []
    for rule in ruleset.rules:
        if _cannot_stop_arrival(rule):
            continue
        option = rule.source
        if option is not None and isinstance(option.value, Address) and option.value.network is not None:
            found.append(option.value.network)
        for match in rule.matches:
            for item in match.options:
                value = item.value
                if item.name == "--ctorigsrc" and isinstance(value, Address) and value.network is not None:
                    found.append(value.network)
    return found


def _set_names(ruleset: Ruleset) -> set[str]:
    """The ipsets the rules match against (`-m set --match-set NAME`)."""
    return {
        item.value.name
        for rule in ruleset.rules
        for match in rule.matches
        for item in match.options
        if item.name == "--match-set" and hasattr(item.value, "directions")
    }


def source_cells(ruleset: Ruleset, extra: Iterable = ()) -> list[tuple[int, int]]:
    """The source-address cells the dump's networks (and `extra` ones) delimit.

    At most _MAX_CELLS, the widest kept.
    """
    top = (1 << 32) - 1 if ruleset.family is Family.IPV4 else (1 << 128) - 1
    cuts = {0, top + 1}
    version = 4 if ruleset.family is Family.IPV4 else 6
    for network in [*_networks(ruleset), *(n for n in extra if n.version == version)]:
        cuts.add(int(network.network_address))
        cuts.add(int(network.broadcast_address) + 1)
    ordered = sorted(cuts)
    cells = [(lo, hi - 1) for lo, hi in itertools.pairwise(ordered)]
    if len(cells) > _MAX_CELLS:
        cells = sorted(cells, key=lambda c: c[1] - c[0], reverse=True)[:_MAX_CELLS]
    return sorted(cells)


def _representative(cell: tuple[int, int], family: Family) -> str:
    preferred = int(ipaddress.ip_address(_PREFERRED_SOURCE[family]))
    lo, hi = cell
    if lo <= preferred <= hi:
        number = preferred
    elif hi - lo >= 2:
        number = lo + 1  # not the network's own address
    else:
        number = lo
    return str(ipaddress.ip_address(number))


def outside_interfaces(ruleset: Ruleset, docker: DockerModel) -> list[str]:
    """One interface name per kind the dump tells apart, Docker's bridges left out."""
    bridges = {b.name for b in docker.bridges}
    exact: set[str] = set()
    prefixes: set[str] = set()
    for rule in ruleset.rules:
        option = rule.in_interface
        if option is None or not isinstance(option.value, Interface):
            continue
        interface = option.value
        if interface.wildcard:
            prefixes.add(interface.prefix)
        elif interface.name not in bridges and interface.name != "lo":
            exact.add(interface.name)
    names = set(exact)
    for prefix in prefixes:
        candidate = f"{prefix}9" if len(prefix) < 15 else prefix
        if candidate not in bridges:
            names.add(candidate)
    if not names:
        return [FRESH_INTERFACE]
    return sorted(names)[:_MAX_INTERFACES]


def summarize_cells(cells: Iterable[tuple[int, int]], version: int) -> tuple[str, ...]:
    merged: list[list[int]] = []
    for lo, hi in sorted(cells):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    kind = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    blocks = []
    for lo, hi in merged:
        blocks.extend(str(n) for n in ipaddress.summarize_address_range(kind(lo), kind(hi)))
    return tuple(blocks)


# ---------------------------------------------------------------------------------------
# Walking the probes
# ---------------------------------------------------------------------------------------


def _probe(ruleset: Ruleset, packet: dict, local: tuple[str, ...], cell, container, ipsets, cache) -> Probe:
    from iptlint.semantics.walk import walk

    trace = walk(ruleset, packet, local_addresses=local, ipsets=ipsets, cache=cache)
    unknown = None
    if trace.verdict == "UNKNOWN":
        unknown = next((s.unknown for s in trace.steps if s.unknown), None) or trace.reason
    final = dict(trace.final)
    arrived = trace.verdict == "ACCEPT" and trace.arrived_at == "forwarded" and str(final.get("dst")) == str(container)
    return Probe(packet["in_iface"], packet["src"], cell, trace.verdict, trace.decided_by, unknown, arrived)


def exposure_of(
    ruleset: Ruleset,
    docker: DockerModel,
    port: PublishedPort,
    *,
    local_addresses: tuple[str, ...] = (),
    cells: list[tuple[int, int]] | None = None,
    interfaces: list[str] | None = None,
    ipsets: Mapping | None = None,
    cache=None,
) -> Exposure:
    """`cache`: a `walk.WalkCache` of the family and `ipsets`, shared by the probes of every port."""
    from iptlint.semantics.walk import WalkCache

    family = ruleset.family
    cache = cache if cache is not None else WalkCache(ruleset.family, dict(ipsets or {}))
    if port.loopback_only:
        return Exposure(port, "host-only", (), str(port.host_address.network_address))
    if port.host_address is not None:
        host = str(port.host_address.network_address)
    elif local_addresses:
        from iptlint.semantics.walk import LocalAddress

        host = str(LocalAddress.parse(local_addresses[0]).address)
    else:
        host = _SYNTHETIC_HOST[family]
    local = tuple(dict.fromkeys((*local_addresses, host)))
    cells = cells if cells is not None else source_cells(ruleset)
    interfaces = interfaces if interfaces is not None else outside_interfaces(ruleset, docker)
    protocol = _PROTOCOLS.get(port.protocol, 6)
    probes = []
    for interface in interfaces:
        for cell in cells:
            source = _representative(cell, family)
            packet = {
                "in_iface": interface,
                "src": source,
                "dst": host,
                "proto": protocol,
                "sport": 40000,
                "dport": port.host_ports.lo,
                "ct_state": "NEW",
            }
            if port.bridge:  # after DNAT the packet leaves by the container's bridge
                packet["out_iface"] = port.bridge
            probes.append(_probe(ruleset, packet, local, cell, port.container_address, ipsets, cache))
    opened = any(p.arrived for p in probes)
    status = "exposed" if opened else ("possibly" if any(p.verdict == "UNKNOWN" for p in probes) else "closed")
    direct = None
    if docker.generation in ("v17", "v18-27") and interfaces and cells:
        cell = next(
            (c for c in cells if c[0] <= int(ipaddress.ip_address(_PREFERRED_SOURCE[family])) <= c[1]), cells[0]
        )
        packet = {
            "in_iface": interfaces[0],
            "src": _representative(cell, family),
            "dst": str(port.container_address),
            "proto": protocol,
            "sport": 40000,
            "dport": port.container_ports.lo,
            "ct_state": "NEW",
            "dst_local": False,
        }
        if port.bridge:
            packet["out_iface"] = port.bridge
        direct = _probe(ruleset, packet, local, cell, port.container_address, ipsets, cache)
    return Exposure(port, status, tuple(probes), host, direct)


def exposures(
    ruleset: Ruleset,
    docker: DockerModel | None,
    local_addresses: tuple[str, ...] = (),
    extra_networks: Iterable = (),
    ipsets: Mapping | None = None,
) -> tuple[Exposure, ...]:
    """Every published port's exposure; `extra_networks` (policy allow-lists) and the members of
    known ipsets also cut the cells.

    `ipsets`: known set contents (`--ipset`); Docker 28.0's own set is added from the bridges.
    """
    from iptlint.semantics.ipset import docker_ipsets, member_networks, merged
    from iptlint.semantics.walk import WalkCache

    if docker is None:
        return ()
    ipsets = merged(docker_ipsets(docker, ruleset.family), ipsets or {})
    used = {name: ipsets[name] for name in _set_names(ruleset) if name in ipsets}
    cells = source_cells(ruleset, [*extra_networks, *member_networks(used, ruleset.family)])
    interfaces = outside_interfaces(ruleset, docker)
    cache = WalkCache(ruleset.family, ipsets)
    return tuple(
        exposure_of(
            ruleset,
            docker,
            port,
            local_addresses=local_addresses,
            cells=cells,
            interfaces=interfaces,
            ipsets=ipsets,
            cache=cache,
        )
        for port in docker.ports
        if not port.ingress and port.host_ports is not None
    )


def allowed_networks(entries) -> list:
    """The networks named by exposure allow-list entries (for cutting source cells)."""
    found = []
    for entry in entries:
        for text in entry.sources:
            try:
                found.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                continue
    return found


def port_spec_covers(spec: str, protocol: str, port: int) -> bool:
    """`443/tcp`, `8000-8100/tcp`, `any/udp`, `any/any`."""
    ports, _, proto = spec.partition("/")
    if proto not in ("any", protocol):
        return False
    if ports == "any":
        return True
    lo, _, hi = ports.partition("-")
    return int(lo) <= port <= int(hi or lo)


def probe_allowed(probe: Probe, port: PublishedPort, entries) -> bool:
    """Whether an allow-list entry covers this probe's whole source cell and interface."""
    kind = ipaddress.IPv4Address if port.container_address.version == 4 else ipaddress.IPv6Address
    lo, hi = kind(probe.cell[0]), kind(probe.cell[1])
    for entry in entries:
        if not port_spec_covers(entry.port, port.protocol, port.host_ports.lo):
            continue
        if entry.via and not any(Interface(name).matches(probe.in_iface) for name in entry.via):
            continue
        for text in entry.sources:
            try:
                network = ipaddress.ip_network(text, strict=False)
            except ValueError:
                continue
            if network.version == port.container_address.version and lo in network and hi in network:
                return True
    return False
