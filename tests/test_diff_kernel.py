"""`iptlint diff` checked on the real kernel: each example packet really gets the two verdicts it states.

For random *changing* rewrites of real corpus dumps (tests/diff_mutations.py: a verdict
flipped, a rule deleted, a port changed), `iptlint.semantics.diff` reports the changes,
each with one example packet and what the old and the new ruleset do with it.  Here the
example packets of the first three changes of every pair are sent for real: a
`netlab.NetLab` holds the OLD dump (router interfaces named as the packets need), each
packet is sent and observed, then the lab reloads the NEW dump and the same packets are
sent again.  On each side the kernel must do what iptlint states (`change.old`,
`change.new`):

* the verdict and the arrival: delivered to the host for ACCEPT "local", forwarded (out
  the stated interface, when the packet names one) for ACCEPT "forwarded" and for an
  accepted packet the host sends, lost for DROP and REJECT;
* the destination after NAT, where the packet arrived;
* the deciding rule's packet counter grew (or the policy counter of the chain whose
  policy decided).

The lab makes each packet's world before sending it: the destination of a packet "to the
host" becomes an address of the router, the destination of a forwarded one is routed
out the packet's out interface, the source of a packet the host sends is an address of
the router the route prefers.  Connections are flushed before each packet; an
ESTABLISHED example travels on a connection added over ctnetlink (opened by a first
packet through the ruleset instead when a side translates the destination: an added
connection has no NAT), an INVALID one carries a wrong checksum.  A side iptlint calls
UNKNOWN states no verdict and is not checked (the other side is).  A packet "via lo",
and one the host sends to itself, is sent by the router to itself from the stated
source (the first is sent where the host's OUTPUT lets it go untranslated on each side;
the second is seen leaving by lo).  Examples no real packet can be (an ICMP error stated
as NEW, a request as RELATED, a packet forwarded via lo) are counted as iptlint's, and
packets the lab cannot produce (a mark, ESTABLISHED TCP via lo, ...) by reason; all are
printed, never hidden, and agreement over the packets sent must be 100%.  Self-check:
where arrival or destination tell the two stated outcomes apart, each observation must refute the
other side's statement.

IPv6: the IPv6 dumps of the list, and three of moby-docker's ip6tables layouts
(DOCKER6: internal, nat-unprotected, nat with masquerade: DNAT, a bridge, the host's
own packets to itself), are checked the same way in an IPv6 lab (netlab's `family=6`),
with a random source of their own so the IPv4 dumps draw what they drew before.  What
the kernel drops from the network before any rule (the unspecified, loopback, multicast
and link-local addresses, an IPv4-mapped source) is counted as not sendable, as is an
INVALID ICMPv6 packet to the host (a raw ICMPv6 socket drops a wrong checksum unseen).
A dump the kernel refuses whole is counted too (ustclug's rules.v6 names hosts, and
the lab has no name service for ip6tables-restore).  The summary gives the IPv4 and
IPv6 figures apart.  Totals go to the terminal summary; docs/diff.md quotes them.
"""

from __future__ import annotations

import ipaddress
import random
import socket
from collections import Counter
from dataclasses import dataclass, field, fields
from typing import Any

import pytest
from conftest import report_summary, requires_corpus
from diff_mutations import CHANGING, FEWER_PAIRS, FILES, REAL, first_applicable, load, ruleset_of
from netlab import NetLab, Observation, Seen, entered, ip_batch, write_sysctl
from test_kernel_differential import requires_lab, rule_numbers

from iptlint.semantics import diff as D  # noqa: N812
from iptlint.semantics.walk import Bridge, docker_bridges, walk
from iptlint.syntax.ast import Family, Ruleset

