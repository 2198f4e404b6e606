"""Kernel differential tests: iptlint's packet walk against real packets in a real kernel.

For each ruleset of `SCENARIOS` (Docker layouts of every generation, real dumps of the
shared corpus that really load, hand-written tricky ones in tests/data/kernel/), a
`netlab.NetLab` loads the dump into a router namespace whose interfaces carry the names
the dump uses, and a seeded generator describes packets from what the ruleset mentions
(its addresses, ports, protocols, the lab's interfaces) and from random others; some
are sent by the router itself (the OUTPUT path).  Each packet is sent for real and
walked by `iptlint.semantics.walk.walk`; they agree when

* the verdict is the same: the kernel delivered the packet to the router exactly when
  the walk says ACCEPT and "local", forwarded it out interface X exactly when the walk
  says ACCEPT, "forwarded" with out interface X, and lost it when the walk says DROP
  or REJECT; a forwarded packet leaves with the addresses and ports the walk's NAT
  computed (where the walk knows them);
* the counters agree exactly: the rules whose packet counters grew are the rules of
  `trace.matched` (as many times), and the built-in chains whose policy counter grew
  are the trace's policy steps.  Nothing else moves the counters in the lab.

Packets the walk calls UNKNOWN are counted apart and must stay few.  ESTABLISHED
packets whose connection could not be opened are not measured.  Three walk bugs the lab
once found have a minimal reproduction each at the end of this module.  The totals
are printed in the terminal summary; see docs/kernel-differential.md.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import netlab
import pytest
from conftest import SHARED, in_ci, report_summary, requires_corpus, requires_root_tools
from netlab import NetLab, Observation

from iptlint.report.trace import render_text
from iptlint.semantics.walk import Trace, walk
from iptlint.syntax.ast import Rule, Ruleset, TargetKind
from iptlint.syntax.parser import parse

REAL = SHARED / "corpus" / "real"
MOBY = REAL / "moby-docker"
HAND = Path(__file__).resolve().parent / "data" / "kernel"
PACKETS_PER_RULESET = 180
AIMED_SHARE = 0.4  # of the packets from a peer, aimed at one rule of the ruleset
OWN_SHARE = 0.15  # of the packets, sent by the router itself (the OUTPUT path)
MAX_UNKNOWN_SHARE = 0.05  # of the packets sent, the walk may leave this many undecided
SHORT_WAIT = 0.03  # seconds for a packet the walk expects lost (it arrives within microseconds when it does)
BROADCAST_SHARE = 0.04  # of the peers' destinations, a subnet broadcast address of the router (delivered locally)

DOCKER_LINKS = {"eth0": "10.203.0.1/24", "docker0": "172.17.0.1/16", "bridge1": "192.0.2.1/24"}
HAND_LINKS = {
    "eth0": "10.0.0.1/24",
    "eth1": "203.0.113.1/24",
    "docker0": "172.17.0.1/16",
    "br-1a2b3c": "172.18.0.1/16",
}


@dataclass(frozen=True)
class Scenario:
    """One ruleset and the lab that fits it."""

    name: str
    path: Path
    interfaces: dict[str, str]
    default: str
    backend: str = "legacy"
    packets: int = PACKETS_PER_RULESET


SCENARIOS = (
    Scenario(
        "docker v27 new-daemon",
        MOBY / "v27-era_2024-10-10__iptablesdoc__new-daemon.rules",
        {"eth0": "10.203.0.1/24", "docker0": "172.17.0.1/16"},
        "eth0",
    ),
    Scenario(
        "docker v27 usernet-portmap",
        MOBY / "first-2024-10-10__iptablesdoc__usernet-portmap.rules",
        DOCKER_LINKS,
        "eth0",
        "nft",
    ),
    Scenario(
        "docker v28.5.2 usernet-portmap", MOBY / "v28.5.2__iptablesdoc__usernet-portmap.rules", DOCKER_LINKS, "eth0"
    ),
    Scenario(
        "docker v28.5.2 usernet-portmap-routed",
        MOBY / "v28.5.2__iptablesdoc__usernet-portmap-routed.rules",
        DOCKER_LINKS,
        "eth0",
        "nft",
    ),
    Scenario("docker v29 usernet-portmap", MOBY / "v29-dev__iptablesdoc__usernet-portmap.rules", DOCKER_LINKS, "eth0"),
    Scenario(
        "docker v29 usernet-internal",
        MOBY / "v29-dev__iptablesdoc__usernet-internal.rules",
        DOCKER_LINKS,
        "eth0",
        "nft",
    ),
    Scenario(
        "ferm dmz router",
        REAL / "net-network" / "examples_ferm__dmz_router.ferm.iptables-save.rules",
        {"eth0": "192.168.0.1/24", "eth1": ["193.43.91.203/24"], "eth2": "192.168.1.1/24"},
        "eth1",
    ),
    Scenario(
        "ferm dsl router",
        REAL / "net-network" / "examples_ferm__dsl_router.ferm.iptables-save.rules",
        {"eth0": "192.168.0.1/24", "eth1": "192.168.1.1/24", "ppp0": "81.209.160.10/20"},
        "ppp0",
        "nft",
    ),
    Scenario(
        "serverfault docker host",
        REAL / "net-network" / "configs_serverfault__758088.txt.rules",
        {"eth0": "10.203.0.1/24", "docker0": "172.17.0.1/16"},
        "eth0",
    ),
    Scenario(
        "openvpn-as router",
        REAL / "net-network" / "configs_serverfault__769294.txt.rules",
        {"eth0": "91.13.18.170/24", "as0t0": "172.27.224.1/21", "as0t1": "172.27.232.1/21"},
        "eth0",
        "nft",
    ),
    Scenario(
        "fedora 27 firewalld",
        REAL / "netfilter-iptables" / "ipt-save__dumps__fedora27-iptables.rules",
        {"wlp58s0": "192.168.8.10/24", "virbr0": "192.168.122.1/24", "eth0": "10.9.0.1/24"},
        "wlp58s0",
        "nft",
    ),
    Scenario("hand: negations and goto", HAND / "negations-goto.rules", HAND_LINKS, "eth1"),
    Scenario(
        "hand: marks and DNAT", HAND / "mark-dnat.rules", {**HAND_LINKS, "eth2": "192.168.50.1/24"}, "eth1", "nft"
    ),
    Scenario("hand: conntrack states", HAND / "conntrack-states.rules", HAND_LINKS, "eth1"),
    Scenario("hand: addrtype and wildcards", HAND / "addrtype-wildcards.rules", HAND_LINKS, "eth1", "nft"),
    Scenario(
        "hand: chains and NAT edges",
        HAND / "chains-nat-edges.rules",
        {**HAND_LINKS, "eth2": "192.168.49.1/22"},  # NETMAP's .0 and .255 are ordinary hosts there
        "eth1",
    ),
)


# ---------------------------------------------------------------------------------------
# Packets: what the ruleset mentions, and a seeded generator
# ---------------------------------------------------------------------------------------

PORT_OPTIONS = ("--dport", "--sport", "--dports", "--sports", "--ports", "--to-ports", "--ctorigdstport")


def is_usable(address: ipaddress.IPv4Address) -> bool:
    """A unicast address a packet can carry through a router (no loopback, multicast, 0/8, class E)."""
    return not (address.is_loopback or address.is_multicast or address.is_reserved or address.is_unspecified) and (
        int(address) >> 24 != 0
    )


def mentioned_addresses(ruleset: Ruleset) -> list[ipaddress.IPv4Address]:
    """Addresses in and around every network the rules name (-s, -d, NAT targets, ranges)."""
    found: set[ipaddress.IPv4Address] = set()
    for rule in ruleset.rules:
        for word in rule.text.replace(",", " ").replace("-", " ").split():
            host = word.split(":")[0]
            try:
                network = ipaddress.IPv4Network(host, strict=False)
            except ValueError:
                continue
            if "." not in host:
                continue
            first, last = int(network.network_address), int(network.broadcast_address)
            for value in (first - 1, first, first + 1, (first + last) // 2, last - 1, last, last + 1):
                if 0 <= value < 2**32:
                    found.add(ipaddress.IPv4Address(value))
    return sorted(address for address in found if is_usable(address))


def mentioned_ports(rules: Iterable[Rule]) -> list[int]:
    """Every port (and its neighbours) named by a port option of `rules`, range ends included."""
    found: set[int] = set()
    for rule in rules:
        words = rule.text.split()
        for index, word in enumerate(words[:-1]):
            value = words[index + 1] if words[index + 1] != "!" else words[min(index + 2, len(words) - 1)]
            if word in PORT_OPTIONS or (word == "--to-destination" and ":" in value):
                for part in value.replace(":", ",").replace("-", ",").split(","):
                    if part.isdigit():
                        found.update(p for p in (int(part) - 1, int(part), int(part) + 1) if 1 <= p <= 65535)
    return sorted(found)


@dataclass
class Generator:
    """Seeded packet descriptions for one lab; keeps connection tuples unique within it."""

    lab: NetLab
    ruleset: Ruleset
    seed: str
    addresses: list[ipaddress.IPv4Address] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)
    used: set[tuple] = field(default_factory=set)
    icmp_ids: int = 1

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.networks = [(link.name, a.network) for link in self.lab.links for a in link.addresses]
        self.locals = set(self.lab.local_addresses)
        self.broadcasts = sorted({str(n.broadcast_address) for _, n in self.networks if n.prefixlen < 31})
        self.addresses = [a for a in mentioned_addresses(self.ruleset) if self.fits(a)]
        self.ports = mentioned_ports(self.ruleset.rules) or [22, 53, 80, 443]
        self.rules = list(self.ruleset.rules)
        self.callers: dict[tuple[str, str], list[Rule]] = {}
        for rule in self.rules:
            if rule.target is not None and rule.target.kind is TargetKind.CHAIN:
                self.callers.setdefault((rule.table, rule.target.name), []).append(rule)

    def routable(self, address: str) -> bool:
        return address in self.locals or self.lab.out_interface(address) is not None

    def aimed_path(self) -> list[Rule]:
        """A random rule, then a rule that jumps to its chain, and so on up to a built-in chain."""
        path = [self.rng.choice(self.rules)]
        while len(path) < 8:
            callers = self.callers.get((path[-1].table, path[-1].chain))
            if not callers:
                break
            path.append(self.rng.choice(callers))
        return path

    @staticmethod
    def first(path: list[Rule], pick: Callable[[Rule], Any]) -> Any:
        """The first thing `pick` finds along `path` (None when nothing)."""
        return next((found for found in map(pick, path) if found), None)

    def aimed_interface(self, rule: Rule | None) -> str | None:
        """A lab interface the rule's -i accepts (or, negated, refuses)."""
        option = rule.in_interface if rule else None
        if option is None:
            return None
        pattern = option.value.name
        names = [link.name for link in self.lab.links]
        fits = [n for n in names if (n.startswith(pattern[:-1]) if pattern.endswith("+") else n == pattern)]
        choices = [n for n in names if n not in fits] if option.negated else fits
        return self.rng.choice(choices) if choices else None

    def aimed_address(self, rule: Rule, name: str) -> str | None:
        """An address in the rule's -s/-d network (None when negated, absent or unusable)."""
        option = rule.basic(name)
        if option is None or option.negated or option.value.network is None:
            return None
        network = option.value.network
        address = network.network_address if network.num_addresses <= 2 else self.host_in(network)
        return str(address) if self.fits(address) else None

    def fits(self, address: ipaddress.IPv4Address) -> bool:
        """Usable, and neither the network nor the broadcast address of a lab subnet."""
        special = any(address in (n.network_address, n.broadcast_address) for _, n in self.networks)
        return is_usable(address) and not special

    def host_in(self, network: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
        return ipaddress.IPv4Address(
            self.rng.randint(int(network.network_address) + 1, int(network.broadcast_address) - 1)
        )

    def public(self) -> ipaddress.IPv4Address:
        while True:
            address = ipaddress.IPv4Address(self.rng.randint(0x01000000, 0xDFFFFFFF))
            if address.is_global:
                return address

    def source(self, in_iface: str) -> str:
        while True:
            roll = self.rng.random()
            own = [n for name, n in self.networks if name == in_iface]
            if roll < 0.45 and own:
                address = self.host_in(self.rng.choice(own))
            elif roll < 0.75 and self.addresses:
                address = self.rng.choice(self.addresses)
            elif roll < 0.85:
                address = self.host_in(self.rng.choice(self.networks)[1])
            else:
                address = self.public()
            if self.fits(address) and str(address) not in self.locals:
                return str(address)

    def destination(self, broadcasts: bool = False) -> str:
        """A local, mentioned, lab or public address the router can route; with `broadcasts`, now and then a
        subnet broadcast address of the router (the router itself never sends to one)."""
        if broadcasts and self.broadcasts and self.rng.random() < BROADCAST_SHARE:
            return self.rng.choice(self.broadcasts)
        while True:
            roll = self.rng.random()
            if roll < 0.3:
                address = ipaddress.IPv4Address(self.rng.choice(sorted(self.locals)))
            elif roll < 0.65 and self.addresses:
                address = self.rng.choice(self.addresses)
            elif roll < 0.85:
                address = self.host_in(self.rng.choice(self.networks)[1])
            else:
                address = self.public()
            local = str(address) in self.locals
            if self.fits(address) and (local or self.lab.out_interface(str(address)) is not None):
                return str(address)

    def port(self, mentioned_share: float) -> int:
        if self.rng.random() < mentioned_share:
            return self.rng.choice(self.ports)
        return self.rng.randint(1, 65535)

    def packet(self) -> dict[str, Any]:
        """One packet description (iptlint field names, plus the lab's `icmp_id`).

        Two in five are aimed at a rule picked at random: its interface, addresses,
        protocol and ports, or, where it says nothing, those of a rule that jumps to its
        chain (and so on up).  The others are drawn from the ruleset's mentions at large.
        """
        path = self.aimed_path() if self.rules and self.rng.random() < AIMED_SHARE else []
        rule = path[0] if path else None
        in_iface = self.first(path, self.aimed_interface) or self.rng.choice([link.name for link in self.lab.links])
        source = self.first(path, lambda r: self.aimed_address(r, "-s"))
        destination = self.first(path, lambda r: self.aimed_address(r, "-d"))
        packet: dict[str, Any] = {
            "in_iface": in_iface,
            "src": source if source and source not in self.locals else self.source(in_iface),
            "dst": destination if destination and self.routable(destination) else self.destination(broadcasts=True),
        }
        protocol = self.first(path, lambda r: r.protocol if r.protocol and not r.protocol.negated else None)
        wanted = protocol.value.number if protocol is not None else None
        roll = {6: 0.0, 17: 0.5, 1: 0.8}.get(wanted, self.rng.random())
        if roll < 0.45:
            self.add_tcp(packet)
        elif roll < 0.72:
            packet |= {"proto": 17, "sport": self.port(0.25), "dport": self.port(0.7), "ct_state": "NEW"}
        elif roll < 0.93:
            self.add_icmp(packet)
        else:
            packet |= {"proto": self.rng.choice((47, 50)), "ct_state": "NEW"}
        ports = self.first(path, lambda r: mentioned_ports([r]))
        if rule is not None and packet["proto"] in (6, 17) and ports:
            packet["dport"] = self.rng.choice(ports)
        forwarded = packet["dst"] not in self.locals and packet["dst"] not in self.broadcasts
        to_router = packet["proto"] == 17 and packet["dst"] not in self.broadcasts  # a broadcast cannot answer
        if packet["proto"] in (6, 17) and (forwarded or to_router) and self.rng.random() < 0.15:
            packet["ct_state"] = "ESTABLISHED"
            if packet["proto"] == 6:
                packet["tcp_flags"] = 0x10
        return packet

    def add_tcp(self, packet: dict[str, Any]) -> None:
        roll = self.rng.random()
        flags, state = (0x02, "NEW") if roll < 0.85 else (0x10, "NEW") if roll < 0.93 else (0x03, "INVALID")
        packet |= {"proto": 6, "sport": self.port(0.2), "dport": self.port(0.7), "tcp_flags": flags, "ct_state": state}

    def add_icmp(self, packet: dict[str, Any]) -> None:
        roll = self.rng.random()
        icmp_type, state = (8, "NEW") if roll < 0.7 else (13, "NEW") if roll < 0.8 else (0, "INVALID")
        packet |= {"proto": 1, "icmp_type": icmp_type, "icmp_code": 0, "icmp_id": self.icmp_ids, "ct_state": state}
        self.icmp_ids += 1

    def connection_keys(self, packet: dict[str, Any]) -> tuple[tuple, ...]:
        """What must differ between two packets of one lab so that conntrack sees two connections.

        Without ports (GRE, ESP) a connection is its two addresses: after a MASQUERADE,
        `A -> B` and an earlier `B -> router` are the same connection, so an address
        serves one such packet only, in either role.
        """
        proto = packet["proto"]
        if proto in (6, 17):
            return ((packet["src"], proto, packet["sport"]),)
        if proto == 1:
            return ((packet["src"], proto, packet["icmp_id"]),)
        return ((packet["src"], proto), (packet["dst"], proto))

    def own_packet(self) -> dict[str, Any]:
        """A packet the router sends itself (OUTPUT path): TCP SYN, UDP or echo request.

        To a routed address the source is the out interface's address; to one of its own
        addresses (worth it when nat OUTPUT translates it away) the source is that address.
        """
        dst = self.destination()
        while dst in self.locals and self.rng.random() < 0.6:  # to itself: only useful when nat OUTPUT acts
            dst = self.destination()
        out = self.lab.out_interface(dst)
        src = str(self.lab.link(out).addresses[0].ip) if out is not None else dst
        packet: dict[str, Any] = {"src": src, "dst": dst, "ct_state": "NEW"}
        roll = self.rng.random()
        if roll < 0.45:
            packet |= {"proto": 6, "sport": self.rng.randint(1024, 65535), "dport": self.port(0.7), "tcp_flags": 0x02}
        elif roll < 0.8:
            packet |= {"proto": 17, "sport": self.rng.randint(1024, 65535), "dport": self.port(0.7)}
        else:
            packet |= {"proto": 1, "icmp_type": 8, "icmp_code": 0, "icmp_id": self.icmp_ids}
            self.icmp_ids += 1
        return packet

    def unique_packet(self) -> dict[str, Any]:
        while True:
            packet = self.own_packet() if self.rng.random() < OWN_SHARE else self.packet()
            keys = self.connection_keys(packet)
            if not self.used.intersection(keys):
                self.used.update(keys)
                return packet


# ---------------------------------------------------------------------------------------
# Walking and comparing
# ---------------------------------------------------------------------------------------


def walk_packet(lab: NetLab, ruleset: Ruleset, packet: dict[str, Any]) -> Trace:
    """The walk of `packet`, told the out interface the kernel routes its (translated) destination by.

    The walk knows the router's addresses with their prefixes and interfaces
    (`ADDR/PREFIX@IFACE`): subnet broadcasts are local, REDIRECT goes to the in
    interface's primary address.
    """
    given = {k: v for k, v in packet.items() if k != "icmp_id"}
    local = lab.interface_addresses
    out = lab.out_interface(given["dst"])
    if out is None and not given.get("in_iface"):  # the router's own packet to itself: out lo, then as nat says
        return walk(ruleset, given, local_addresses=local)
    trace = walk(ruleset, given | ({"out_iface": out} if out else {}), local_addresses=local)
    final_dst = trace.final_packet.get("dst")
    if final_dst and final_dst != given["dst"] and lab.out_interface(final_dst) not in (out, None):
        trace = walk(ruleset, given | {"out_iface": lab.out_interface(final_dst)}, local_addresses=local)
    return trace


def comes_back(lab: NetLab, trace: Trace) -> bool:
    """The router's packet to itself, untranslated: it comes back in through lo (a second walk, not compared)."""
    return trace.origin == "output" and trace.final_packet.get("dst") in lab.local_addresses


def rule_numbers(ruleset: Ruleset) -> dict[int, tuple[str, str, int]]:
    """id(rule) -> (table, chain, rule number from 1), as the lab's counters are keyed."""
    numbers = {}
    for table in ruleset.tables:
        for chain in table.chains:
            for number, rule in enumerate(chain.rules, 1):
                numbers[id(rule)] = (table.name, chain.name, number)
    return numbers


def expected_counts(trace: Trace, numbers: dict[int, tuple[str, str, int]]) -> tuple[Counter, Counter]:
    rules = Counter(numbers[id(rule)] for rule in trace.matched)
    policies = Counter((s.table, s.chain) for s in trace.steps if s.kind == "policy" and s.counted)
    return rules, policies


def disagreements(trace: Trace, seen: Observation, numbers: dict[int, tuple[str, str, int]]) -> list[str]:
    """Every way the walk and the kernel differ on one packet (empty: they agree)."""
    problems = []
    arrival = "forwarded" if trace.origin == "output" else trace.arrived_at  # the router's own packets leave
    expected_where = {"local": "router", "forwarded": "server"}.get(arrival) if trace.verdict == "ACCEPT" else None
    if seen.where != expected_where:
        problems.append(f"verdict: walk {trace.verdict} ({trace.arrived_at}), kernel {seen.where or 'lost it'}")
    elif seen.where == "server":
        final = trace.final_packet
        if seen.iface != final.get("out_iface"):
            problems.append(f"out interface: walk {final.get('out_iface')}, kernel {seen.iface}")
        if seen.seen is not None and final.get("dst") != seen.seen.dst:
            problems.append(f"destination: walk {final.get('dst')}, kernel {seen.seen.dst}")
        if seen.seen is not None and final.get("dport") not in (None, seen.seen.dport) and seen.seen.proto in (6, 17):
            problems.append(f"destination port: walk {final.get('dport')}, kernel {seen.seen.dport}")
        if seen.seen is not None and isinstance(final.get("src"), str) and final["src"] != seen.seen.src:
            problems.append(f"source: walk {final['src']}, kernel {seen.seen.src}")
        sport_rewritten = any(r.field == "sport" for r in trace.rewrites) and seen.seen is not None
        if sport_rewritten and seen.seen.proto in (6, 17) and final.get("sport") not in (None, seen.seen.sport):
            problems.append(f"source port: walk {final.get('sport')}, kernel {seen.seen.sport}")
    rules, policies = expected_counts(trace, numbers)
    if rules != Counter(seen.counters_delta):
        problems.append(f"rule counters: walk matched {dict(rules)}, kernel counted {seen.counters_delta}")
    if policies != Counter(seen.policy_delta):
        problems.append(f"policy counters: walk {dict(policies)}, kernel {seen.policy_delta}")
    return problems


@dataclass
class Tally:
    """What one ruleset's packets gave."""

    compared: int = 0
    agreed: int = 0
    unknown: int = 0
    not_measured: int = 0  # ESTABLISHED not opened; the router's packets to itself
    rules: int = 0  # rules in the ruleset
    counted: set = field(default_factory=set)  # rules some packet made count, by the kernel
    verdicts: Counter = field(default_factory=Counter)
    paths: Counter = field(default_factory=Counter)  # "to the router", "forwarded", "sent by the router"
    failures: list[str] = field(default_factory=list)
    broadcasts: int = 0  # compared packets to a subnet broadcast address of the router
    established: int = 0  # compared ESTABLISHED packets (their connection's NAT, learnt from its first packet)


def run_scenario(scenario: Scenario) -> Tally:
    text = scenario.path.read_text(encoding="utf-8")
    ruleset = parse(text, str(scenario.path)).ruleset
    numbers = rule_numbers(ruleset)
    tally = Tally(rules=len(numbers))
    with NetLab(text, scenario.interfaces, default=scenario.default, backend=scenario.backend) as lab:
        generator = Generator(lab, ruleset, scenario.name)
        for _ in range(scenario.packets):
            packet = generator.unique_packet()
            trace = walk_packet(lab, ruleset, packet)
            if comes_back(lab, trace):
                tally.not_measured += 1
                continue
            expected_arrival = trace.verdict in ("ACCEPT", "UNKNOWN")
            seen = lab.send(packet, wait=0.3 if expected_arrival else SHORT_WAIT)
            if seen.setup_failed:
                tally.not_measured += 1
                continue
            if trace.verdict == "UNKNOWN":
                tally.unknown += 1
                continue
            problems = disagreements(trace, seen, numbers)
            tally.compared += 1
            tally.broadcasts += packet["dst"] in generator.broadcasts
            tally.established += packet.get("ct_state") == "ESTABLISHED"
            tally.counted.update(seen.counters_delta)
            tally.verdicts[trace.verdict] += 1
            tally.paths[path_of(trace)] += 1
            if problems:
                tally.failures.append(explain(scenario, packet, trace, seen, problems))
            else:
                tally.agreed += 1
    return tally


def path_of(trace: Trace) -> str:
    if trace.origin == "output":
        return "sent by the router"
    return {"local": "to the router", "forwarded": "forwarded"}.get(trace.arrived_at, "stopped before routing")


def explain(scenario: Scenario, packet: dict, trace: Trace, seen: Observation, problems: list[str]) -> str:
    lines = [f"{scenario.name} ({scenario.path.name}, {scenario.backend}): packet {packet}"]
    lines += [f"  - {problem}" for problem in problems]
    lines.append(f"  kernel: {seen.describe()}")
    lines.append("  iptlint walk:")
    lines += ["    " + line for line in render_text(trace).splitlines()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------

_results: dict[str, Tally] = {}


def requires_lab() -> None:
    """Skip without root, iptables, nft or nsenter (fail instead under CI=true)."""
    requires_root_tools()
    reason = netlab.missing_tools()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true but the kernel lab cannot run: {reason}", pytrace=False)
    pytest.skip(f"kernel lab unavailable: {reason}")


@pytest.mark.kernel
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_walk_agrees_with_kernel(scenario: Scenario) -> None:
    requires_lab()
    if scenario.path.is_relative_to(SHARED):
        requires_corpus()
    assert scenario.path.is_file(), f"ruleset not found: {scenario.path}"
    tally = run_scenario(scenario)
    _results[scenario.name] = tally
    sent = tally.compared + tally.unknown
    assert not tally.failures, f"{len(tally.failures)} disagreements:\n\n" + "\n\n".join(tally.failures[:5])
    assert tally.unknown <= MAX_UNKNOWN_SHARE * max(sent, 1), f"{tally.unknown} of {sent} packets UNKNOWN"


@pytest.fixture(scope="module", autouse=True)
def totals_in_summary():
    """After the module's tests: one line of totals in the terminal summary (when any ruleset ran)."""
    yield
    if _results:
        report_summary(totals_line())


def totals_line() -> str:
    """Packets, rulesets, agreement, verdicts, paths, UNKNOWN and coverage over every ruleset that ran."""
    tallies = list(_results.values())
    compared = sum(t.compared for t in tallies)
    agreed = sum(t.agreed for t in tallies)
    unknown = sum(t.unknown for t in tallies)
    skipped = sum(t.not_measured for t in tallies)
    verdicts = sum((t.verdicts for t in tallies), Counter())
    paths = sum((t.paths for t in tallies), Counter())
    rules = sum(t.rules for t in tallies)
    counted = sum(len(t.counted) for t in tallies)
    rate = 100.0 * agreed / compared if compared else 0.0
    line = (
        f"kernel differential (walk vs real packets): {compared} packets over {len(tallies)} rulesets, "
        f"agreement {agreed}/{compared} = {rate:.2f}% "
        f"({', '.join(f'{v} {n}' for v, n in sorted(verdicts.items()))}; "
        f"{', '.join(f'{n} {p}' for p, n in sorted(paths.items()))}); "
        f"of them {sum(t.established for t in tallies)} ESTABLISHED, "
        f"{sum(t.broadcasts for t in tallies)} to a subnet broadcast; "
        f"UNKNOWN (left out) {unknown}; "
        f"not measured {skipped}; "
        f"rules that counted a packet: {counted} of {rules}"
    )
    return line


# ---------------------------------------------------------------------------------------
# The comparison itself must be able to fail
# ---------------------------------------------------------------------------------------

MUTATIONS = (
    (":FORWARD DROP [0:0]", ":FORWARD ACCEPT [0:0]"),
    ("-A BLOCKLIST -s 198.51.100.0/24 -j DROP", "-A BLOCKLIST -s 198.51.100.0/25 -j DROP"),
    ("-A INPUT -i eth+ ! -s 10.0.0.0/24 -g WAN", "-A INPUT -i eth+ ! -s 10.0.0.0/24 -j WAN"),
    ("-A WAN -p udp --sport 53 -j ACCEPT", "-A WAN -p udp --sport 53 -j REJECT"),
)


@pytest.mark.kernel
def test_comparison_catches_a_wrong_walk() -> None:
    """Walk a slightly different ruleset than the kernel holds: every packet whose trace changes must disagree.

    Guards against a comparison that agrees with anything (an observation that never
    sees the packet, counters that never move...).
    """
    requires_lab()
    scenario = next(s for s in SCENARIOS if s.path.name == "negations-goto.rules")
    text = scenario.path.read_text(encoding="utf-8")
    mutant_text = text
    for old, new in MUTATIONS:
        assert old in mutant_text
        mutant_text = mutant_text.replace(old, new)
    ruleset, mutant = parse(text, "real").ruleset, parse(mutant_text, "mutant").ruleset
    numbers, mutant_numbers = rule_numbers(ruleset), rule_numbers(mutant)
    changed = caught = 0
    with NetLab(text, scenario.interfaces, default=scenario.default, backend=scenario.backend) as lab:
        generator = Generator(lab, ruleset, "mutants")
        for _ in range(150):
            packet = generator.unique_packet()
            trace, wrong = walk_packet(lab, ruleset, packet), walk_packet(lab, mutant, packet)
            if "UNKNOWN" in (trace.verdict, wrong.verdict) or comes_back(lab, trace):
                continue
            seen = lab.send(packet, wait=SHORT_WAIT)
            if seen.setup_failed:
                continue
            assert not disagreements(trace, seen, numbers), explain(scenario, packet, trace, seen, ["(real)"])
            if summary_of(trace, numbers) != summary_of(wrong, mutant_numbers):
                changed += 1
                caught += bool(disagreements(wrong, seen, mutant_numbers))
    assert changed >= 10, f"only {changed} packets took a different path through the mutant"
    assert caught == changed, f"the comparison missed {changed - caught} of {changed} wrong traces"
    report_summary(f"kernel differential self-check: {caught} of {changed} traces of a mutated ruleset caught")


def summary_of(trace: Trace, numbers: dict[int, tuple[str, str, int]]) -> tuple:
    """What the comparison looks at: the verdict, the arrival, the counters."""
    rules, policies = expected_counts(trace, numbers)
    return trace.verdict, trace.arrived_at, trace.origin, sorted(rules.items()), sorted(policies.items())


# ---------------------------------------------------------------------------------------
# Disagreements the lab found once (minimal reproductions of walk bugs now fixed)
# ---------------------------------------------------------------------------------------

TWO_LINKS = {"eth0": "10.0.0.1/24", "eth1": "203.0.113.1/24"}
REDIRECT_RULESET = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -i eth1 -p tcp --dport 3128 -j REDIRECT --to-ports 8080
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -d 10.0.0.1/32 -j DROP
COMMIT
"""
BROADCAST_RULESET = """*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
"""


def kernel_and_walk(text: str, packet: dict[str, Any]) -> tuple[Observation, Trace, dict]:
    """One packet through a two-link lab (eth0 10.0.0.1/24, eth1 203.0.113.1/24) and through the walk."""
    ruleset = parse(text, "repro.rules").ruleset
    with NetLab(text, TWO_LINKS, default="eth1") as lab:
        trace = walk_packet(lab, ruleset, packet)
        seen = lab.send(packet)
    return seen, trace, rule_numbers(ruleset)


@pytest.mark.kernel
def test_redirect_goes_to_the_in_interface_address() -> None:
    """REDIRECT sends to the primary address of the in interface (203.0.113.1 on eth1), not any local address.

    The walk once took the smallest --local-address (10.0.0.1), so filter INPUT saw
    another destination than the kernel's.
    """
    requires_lab()
    packet = {"in_iface": "eth1", "src": "198.51.100.7", "dst": "8.8.8.8", "proto": 6, "sport": 40000, "dport": 3128}
    seen, trace, numbers = kernel_and_walk(REDIRECT_RULESET, packet)
    assert seen.where == "router" and seen.seen is not None and seen.seen.dst == "203.0.113.1", seen.describe()
    assert not disagreements(trace, seen, numbers), render_text(trace)


@pytest.mark.kernel
def test_subnet_broadcast_is_delivered_locally() -> None:
    """The broadcast address of a subnet of the host (10.0.0.255 on eth0 10.0.0.1/24) goes to filter INPUT.

    The walk once knew addresses but not prefixes, and forwarded it.
    """
    requires_lab()
    packet = {"in_iface": "eth1", "src": "203.0.113.7", "dst": "10.0.0.255", "proto": 17, "sport": 40000, "dport": 9}
    seen, trace, numbers = kernel_and_walk(BROADCAST_RULESET, packet)
    assert seen.policy_delta == {("filter", "INPUT"): 1}, seen.describe()
    assert not disagreements(trace, seen, numbers), render_text(trace)


ESTABLISHED_NAT_CASES = {
    # The first packet's mark (set in mangle for NEW packets only) chose the SNAT: a walk that
    # replayed nat POSTROUTING with the ESTABLISHED packet's own mark (0) translated nothing.
    "SNAT by the mark of the first packet": """*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A PREROUTING -i eth0 -j MARK --set-mark 0x1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -m mark --mark 0x1 -j SNAT --to-source 203.0.113.1
COMMIT
""",
    # The connection is source-NATed from its first packet on: --ctstate SNAT matches its
    # later packets in FORWARD, before POSTROUTING (where a replayed SNAT came too late).
    "ctstate SNAT in FORWARD": """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -j SNAT --to-source 203.0.113.1
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -m conntrack --ctstate SNAT -j ACCEPT
COMMIT
""",
    # Same as the first, for a DNAT: the later packet keeps the first one's new destination.
    "DNAT by the mark of the first packet": """*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A PREROUTING -i eth1 -j MARK --set-mark 0x1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -m mark --mark 0x1 -p udp --dport 53 -j DNAT --to-destination 10.0.0.53
COMMIT
""",
}


@pytest.mark.kernel
@pytest.mark.parametrize("case", sorted(ESTABLISHED_NAT_CASES))
def test_established_packets_keep_the_nat_of_their_connection(case: str) -> None:
    """An ESTABLISHED packet gets the NAT its connection's first packet got, without traversing nat.

    The walk once replayed the nat chains with the later packet's own fields (its
    mark), and applied the SNAT only after FORWARD (so `--ctstate SNAT` was false there).
    """
    requires_lab()
    inbound = case.startswith("DNAT")
    src, dst = ("198.51.100.9", "203.0.113.77") if inbound else ("10.0.0.5", "198.51.100.9")
    packet = {
        "in_iface": "eth1" if inbound else "eth0",
        "src": src,
        "dst": dst,
        "proto": 17,
        "sport": 40000,
        "dport": 53,
        "ct_state": "ESTABLISHED",
    }
    seen, trace, numbers = kernel_and_walk(ESTABLISHED_NAT_CASES[case], packet)
    assert seen.seen is not None, seen.describe()
    translated = (seen.seen.dst == "10.0.0.53") if inbound else (seen.seen.src == "203.0.113.1")
    assert translated, seen.describe()
    assert not disagreements(trace, seen, numbers), render_text(trace)