SEED = 7007
PAIRS_PER_DUMP = 46  # changing pairs per dump (FEWER_PAIRS for the slow ones)
CHANGES_PER_PAIR = 3
DEFAULT_LINK = "ext0"  # the default route's interface (a name the diff uses for "no rule names it")
LONG_WAIT, SHORT_WAIT = 0.3, 0.03  # seconds to wait for a packet expected to arrive / to be lost
REQUESTS = frozenset({8, 13, 15, 17})  # ICMP types conntrack sees as NEW (echo, timestamp, info, mask)
ICMP_ERRORS = frozenset({3, 4, 5, 11, 12})  # the ICMP types conntrack may find RELATED to a connection
REQUESTS6 = frozenset({128, 139})  # ICMPv6 types conntrack sees as NEW (echo, node information query)
ICMP6_ERRORS = frozenset({1, 2, 3, 4})  # ICMPv6 errors (what conntrack may find RELATED)
ECHO = {1: 8, 58: 128}  # the echo request of ICMP, of ICMPv6
IMPOSSIBLE = "iptlint's example cannot occur"  # see docs/diff.md: reported, not a lab limit
LAB_NETWORK = ipaddress.ip_network("198.18.0.0/15")  # the lab's fictional next hops
LAB_NETWORK6 = ipaddress.ip_network("fd00:198:18::/48")  # ... in an IPv6 lab (netlab.Link.gateway)
MARTIAN = tuple(ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3", "255.255.255.255/32"))
# What the kernel drops from the network before any FORWARD or INPUT rule (ip6_forward,
# ipv6_rcv): the unspecified address, loopback, multicast, link-local (the lab's router has
# none; forwarding refuses it).
MARTIAN6 = tuple(ipaddress.ip_network(n) for n in ("::/128", "::1/128", "ff00::/8", "fe80::/10"))
UNLOOPED = (MARTIAN[0], *MARTIAN[2:], MARTIAN6[0], *MARTIAN6[2:])  # martians other than loopback
V4_MAPPED = ipaddress.ip_network("::ffff:0:0/96")  # ipv6_rcv drops such a source
DOCKER6 = (  # moby-docker's ip6tables layouts, beside the IPv6 dumps of FILES
    "moby-docker/v29-dev__iptabler__hairpin=false,internal=true,icc=false__ip6tables.rules",
    "moby-docker/v28.5.2__iptabler__TestIptabler_hairpin=false,internal=false,icc=true,masq=false,snat=false,"
    "gwm=nat-unprotected,bindlh=false__ip6tables.rules",
    "moby-docker/v29-dev__iptabler__hairpin=false,internal=false,icc=false,masq=true,snat=false,gwm=nat,"
    "bindlh=false__ip6tables.rules",
)


# ---------------------------------------------------------------------------------------
# The pairs and their examples
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One reported change of one pair: the example packet and the two stated outcomes."""

    change: D.Change

    @property
    def packet(self) -> dict[str, Any]:
        return self.change.example_packet

    @property
    def path(self) -> str:
        return self.change.path

    @property
    def sides(self) -> tuple[str, ...]:
        """The sides with a verdict to check ("old", "new"); a side iptlint calls UNKNOWN states none."""
        return tuple(side for side in ("old", "new") if getattr(self.change, side).verdict != "UNKNOWN")

    @property
    def translated(self) -> bool:
        """Either side changes the destination (NAT)."""
        return bool(self.change.old.destination or self.change.new.destination)


@dataclass(frozen=True)
class Pair:
    """A corpus dump and a changing rewrite of it, with the changes iptlint reports."""

    name: str
    mutation: str
    old_text: str
    new_text: str
    old: Ruleset
    new: Ruleset
    examples: tuple[Example, ...]


def changed_pairs(name: str, count: int, rng: random.Random) -> list[Pair]:
    """`count` seeded changing rewrites of one dump (fewer when no mutation applies), diffed."""
    text = load(REAL / name)
    old = ruleset_of(text, name)
    lines = text.splitlines()
    cache: dict = {}
    pairs = []
    for _ in range(count):
        applied = first_applicable(rng.sample(CHANGING, k=len(CHANGING)), lines, old, rng)
        if applied is None:
            continue
        mutation, mutated = applied
        new_text = "\n".join(mutated) + "\n"
        new = ruleset_of(new_text, name)
        changes, _, exhaustive = D.behaviour_changes(old, new, old_cache=cache)
        assert exhaustive, name
        examples = tuple(Example(change) for change in changes[:CHANGES_PER_PAIR])
        pairs.append(Pair(name, mutation.__name__, text, new_text, old, new, examples))
    return pairs


# ---------------------------------------------------------------------------------------
# What the lab can send
# ---------------------------------------------------------------------------------------


def in_any(address: str, networks) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in network for network in networks)


def bridge_of(address: str | None, bridges: tuple[Bridge, ...]) -> Bridge | None:
    if address is None:
        return None
    ip = ipaddress.ip_address(address)
    return next((b for b in bridges if ip in b.subnet), None)


def valid_name(name: Any) -> bool:
    """A name the router can give an interface (Linux: 1-15 bytes, no `/`, `:` or blank)."""
    text = str(name)
    return 0 < len(text.encode()) <= 15 and text not in (".", "..", "lo") and not any(c in text for c in "/: \t\n")


def established_by(example: Example) -> str | None:
    """How the lab makes an ESTABLISHED example: "added" (ctnetlink), "opened" (by its first packet), None.

    A connection added over ctnetlink has no NAT, so one whose destination either side
    translates is opened by a first packet through the ruleset (the lab can for TCP and
    UDP forwarded, UDP to the host; the ruleset must let it through).
    """
    packet, path = example.packet, example.path
    proto = packet.get("proto")
    if not example.translated:
        if proto in (6, 17) and not (path == "output" and proto == 6):
            return "added"
        if proto in ECHO and packet.get("icmp_type", ECHO[proto]) == ECHO[proto]:
            return "added"
        return None
    if (proto in (6, 17) and path == "forward") or (proto == 17 and path == "input"):
        return "opened"
    return None


def unsendable(example: Example, bridges: tuple[Bridge, ...]) -> str | None:
    """Why the lab cannot send this example as iptlint describes it, or None (it can)."""
    packet, path = example.packet, example.path
    if not example.sides:
        return "iptlint states UNKNOWN on both sides (no verdict to check)"
    if packet.get("mark", 0) or packet.get("ct_mark", 0):
        return "a mark the packet carries before any rule (mark/ct_mark)"
    proto, state = packet.get("proto"), packet.get("ct_state", "NEW")
    if proto in (33, 132, 136):
        return "DCCP, SCTP or UDP-Lite (the lab crafts no valid header for conntrack)"
    if state == "RELATED" and proto == 1 and packet.get("icmp_type", 8) not in ICMP_ERRORS:
        return f"{IMPOSSIBLE}: an ICMP request or answer stated as RELATED (conntrack relates errors only)"
    if state == "RELATED" and proto == 58 and packet.get("icmp_type", 128) not in ICMP6_ERRORS:
        return f"{IMPOSSIBLE}: an ICMPv6 message other than an error stated as RELATED (conntrack relates errors only)"
    if state not in ("NEW", "ESTABLISHED", "INVALID"):
        return f"conntrack state {state} (the lab makes NEW, ESTABLISHED and INVALID packets)"
    if state == "INVALID" and (proto not in (1, 6, 17, 58) or path == "output"):
        return "INVALID other than TCP, UDP or ICMP from the network (the lab makes it with a wrong checksum)"
    if state == "INVALID" and proto == 58 and path == "input":
        return "INVALID ICMPv6 to the host (the router's raw ICMPv6 socket drops a wrong checksum: arrival unseen)"
    if state == "ESTABLISHED" and not established_by(example):
        return "ESTABLISHED connection the lab can neither add (NAT, or not TCP/UDP/echo) nor open"
    if proto == 1 and state == "NEW" and packet.get("icmp_type", 8) not in REQUESTS:
        return f"{IMPOSSIBLE}: an ICMP answer or error stated as NEW (conntrack makes it RELATED or INVALID)"
    if proto == 58 and state == "NEW" and packet.get("icmp_type", 128) not in REQUESTS6:
        return f"{IMPOSSIBLE}: an ICMPv6 message other than a request stated as NEW (RELATED, INVALID or UNTRACKED)"
    src, dst = str(packet.get("src")), str(packet.get("dst"))
    if in_any(src, [LAB_NETWORK]) or in_any(dst, [LAB_NETWORK]):
        return "an address of the lab's own next hops (198.18.0.0/15)"
    if in_any(src, [LAB_NETWORK6]) or in_any(dst, [LAB_NETWORK6]):
        return "an address of the lab's own next hops (fd00:198:18::/48)"
    if packet.get("in_iface") == "lo" and path == "input":
        return unsendable_loopback(example)
    if to_itself(example, bridges):
        return unsendable_to_itself(example)
    if path == "forward" and "lo" in (packet.get("in_iface"), packet.get("out_iface")):
        return f"{IMPOSSIBLE}: forwarded from or to lo"
    for name in ("in_iface", "out_iface"):
        if name in packet and not valid_name(packet[name]):
            return f"{name} {packet[name]!r} (not an interface the lab can create)"
    if path == "output":
        return unsendable_output(packet)
    if in_any(src, MARTIAN) or in_any(dst, MARTIAN):
        return "an address the kernel drops from the network (zero, loopback, multicast, broadcast)"
    if in_any(src, MARTIAN6) or in_any(dst, MARTIAN6):
        return "an IPv6 address the kernel drops from the network (unspecified, loopback, multicast, link-local)"
    if in_any(src, [V4_MAPPED]):
        return "an IPv4-mapped IPv6 source (ipv6_rcv drops it)"
    gateways = {str(b.gateway) for b in bridges}
    if src in gateways or (path == "input" and src == dst):
        return "the source is an address of the host (a martian from the network)"
    if path == "input" and proto not in (1, 6, 17, 47, 50, 58) and not 0 < proto < 255:
        return f"protocol {proto} cannot be received by a raw socket"
    return None


def unsendable_loopback(example: Example) -> str | None:
    """Why a packet "via lo" cannot be sent by the router to itself, or None.

    Such a packet really is the host's own: it meets OUTPUT and POSTROUTING before it
    comes back in through lo, and its NAT was settled there (nat PREROUTING and INPUT
    are skipped).  It is sent when neither side translates it; whether OUTPUT lets it
    go is asked per side (`loopback_blocked`).
    """
    packet = example.packet
    proto, state = packet.get("proto"), packet.get("ct_state", "NEW")
    if proto not in (1, 6, 17, 58) or (proto in ECHO and packet.get("icmp_type", ECHO[proto]) != ECHO[proto]):
        return "via lo: the host's own packet other than TCP, UDP or an ICMP echo request"
    if (state == "INVALID" and proto != 6) or (state == "ESTABLISHED" and proto == 6):
        return "via lo: INVALID other than TCP, or ESTABLISHED TCP (the lab's router makes neither)"
    if example.translated:
        return "via lo: NAT (the looped packet's NAT is settled in OUTPUT, not in PREROUTING)"
    if proto in (6, 17) and not packet.get("sport"):
        return "via lo: the host's own packet from port 0"
    if any(in_any(str(packet[name]), UNLOOPED) for name in ("src", "dst")):
        return "via lo: a zero, multicast or broadcast address"
    return None


def loopback_blocked(example: Example, pair: Pair) -> str | None:
    """Why the host's own packet "via lo" does not reach the input path as stated on some side, or None.

    The sent packet first meets OUTPUT: on a side whose walk of that leg does not
    accept it untranslated, the input verdict iptlint states is not what the kernel
    would show.
    """
    if example.packet.get("in_iface") != "lo" or example.path != "input":
        return None
    leg = {k: v for k, v in example.packet.items() if k != "in_iface"}
    for side in example.sides:
        trace = walk(getattr(pair, side), leg)
        if trace.verdict != "ACCEPT" or trace.final_packet.get("dst") != leg.get("dst"):
            return "via lo: the host's OUTPUT stops or translates the packet first"
    return None


def to_itself(example: Example, bridges: tuple[Bridge, ...]) -> bool:
    """A packet the host sends to one of its own addresses (it leaves by lo and comes back through INPUT)."""
    packet = example.packet
    if example.path != "output":
        return False
    dst = str(packet.get("dst"))
    gateways = {str(b.gateway) for b in bridges}
    own = dst in gateways or ipaddress.ip_address(dst).is_loopback or dst == str(packet.get("src"))
    return bool(packet.get("dst_local")) or packet.get("out_iface") == "lo" or own


def unsendable_to_itself(example: Example) -> str | None:
    """Why the router cannot send a packet to itself as stated, or None.

    What iptlint states is the outcome of OUTPUT and POSTROUTING: the packet either
    leaves by lo (seen there, whatever INPUT does next) or, translated to an address of
    the network, leaves by an interface.
    """
    packet = example.packet
    proto, state = packet.get("proto"), packet.get("ct_state", "NEW")
    if proto not in (1, 6, 17, 58) or (proto in ECHO and packet.get("icmp_type", ECHO[proto]) != ECHO[proto]):
        return "to itself: the host's own packet other than TCP, UDP or an ICMP echo request"
    if state != "NEW":
        return "to itself: a packet other than NEW (the lab's router sends new ones to itself)"
    if proto in (6, 17) and not packet.get("sport"):
        return "to itself: the host's own packet from port 0"
    if any(in_any(str(packet[name]), UNLOOPED) for name in ("src", "dst")):
        return "to itself: a zero, multicast or broadcast address"
    return None


def unsendable_output(packet: dict[str, Any]) -> str | None:
    """Why the host's own packet to the network cannot be sent from a socket of the router, or None."""
    dst, src = str(packet.get("dst")), str(packet.get("src"))
    if in_any(dst, MARTIAN) or in_any(src, MARTIAN):
        return "an address the host cannot send to or from (zero, loopback, multicast, broadcast)"
    if in_any(dst, MARTIAN6) or in_any(src, (*MARTIAN6, V4_MAPPED)):
        return (
            "an IPv6 address the host cannot send to or from (unspecified, loopback, multicast, link-local, v4-mapped)"
        )
    proto = packet.get("proto")
    if proto not in (1, 6, 17, 58):
        return "the host's own packet of a protocol other than TCP, UDP, ICMP"
    if proto in ECHO and packet.get("icmp_type", ECHO[proto]) != ECHO[proto]:
        return "the host's own ICMP other than an echo request"
    if proto in (6, 17) and not packet.get("sport"):
        return "the host's own packet from port 0"
    return None


# ---------------------------------------------------------------------------------------
# The lab of one dump, and each packet's world
# ---------------------------------------------------------------------------------------


def lab_links(pairs: list[Pair], bridges: tuple[Bridge, ...], family: int = 4) -> dict[str, list[str]]:
    """The router's interfaces: the default one, each Docker bridge (its gateway), every name a packet uses.

    Every interface keeps an address of its own (198.18.N.1/32, in the lab's network;
    fd00:198:18:N::1/128 in an IPv6 lab): when the last address of an interface goes,
    the kernel drops every route through it, and the packets' addresses come and go
    (see `world`).
    """
    names = [DEFAULT_LINK] + [b.name for b in bridges if valid_name(b.name)]
    for pair in pairs:
        for example in pair.examples:
            if unsendable(example, bridges) is None:
                names += [str(example.packet[n]) for n in ("in_iface", "out_iface") if n in example.packet]
    names = [name for name in names if name != "lo"]
    own = "198.18.{}.1/32" if family == 4 else "fd00:198:18:{}::1/128"
    links = {name: [own.format(index)] for index, name in enumerate(dict.fromkeys(names))}
    for bridge in bridges:
        if bridge.name in links:
            links[bridge.name].append(f"{bridge.gateway}/{bridge.subnet.prefixlen}")
    return links


def translated(outcome: D.Outcome, with_port: bool = True) -> str | None:
    """The address a stated outcome translates the destination to (None: unchanged)."""
    return address_of(outcome.destination, with_port)[0] if outcome.destination else None


def address_of(destination: str, with_port: bool = True) -> tuple[str, str]:
    """A stated destination's address and port text ("10.0.0.2:80", "10.0.0.2", "[2001:db8::2]:80").

    iptlint writes an IPv6 destination with its port unbracketed ("2001:db8::2:80", see
    diff.outcome_of_trace): the last group is the port when the packet has one (`with_port`).
    """
    if destination.startswith("["):
        address, _, port = destination[1:].partition("]")
        return address, port.removeprefix(":")
    if destination.count(":") > 1:
        address, _, port = destination.rpartition(":") if with_port else (destination, "", "")
        return address, port
    address, _, port = destination.partition(":")
    return address, port


def host(address: str) -> str:
    """The address as one host's prefix, for `ip`."""
    return f"{address}/128" if ":" in address else f"{address}/32"


def nodad(address: str) -> str:
    """What `ip address add` needs for an address to be usable at once (IPv6: no duplicate detection)."""
    return " nodad" if ":" in address else ""


def world(lab: NetLab, example: Example, bridges: tuple[Bridge, ...]) -> tuple[list[str], list[str]]:
    """`ip` commands that make the packet's world in the router, and those that undo it.

    To the host: the destination becomes an address of the router (on the in interface).
    Forwarded: the destination, and what either side translates it to, are routed out
    the packet's out interface (when it names one; else by the Docker bridge or the
    default route).  From the host: the destination is routed out the out interface
    (or bridge, or default), preferring the packet's source, which becomes the router's.
    """
    packet, path = example.packet, example.path
    local = set(lab.local_addresses)
    make: list[str] = []
    undo: list[str] = []
    dst, src = str(packet["dst"]), str(packet["src"])
    if path == "input" and packet.get("in_iface") == "lo":
        for address in sorted({dst, src} - local):
            if not ipaddress.ip_address(address).is_loopback:
                make.append(f"address add {host(address)} dev {DEFAULT_LINK} noprefixroute{nodad(address)}")
                undo.append(f"address del {host(address)} dev {DEFAULT_LINK}")
        return make, undo
    if path == "input":
        if dst not in local:
            make.append(f"address add {host(dst)} dev {packet['in_iface']} noprefixroute{nodad(dst)}")
            undo.append(f"address del {host(dst)} dev {packet['in_iface']}")
        return make, undo
    if path == "forward":
        out = packet.get("out_iface")
        if out is None:
            return make, undo
        link = lab.link(str(out))
        ported = packet.get("dport") is not None
        targets = {dst} | {t for t in (translated(o, ported) for o in (example.change.old, example.change.new)) if t}
        for target in sorted(targets - local):
            make.append(f"route replace {host(target)} via {link.gateway} dev {link.name} onlink")
            undo.append(f"route del {host(target)}")
        return make, undo
    if to_itself(example, bridges):
        for address in sorted({dst, src} - local):
            if not ipaddress.ip_address(address).is_loopback:
                make.append(f"address add {host(address)} dev {DEFAULT_LINK} noprefixroute{nodad(address)}")
                undo.append(f"address del {host(address)} dev {DEFAULT_LINK}")
        return make, undo
    bridge = bridge_of(dst, bridges)
    out = str(packet.get("out_iface") or (bridge.name if bridge else DEFAULT_LINK))
    link = lab.link(out)
    if src not in local:
        make.append(f"address add {host(src)} dev {link.name} noprefixroute{nodad(src)}")
        undo.append(f"address del {host(src)} dev {link.name}")
    make.append(f"route replace {host(dst)} via {link.gateway} dev {link.name} onlink src {src}")
    undo.insert(0, f"route del {host(dst)}")
    return make, undo


def lab_packet(example: Example) -> dict[str, Any]:
    """The example as `NetLab.send` reads it.

    TCP flags are the walk's defaults (SYN for NEW, ACK otherwise); an INVALID packet
    gets a wrong checksum; an ESTABLISHED one whose connection the lab adds is sent as
    it is (the lab opens the others first); the host's own packets carry no interface.
    """
    packet = {k: v for k, v in example.packet.items() if k not in ("dst_local", "out_iface")}
    state = packet.get("ct_state", "NEW")
    if packet.get("proto") == 6:
        packet["tcp_flags"] = 0x02 if state == "NEW" else 0x10
    if state == "INVALID" and packet.get("in_iface") != "lo":
        packet["checksum"] = "wrong"
    if state == "ESTABLISHED" and established_by(example) == "added":
        del packet["ct_state"]
    if example.path == "output":
        packet.pop("in_iface", None)
    if packet.get("in_iface") == "lo":  # sent by the router to itself, from the stated source
        del packet["in_iface"]
        packet["bind_src"] = packet["src"]
    if example.path == "output" and (example.packet.get("dst_local") or example.packet.get("out_iface") == "lo"):
        packet["bind_src"] = packet["src"]
    return packet


# ---------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------


def expected_place(outcome: D.Outcome, path: str) -> str | None:
    """Where the kernel must put the packet: "router" (delivered), "server" (forwarded, sent) or None (lost)."""
    if outcome.verdict != "ACCEPT":
        return None
    if path == "output":
        return "server"
    return {"local": "router", "forwarded": "server"}.get(outcome.arrived_at or "")


def problems_of(
    example: Example, outcome: D.Outcome, seen: Observation, numbers: dict, bridges: tuple[Bridge, ...]
) -> list[str]:
    """Every way the kernel differs from what iptlint states for one side (empty: they agree)."""
    return arrival_problems(example, outcome, seen, bridges) + counter_problems(outcome, seen, numbers)


def arrival_problems(example: Example, outcome: D.Outcome, seen: Observation, bridges: tuple[Bridge, ...]) -> list[str]:
    """How the kernel's verdict, arrival, destination and out interface differ from `outcome`."""
    packet = example.packet
    problems = []
    where = expected_place(outcome, example.path)
    if seen.where != where:
        problems.append(f"verdict: iptlint {outcome.text()} ({outcome.arrived_at}), kernel {seen.where or 'lost it'}")
    elif where is not None and seen.seen is not None:
        dst, port = address_of(outcome.destination, packet.get("dport") is not None)
        want_dst = dst or str(packet["dst"])
        if ipaddress.ip_address(seen.seen.dst) != ipaddress.ip_address(want_dst):  # IPv6: one address, many spellings
            problems.append(f"destination: iptlint {want_dst}, kernel {seen.seen.dst}")
        want_port = int(port) if port else packet.get("dport")
        if seen.seen.proto in (6, 17) and want_port is not None and seen.seen.dport != want_port:
            problems.append(f"destination port: iptlint {want_port}, kernel {seen.seen.dport}")
        bridge = bridge_of(want_dst, bridges)
        out = packet.get("out_iface") or (bridge.name if bridge else None)
        if bridge is not None and ipaddress.ip_address(want_dst) == bridge.gateway and not packet.get("out_iface"):
            out = "lo"  # translated to the host's own address on the bridge: it leaves by lo
        if where == "server" and out is not None and seen.iface != out:
            problems.append(f"out interface: iptlint {out}, kernel {seen.iface}")
    return problems


def counter_problems(outcome: D.Outcome, seen: Observation, numbers: dict) -> list[str]:
    """Whether the deciding rule (or the policy that decided) counted the packet."""
    problems = []
    if outcome.rule is not None:
        key = numbers.get(id(outcome.rule))
        if key is None or seen.counters_delta.get(key, 0) < 1:
            problems.append(f"the deciding rule {key} did not count the packet: {seen.counters_delta}")
    elif outcome.decider.startswith("policy of "):
        table, chain = outcome.decider.removeprefix("policy of ").split(" ", 1)
        if seen.policy_delta.get((table, chain), 0) < 1:
            problems.append(f"the policy of {table} {chain} did not count the packet: {seen.policy_delta}")
    return problems


@dataclass
class Tally:
    """What the pairs of every dump gave."""

    dumps: int = 0
    pairs: int = 0
    pairs_with_changes: int = 0
    examples: int = 0
    sent: int = 0  # example packets sent on both sides (on one, where iptlint says UNKNOWN on the other)
    agreed: int = 0  # ... whose checked sides all agree with the kernel
    one_side: int = 0  # ... checked on one side only
    refutable: int = 0  # self-check: sides whose kernel arrival tells the other side's statement apart
    refuted: int = 0  # ... and does: the comparison would catch a swapped statement
    states: Counter = field(default_factory=Counter)
    loops: Counter = field(default_factory=Counter)  # "via lo", "to itself" (the router sends them), "translated"
    counters_checked: int = 0  # sides whose deciding rule or policy counter was checked
    not_sendable: Counter = field(default_factory=Counter)
    mutations: Counter = field(default_factory=Counter)
    verdicts: Counter = field(default_factory=Counter)  # "DROP -> ACCEPT"...
    paths: Counter = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)


def explain(pair: Pair, example: Example, side: str, seen: Observation, problems: list[str]) -> str:
    lines = [f"{pair.name} ({pair.mutation}), {side} side: {example.change.text()}"]
    lines.append(f"  packet ({example.path}): {example.packet}")
    lines += [f"  - {problem}" for problem in problems]
    lines.append(f"  kernel: {seen.describe()}")
    return "\n".join(lines)


def send(lab: NetLab, example: Example, outcome: D.Outcome, bridges: tuple[Bridge, ...]) -> Observation:
    """Send the example in its world (made, then undone); connections of earlier packets forgotten."""
    make, undo = world(lab, example, bridges)
    proto = example.packet.get("proto")
    if example.path == "input" and isinstance(proto, int):
        lab.listen(proto)
    if make:
        ip_batch(lab.router, make)
    try:
        lab.flush_conntrack()
        if example.packet.get("ct_state") == "ESTABLISHED" and established_by(example) == "added":
            lab.add_connection(example.packet)
        wait = LONG_WAIT if outcome.verdict == "ACCEPT" else SHORT_WAIT
        if example.packet.get("in_iface") == "lo" and example.packet.get("ct_state") == "INVALID":
            return send_invalid_to_itself(lab, example, wait)
        if to_itself(example, bridges):
            return send_to_itself(lab, example, wait)
        return lab.send(lab_packet(example), wait=wait)
    finally:
        if undo:
            ip_batch(lab.router, undo)


def reload(lab: NetLab, text: str) -> str | None:
    """Load `text` into the lab; why the kernel refuses it (iptables-restore's complaint), or None."""
    try:
        lab.reload(text)
    except RuntimeError as error:
        return f"the kernel refuses the rewritten dump ({complaint(error)})"
    return None


def complaint(error: RuntimeError) -> str:
    """iptables-restore's complaint in a failed command's error."""
    return next((line for line in str(error).splitlines()[1:] if line.strip()), str(error)).strip()


def open_lab(text: str, links: dict[str, list[str]], backend: str, family: int) -> NetLab | str:
    """A built lab holding `text`, or why the kernel refuses the dump itself (a failed restore)."""
    lab = NetLab(text, links, default=DEFAULT_LINK, backend=backend, family=family)
    try:
        lab.__enter__()
    except RuntimeError as error:
        if "-restore" not in str(error).split(" failed:")[0]:
            raise
        first = str(error).split(" failed: ", 1)[-1].splitlines()[0].strip()
        unresolved = "; the lab has no name service" if "not found" in first else ""  # a host name in a rule
        return f"the kernel refuses the dump ({first}{unresolved})"
    return lab


def send_to_itself(lab: NetLab, example: Example, wait: float) -> Observation:
    """The router's packet to itself: "forwarded out lo" when it leaves by lo (captured there), else as `send`."""
    packet = lab_packet(example)
    with entered(lab.router):
        capture = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(lab.ethertype))
    try:
        capture.bind(("lo", lab.ethertype))
        capture.setblocking(False)
        seen = lab.send(packet, wait=wait)
        if seen.where == "server":  # translated to an address of the network
            return seen
        looped = next((s for s in captured(capture) if own_packet(s, packet)), None)
    finally:
        capture.close()
    if looped is None:
        return Observation(False, None, None, None, seen.counters_delta, seen.policy_delta)
    return Observation(True, "server", "lo", looped, seen.counters_delta, seen.policy_delta)


def captured(sock: socket.socket) -> list[Seen]:
    """Every IP packet waiting on a capture socket."""
    found = []
    while True:
        try:
            data = sock.recv(65535)
        except BlockingIOError:
            return found
        seen = Seen.of(data)
        if seen is not None:
            found.append(seen)


def own_packet(seen: Seen, packet: dict[str, Any]) -> bool:
    """Whether a packet seen on lo is the one the router sent (its source, protocol, source port or token)."""
    if seen.src != packet["src"] or seen.proto != packet["proto"]:
        return False
    return seen.payload.startswith(b"netlab") if seen.proto == 1 else seen.sport == packet["sport"]


def send_invalid_to_itself(lab: NetLab, example: Example, wait: float) -> Observation:
    """A TCP segment (ACK) of no connection, from the router to itself: INVALID while conntrack is strict.

    The lab's router picks up connections in their middle (`nf_conntrack_tcp_loose`),
    which would make the segment NEW; strict for this one packet, conntrack finds it
    INVALID in OUTPUT and again when it comes back in through lo.
    """
    wire = lab.wire_for(lab_packet(example))
    write_sysctl(lab.router, {"net.netfilter.nf_conntrack_tcp_loose": "0"})
    try:
        return lab.send_wire_from_router(wire, wait=wait)
    finally:
        write_sysctl(lab.router, {"net.netfilter.nf_conntrack_tcp_loose": "1"})


def check_dump(name: str, backend: str, rng: random.Random, tally: Tally) -> None:
    """Diff the dump's changing pairs; send every sendable example through both sides in one lab."""
    pairs = changed_pairs(name, FEWER_PAIRS.get(name, PAIRS_PER_DUMP), rng)
    tally.dumps += 1
    tally.pairs += len(pairs)
    bridges = docker_bridges(pairs[0].old) if pairs else ()
    sendable: list[tuple[Pair, list[Example]]] = []
    for pair in pairs:
        tally.mutations[pair.mutation] += 1
        tally.pairs_with_changes += bool(pair.examples)
        tally.examples += len(pair.examples)
        chosen = []
        for example in pair.examples:
            reason = unsendable(example, bridges) or loopback_blocked(example, pair)
            if reason is None:
                chosen.append(example)
            else:
                tally.not_sendable[reason] += 1
        if chosen:
            sendable.append((pair, chosen))
    if not sendable:
        return
    family = 6 if pairs[0].old.family is Family.IPV6 else 4
    lab = open_lab(sendable[0][0].old_text, lab_links(pairs, bridges, family), backend, family)
    if isinstance(lab, str):
        tally.not_sendable[lab] += sum(len(examples) for _, examples in sendable)
        return
    try:
        loaded: str | None = sendable[0][0].old_text
        for pair, examples in sendable:
            loaded = check_pair(lab, loaded, pair, examples, bridges, tally)
    finally:
        lab.close()


def check_pair(
    lab: NetLab, loaded: str | None, pair: Pair, examples: list[Example], bridges: tuple[Bridge, ...], tally: Tally
) -> str | None:
    """Send the pair's examples through the old then the new dump; the text the lab holds after."""
    problems: dict[int, list[str]] = {id(e): [] for e in examples}
    dropped: set[int] = set()
    for side, text, ruleset in (("old", pair.old_text, pair.old), ("new", pair.new_text, pair.new)):
        if text != loaded:
            refused = reload(lab, text)
            if refused is not None:
                tally.not_sendable[refused] += len(examples)
                return None
            loaded = text
        numbers = rule_numbers(ruleset)
        other = "new" if side == "old" else "old"
        for example in examples:
            if id(example) in dropped or side not in example.sides:
                continue
            outcome, stated_other = getattr(example.change, side), getattr(example.change, other)
            seen = send(lab, example, outcome, bridges)
            if seen.setup_failed:
                dropped.add(id(example))
                tally.not_sendable["ESTABLISHED: the ruleset refuses the connection's first packet"] += 1
                continue
            found = problems_of(example, outcome, seen, numbers, bridges)
            tally.counters_checked += outcome.rule is not None or outcome.decider.startswith("policy of ")
            if found:
                problems[id(example)].append(explain(pair, example, side, seen, found))
            if other in example.sides and refutable(example, outcome, stated_other):
                tally.refutable += 1
                tally.refuted += bool(arrival_problems(example, stated_other, seen, bridges))
    for example in examples:
        if id(example) in dropped:
            continue
        tally.sent += 1
        tally.one_side += len(example.sides) == 1
        tally.paths[example.path] += 1
        tally.loops["via lo"] += example.packet.get("in_iface") == "lo"
        tally.loops["to itself"] += to_itself(example, bridges)
        tally.loops["translated"] += example.translated
        tally.states[example.packet.get("ct_state", "NEW")] += 1
        tally.verdicts[f"{example.change.old.verdict}->{example.change.new.verdict}"] += 1
        if problems[id(example)]:
            tally.failures.extend(problems[id(example)])
        else:
            tally.agreed += 1
    return loaded


def refutable(example: Example, outcome: D.Outcome, other: D.Outcome) -> bool:
    """Whether the kernel's arrival alone tells the two stated outcomes apart (DROP and REJECT it does not)."""
    return expected_place(outcome, example.path) != expected_place(other, example.path) or (
        expected_place(outcome, example.path) is not None and outcome.destination != other.destination
    )


# ---------------------------------------------------------------------------------------
# The test
# ---------------------------------------------------------------------------------------


def files_of(family: Family, names: tuple[str, ...] = FILES) -> list[str]:
    """The dumps of `names` (in the corpus) of one family."""
    return [name for name in names if (REAL / name).exists() and ruleset_of(load(REAL / name), name).family is family]


def merged(*tallies: Tally) -> Tally:
    """The sum of several tallies (counts added, failures joined)."""
    total = Tally()
    for tally in tallies:
        for item in fields(Tally):
            setattr(total, item.name, getattr(total, item.name) + getattr(tally, item.name))
    return total


@pytest.mark.kernel
def test_diff_examples_get_the_stated_verdicts_in_the_kernel() -> None:
    requires_lab()
    requires_corpus()
    rng = random.Random(SEED)
    ipv4 = Tally()
    for index, name in enumerate(files_of(Family.IPV4)):
        check_dump(name, ("legacy", "nft")[index % 2], rng, ipv4)
    rng6 = random.Random(SEED + 6)  # the IPv4 dumps' draws stay what they were before IPv6 came
    ipv6 = Tally()
    for index, name in enumerate(files_of(Family.IPV6) + files_of(Family.IPV6, DOCKER6)):
        check_dump(name, ("legacy", "nft")[index % 2], rng6, ipv6)
    tally = merged(ipv4, ipv6)
    report_summary(summary_line(tally, ipv6))
    assert ipv6.dumps >= 3 and ipv6.sent >= 30, f"IPv6: {ipv6.sent} packets over {ipv6.dumps} dumps"
    assert tally.dumps >= 10 and tally.pairs >= 500, (tally.dumps, tally.pairs)
    assert tally.sent >= 150, f"only {tally.sent} example packets sent: {dict(tally.not_sendable)}"
    assert not tally.failures, f"{len(tally.failures)} disagreements:\n\n" + "\n\n".join(tally.failures[:8])
    assert tally.refuted == tally.refutable > 0, "the comparison failed to tell apart what the two sides state"


def summary_line(tally: Tally, ipv6: Tally) -> str:
    skipped = sum(tally.not_sendable.values())
    reasons = "; ".join(f"{n} {reason}" for reason, n in tally.not_sendable.most_common())
    return (
        f"iptlint diff on the kernel: {tally.sent} example packets from {tally.pairs} random changed pairs "
        f"over {tally.dumps} dumps ({ipv6.dumps} IPv6): {tally.agreed}/{tally.sent} verdicts agree "
        f"(IPv4 {tally.agreed - ipv6.agreed}/{tally.sent - ipv6.sent}, IPv6 {ipv6.agreed}/{ipv6.sent} from "
        f"{ipv6.pairs} pairs; old and new side, "
        f"{tally.one_side} on one side as iptlint says UNKNOWN on the other: verdict, arrival, destination "
        f"after NAT; {tally.counters_checked} deciding-rule or policy counters grew); "
        f"self-check: {tally.refuted}/{tally.refutable} observations refute the other side's statement; "
        f"{tally.pairs_with_changes} pairs reported changes, {tally.examples} examples, sent: "
        f"{', '.join(f'{n} {p}' for p, n in sorted(tally.paths.items()))} "
        f"({tally.loops['via lo']} via lo, {tally.loops['to itself']} from the host to itself; "
        f"{tally.loops['translated']} with NAT on a side); "
        f"{', '.join(f'{n} {v}' for v, n in tally.states.most_common())}; "
        f"{', '.join(f'{n} {v}' for v, n in tally.verdicts.most_common())}; "
        f"mutations {', '.join(f'{n} {m}' for m, n in sorted(tally.mutations.items()))}; "
        f"not sendable {skipped}: {reasons or 'none'}"
    )
