"""A small real network around one ruleset: send one packet, see where it went and which rules counted it.

The kernel differential tests (tests/test_kernel_differential.py) compare iptlint's
packet walk with the kernel.  This module is the kernel side.  `NetLab` builds, for one
iptables-save dump, a set of network namespaces::

    peer namespace "eth0"        router namespace (the host under test)        peer namespace "docker0"
    veth nlp0 <------------------> eth0 10.203.0.1/24      docker0 172.17.0.1/16 <--> veth nlp1
                                   ruleset loaded with iptables-(legacy|nft)-restore -c
                                   ip_forward=1, rp_filter=0

* The router's interfaces carry the names the dump uses (`eth0`, `docker0`, `br-xyz`,
  ...), each a veth whose other end sits alone in a *peer* namespace.  A peer has no IP
  configuration at all: it only sends and captures raw Ethernet frames (an AF_PACKET
  socket), so its own IP stack never answers, routes or filters anything.
* Every route of the router goes through one fictional next hop per interface (`via
  GW onlink`) with a permanent neighbour entry pointing at the peer's MAC address: no
  ARP, and a forwarded packet to *any* address of a subnet reaches the peer.  The
  default route leaves through the interface named `default`.
* Nothing the router itself emits may touch the counters (TCP resets, ICMP errors of
  REJECT or of a closed port, echo replies): an nftables chain at the first output
  hook (priority -1000, before iptables' raw OUTPUT) drops every packet that does not
  come from a socket of SENDER_UID, the uid the lab's own test sockets are made with.
  In an IPv4 lab IPv6 is disabled everywhere (no neighbour discovery chatter).
* An IPv6 lab (`family=6`) is the same with IPv6 addresses (added `nodad`), next hops
  fd00:198:18:N::2 with permanent neighbour entries (no NDP: the peers' IPv6 stacks are
  disabled, the router has no link-local address, takes no router advertisement, and
  its own MLD/NDP packets meet the silencer), `net.ipv6.conf.all.forwarding=1`, and
  `ip6tables-(legacy|nft)-restore`/`-save -c`.  Crafted packets have a 40-byte header
  with no extension header; TCP/UDP/ICMPv6 checksums cover the IPv6 pseudo-header; the
  packet's identification travels in the flow label (which no hop and no NAT changes).
  A raw IPv6 socket gets no IP header: the router's sockets read the destination
  (IPV6_PKTINFO) and flow label (IPV6_FLOWINFO) as ancillary data.  A raw ICMPv6
  socket drops a message with a wrong checksum, so an INVALID ICMPv6 packet delivered
  to the router cannot be seen arriving (the caller must not send one).
* A packet is one crafted frame sent by the peer of the packet's `in_iface` to the
  router's MAC address.  It *arrived* when a peer captures it (forwarded: `where` is
  "server", `iface` the router interface it left by) or when a raw IP socket in the
  router receives it (local delivery happens after the INPUT hook: `where` is
  "router").  Packets are recognised by their IP identification (IPv6: flow label),
  unique per lab.
* Counters: `iptables-save -c` (`ip6tables-save -c`) in the router before and after, parsed by iptlint's
  own parser; `counters_delta[(table, chain, rule_number)]` (rule numbers from 1, as
  `iptables -L --line-numbers`) and `policy_delta[(table, chain)]` hold what grew.
* `ct_state` "ESTABLISHED" (TCP or UDP forwarded, UDP to the router): the lab first
  opens the connection (SYN or a first datagram from the sender, the answer crafted by
  the peer that captured it, or sent by a UDP socket of the router), reads the
  counters, then sends the measured packet; `add_connection` creates one over
  ctnetlink instead (CTA_IP_V4_* or CTA_IP_V6_*).  Other states are
  what the crafted packet makes conntrack see (see `send`).

The caller keeps 5-tuples unique within one lab (conntrack remembers connections: a
second SYN of the same tuple would skip the nat table).  Everything lives in namespaces
the lab created; `close()` (the context manager's exit) deletes them, also on failure.
"""

from __future__ import annotations

import ctypes
import errno
import ipaddress
import itertools
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from iptlint.syntax.ast import Ruleset
from iptlint.syntax.parser import parse

CLONE_NEWNET = 0x40000000
ETH_P_IP = 0x0800
ETH_P_IPV6 = 0x86DD
PACKET_OUTGOING = 4
COMMAND_TIMEOUT = 30.0
ARRIVAL_WAIT = 0.3  # seconds: how long `send` waits for a packet that may arrive
SETUP_WAIT = 0.1  # opening a connection: both packets arrive within microseconds when they do
IPV6_QUIET = {  # an IPv6 lab's router: no link-local address, no DAD, no router advertisements taken
    "net.ipv6.conf.default.addr_gen_mode": "1",
    "net.ipv6.conf.all.accept_dad": "0",
    "net.ipv6.conf.default.accept_dad": "0",
    "net.ipv6.conf.all.accept_ra": "0",
    "net.ipv6.conf.default.accept_ra": "0",
    "net.ipv6.conf.default.router_solicitations": "0",
    "net.ipv6.conf.all.accept_redirects": "0",
}
SENDER_UID = 4242  # the router's own test packets come from sockets of this uid
# Drops every packet the router emits that is not from a SENDER_UID socket (TCP resets,
# ICMP errors, REJECT's answers, echo replies: the kernel's own sockets, or none), at the
# first output hook, before any iptables chain (raw OUTPUT is at -300).
SILENCER = f"""
table inet netlab_silencer {{
    chain output {{
        type filter hook output priority -1000; policy drop;
        meta skuid {SENDER_UID} accept
    }}
}}
"""
RAW_PROTOCOLS = (1, 6, 17, 47, 50)  # the router listens for locally delivered packets of these
RAW_PROTOCOLS6 = (58, 6, 17, 47, 50)  # ... in an IPv6 lab (58: ICMPv6)
IPV6_RECVPKTINFO, IPV6_PKTINFO, IPV6_FLOWINFO = 49, 50, 11  # <linux/in6.h>: what a raw IPv6 socket is told
NETLINK_NETFILTER = 12
CHECKSUM_AT = {6: 16, 17: 6, 1: 2, 58: 2}  # offset of the checksum in a TCP, UDP, ICMP header
CTNETLINK_NEW = (1 << 8) | 0  # IPCTNL_MSG_CT_NEW
NLM_F_EXCL, NLM_F_CREATE, NLA_F_NESTED = 0x200, 0x400, 0x8000
IPS_SEEN_REPLY, IPS_ASSURED, IPS_CONFIRMED = 1 << 1, 1 << 2, 1 << 3
TCP_CONNTRACK_ESTABLISHED = 3
CTNETLINK_DELETE = (1 << 8) | 2  # NFNL_SUBSYS_CTNETLINK, IPCTNL_MSG_CT_DELETE
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
BUILTIN_CHAINS = {  # what `reload` resets to ACCEPT
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "raw": ("PREROUTING", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}

_libc = ctypes.CDLL(None, use_errno=True)
_lab_numbers = itertools.count()


# ---------------------------------------------------------------------------------------
# Namespaces and commands
# ---------------------------------------------------------------------------------------


def missing_tools() -> str | None:
    """Why a lab cannot be built here (beyond root and iptables, see kernel.missing_tools), or None."""
    for tool in ("nft", "nsenter"):
        if shutil.which(tool) is None:
            return f"needs `{tool}`"
    return None


def netns_path(name: str) -> str:
    return f"/var/run/netns/{name}"


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


@contextmanager
def entered(namespace: str):
    """Run the block with this thread in `namespace` (sockets opened inside stay there)."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(netns_path(namespace), os.O_RDONLY)
    try:
        _setns(target)
        yield
    finally:
        _setns(own)
        os.close(own)
        os.close(target)


def run(argv: list[str], stdin: str = "", namespace: str | None = None) -> subprocess.CompletedProcess:
    """Run a command (inside `namespace` when given); raises with its error output if it fails."""
    if namespace is not None:
        argv = ["nsenter", f"--net={netns_path(namespace)}", *argv]
    done = subprocess.run(argv, input=stdin.encode(), capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr.decode(errors='replace').strip()}")
    return done


def ip_batch(namespace: str, commands: Iterable[str]) -> None:
    """Several `ip` commands in one process, inside `namespace`."""
    text = "\n".join(commands) + "\n"
    run(["ip", "-n", namespace, "-batch", "-"], text)


def write_sysctl(namespace: str, settings: Mapping[str, str]) -> None:
    """Set net.* sysctls of `namespace` (/proc/sys/net follows the opener's namespace)."""
    with entered(namespace):
        for key, value in settings.items():
            path = "/proc/sys/" + key.replace(".", "/")
            if os.path.exists(path):
                with open(path, "w") as handle:
                    handle.write(value)


# ---------------------------------------------------------------------------------------
# Packets on the wire
# ---------------------------------------------------------------------------------------


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_header(src: str, dst: str, proto: int, payload_length: int, ident: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s",
        0x45,
        0,
        20 + payload_length,
        ident,
        0,
        64,
        proto,
        0,
        socket.inet_aton(src),
        socket.inet_aton(dst),
    )
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:]


def ipv6_header(src: str, dst: str, proto: int, payload_length: int, ident: int) -> bytes:
    """40 bytes: version 6, the flow label carries `ident` (no router changes it), hop limit 64."""
    first = (6 << 28) | (ident & 0xFFFFF)
    addresses = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
    return struct.pack("!IHBB", first, payload_length, proto, 64) + addresses


def is_ipv6(address: str) -> bool:
    return ":" in address


def pseudo_header(src: str, dst: str, proto: int, length: int) -> bytes:
    if is_ipv6(src):  # RFC 8200 8.1
        addresses = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        return addresses + struct.pack("!IxxxB", length, proto)
    return socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, proto, length)


def tcp_segment(src: str, dst: str, sport: int, dport: int, flags: int, seq: int, ack: int) -> bytes:
    segment = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    value = checksum(pseudo_header(src, dst, 6, len(segment)) + segment)
    return segment[:16] + struct.pack("!H", value) + segment[18:]


def udp_datagram(src: str, dst: str, sport: int, dport: int, payload: bytes) -> bytes:
    datagram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    value = checksum(pseudo_header(src, dst, 17, len(datagram)) + datagram) or 0xFFFF
    return datagram[:6] + struct.pack("!H", value) + datagram[8:]


def icmp_message(icmp_type: int, code: int, ident: int, payload: bytes) -> bytes:
    if icmp_type in (13, 14):  # timestamp request/reply: three 32-bit timestamps
        payload = bytes(12)
    message = struct.pack("!BBHHH", icmp_type, code, 0, ident, 1) + payload
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def icmpv6_message(src: str, dst: str, icmp_type: int, code: int, ident: int, payload: bytes) -> bytes:
    """An ICMPv6 message (echo layout: identifier, sequence 1), its checksum over the IPv6 pseudo-header."""
    message = struct.pack("!BBHHH", icmp_type, code, 0, ident, 1) + payload
    value = checksum(pseudo_header(src, dst, 58, len(message)) + message)
    return message[:2] + struct.pack("!H", value) + message[4:]


@dataclass(frozen=True)
class Wire:
    """The header fields of one crafted IPv4 or IPv6 packet (IPv6 when the addresses are)."""

    src: str
    dst: str
    proto: int
    ident: int
    sport: int = 0
    dport: int = 0
    tcp_flags: int = 0x02
    seq: int = 0
    ack: int = 0
    icmp_type: int = 8
    icmp_code: int = 0
    icmp_id: int = 0
    corrupt: bool = False  # a wrong TCP/UDP/ICMP checksum: conntrack calls the packet INVALID (at PREROUTING)

    def bytes(self) -> bytes:
        token = b"netlab" + struct.pack("!H", self.ident)
        if self.proto == 6:
            body = tcp_segment(self.src, self.dst, self.sport, self.dport, self.tcp_flags, self.seq, self.ack)
        elif self.proto == 17:
            body = udp_datagram(self.src, self.dst, self.sport, self.dport, token)
        elif self.proto == 1:
            body = icmp_message(self.icmp_type, self.icmp_code, self.icmp_id, token)
        elif self.proto == 58 and is_ipv6(self.src):
            body = icmpv6_message(self.src, self.dst, self.icmp_type, self.icmp_code, self.icmp_id, token)
        else:
            body = token
        if self.corrupt and self.proto in CHECKSUM_AT:
            at = CHECKSUM_AT[self.proto]
            body = body[:at] + bytes([body[at] ^ 0xFF]) + body[at + 1 :]
        if is_ipv6(self.src):
            return ipv6_header(self.src, self.dst, self.proto, len(body), self.ident) + body
        return ipv4_header(self.src, self.dst, self.proto, len(body), self.ident) + body


@dataclass(frozen=True)
class Seen:
    """A captured IPv4 or IPv6 packet, as it left the router (after NAT); an IPv6 one's ident is its flow label."""

    src: str
    dst: str
    proto: int
    ident: int
    sport: int = 0
    dport: int = 0
    seq: int = 0
    payload: bytes = b""  # after the TCP/UDP/ICMP header: where the lab's token is

    @classmethod
    def of(cls, packet: bytes) -> Seen | None:
        if len(packet) >= 40 and packet[0] >> 4 == 6:  # no extension headers: the lab sends none
            ident, proto = struct.unpack("!I", packet[:4])[0] & 0xFFFF, packet[6]
            src = socket.inet_ntop(socket.AF_INET6, packet[8:24])
            dst = socket.inet_ntop(socket.AF_INET6, packet[24:40])
            return cls.parts(src, dst, proto, ident, packet[40:])
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return None
        length = (packet[0] & 0x0F) * 4
        ident, proto = struct.unpack("!H", packet[4:6])[0], packet[9]
        src, dst = socket.inet_ntoa(packet[12:16]), socket.inet_ntoa(packet[16:20])
        return cls.parts(src, dst, proto, ident, packet[length:])

    @classmethod
    def parts(cls, src: str, dst: str, proto: int, ident: int, body: bytes) -> Seen:
        sport = dport = seq = 0
        if proto in (6, 17) and len(body) >= 8:
            sport, dport = struct.unpack("!HH", body[:4])
            if proto == 6:
                seq = struct.unpack("!I", body[4:8])[0]
        payload = body[8:24] if proto in (1, 17, 58) else body[:16]
        return cls(src, dst, proto, ident, sport, dport, seq, payload)


def _attribute(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    header = struct.pack("=HH", 4 + len(payload), kind)
    return header + payload + bytes(-len(payload) % 4)


def _nested(kind: int, payload: bytes) -> bytes:
    return _attribute(kind | NLA_F_NESTED, payload)


def _addresses(src: str, dst: str) -> bytes:
    """CTA_IP_V4_SRC and CTA_IP_V4_DST (CTA_IP_V6_SRC and CTA_IP_V6_DST for IPv6 addresses)."""
    if is_ipv6(src):
        return _attribute(3, socket.inet_pton(socket.AF_INET6, src)) + _attribute(
            4, socket.inet_pton(socket.AF_INET6, dst)
        )
    return _attribute(1, socket.inet_aton(src)) + _attribute(2, socket.inet_aton(dst))


def _ports(proto: int, sport: int, dport: int) -> bytes:
    """CTA_TUPLE_PROTO: CTA_PROTO_NUM, CTA_PROTO_SRC_PORT, CTA_PROTO_DST_PORT."""
    items = _attribute(1, bytes([proto])) + _attribute(2, struct.pack("!H", sport))
    return _nested(2, items + _attribute(3, struct.pack("!H", dport)))


def _icmp(ident: int, icmp_type: int) -> bytes:
    """CTA_TUPLE_PROTO of ICMP: CTA_PROTO_NUM, CTA_PROTO_ICMP_ID, _TYPE, _CODE."""
    items = _attribute(1, bytes([1])) + _attribute(4, struct.pack("!H", ident))
    return _nested(2, items + _attribute(5, bytes([icmp_type])) + _attribute(6, bytes([0])))


def _icmpv6(ident: int, icmp_type: int) -> bytes:
    """CTA_TUPLE_PROTO of ICMPv6: CTA_PROTO_NUM, CTA_PROTO_ICMPV6_ID, _TYPE, _CODE."""
    items = _attribute(1, bytes([58])) + _attribute(7, struct.pack("!H", ident))
    return _nested(2, items + _attribute(8, bytes([icmp_type])) + _attribute(9, bytes([0])))


def mac_bytes(text: str) -> bytes:
    return bytes(int(part, 16) for part in text.split(":"))


# ---------------------------------------------------------------------------------------
# Counters
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Packet counters of every rule and built-in chain policy, from `iptables-save -c`."""

    rules: dict[tuple[str, str, int], int]
    policies: dict[tuple[str, str], int]

    @classmethod
    def of(cls, ruleset: Ruleset) -> Counts:
        rules: dict[tuple[str, str, int], int] = {}
        policies: dict[tuple[str, str], int] = {}
        for table in ruleset.tables:
            for chain in table.chains:
                if chain.builtin and chain.counters is not None:
                    policies[(table.name, chain.name)] = chain.counters.packets
                for number, rule in enumerate(chain.rules, 1):
                    rules[(table.name, chain.name, number)] = rule.counters.packets if rule.counters else 0
        return cls(rules, policies)

    def minus(self, before: Counts) -> tuple[dict, dict]:
        """What grew since `before`: (rules, policies), only the non-zero entries."""
        rules = {k: n - before.rules.get(k, 0) for k, n in self.rules.items() if n != before.rules.get(k, 0)}
        policies = {
            k: n - before.policies.get(k, 0) for k, n in self.policies.items() if n != before.policies.get(k, 0)
        }
        return rules, policies


@dataclass
class Observation:
    """What the kernel did with one packet.

    arrived: the packet got through (delivered to the router, or forwarded to a peer).
    where: "server" (forwarded out `iface`), "router" (local delivery) or None.
    seen: the packet as captured (after NAT), when it arrived.
    counters_delta: {(table, chain, rule_number): packets} for every rule that counted it.
    policy_delta: {(table, chain): packets} for every built-in chain whose policy applied.
    setup_failed: ESTABLISHED only: the connection could not be opened first (not measured).
    """

    arrived: bool
    where: str | None
    iface: str | None = None
    seen: Seen | None = None
    counters_delta: dict[tuple[str, str, int], int] = field(default_factory=dict)
    policy_delta: dict[tuple[str, str], int] = field(default_factory=dict)
    setup_failed: bool = False

    def describe(self) -> str:
        if self.setup_failed:
            return "the connection could not be opened first"
        place = {"server": f"forwarded out {self.iface}", "router": "delivered to the router"}.get(self.where, "")
        head = f"arrived ({place}) as {self.seen}" if self.arrived else "did not arrive"
        counted = ", ".join(f"{t} {c} #{n} +{d}" for (t, c, n), d in sorted(self.counters_delta.items()))
        policies = ", ".join(f"{t} {c} policy +{d}" for (t, c), d in sorted(self.policy_delta.items()))
        return f"{head}; rules counted: {counted or 'none'}; policies: {policies or 'none'}"


# ---------------------------------------------------------------------------------------
# The lab
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A router interface: its name, its addresses (CIDR), and the fictional next hop behind it."""

    name: str
    addresses: tuple[ipaddress.IPv4Interface | ipaddress.IPv6Interface, ...]
    index: int
    family: int = 4

    @property
    def gateway(self) -> str:
        return f"198.18.{self.index}.2" if self.family == 4 else f"fd00:198:18:{self.index}::2"

    @property
    def peer_name(self) -> str:
        return f"nlp{self.index}"


class NetLab:
    """A router namespace holding `ruleset_text`, with one peer namespace per interface.

    interfaces: {name: "10.203.0.1/24" or a list of such}: the router's interfaces and
    addresses (every address is local to the router; each prefix is routed to that
    interface).  default: the interface of the default route (None: no default route;
    a packet to an unrouted address is then lost in routing).  backend: "legacy" or "nft".
    family: 4 or 6, the one family the lab holds (its addresses, its ruleset, its
    packets; `ip6tables-*` for 6).
    """

    def __init__(
        self,
        ruleset_text: str,
        interfaces: Mapping[str, str | Iterable[str]],
        *,
        default: str | None = None,
        backend: str = "legacy",
        family: int = 4,
    ) -> None:
        self.text = ruleset_text
        self.backend = backend
        self.default = default
        self.family = family
        kind = ipaddress.IPv4Interface if family == 4 else ipaddress.IPv6Interface
        self.links = tuple(
            Link(name, tuple(kind(a) for a in ([spec] if isinstance(spec, str) else spec)), i, family)
            for i, (name, spec) in enumerate(interfaces.items())
        )
        self.tool = "iptables" if family == 4 else "ip6tables"
        self.address_family = socket.AF_INET if family == 4 else socket.AF_INET6
        self.ethertype = ETH_P_IP if family == 4 else ETH_P_IPV6
        self.prefix = f"nl{os.getpid()}x{next(_lab_numbers)}"
        self.router = f"{self.prefix}r"
        self.namespaces: list[str] = []
        self.router_macs: dict[str, bytes] = {}
        self.peer_sockets: dict[str, socket.socket] = {}
        self.peer_macs: dict[str, bytes] = {}
        self.raw_sockets: dict[int, socket.socket] = {}
        self.idents = itertools.count(1)
        self.counts: Counts | None = None

    # -- building and tearing down ---------------------------------------------------

    def __enter__(self) -> NetLab:
        try:
            self.build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def peer(self, link: Link) -> str:
        return f"{self.prefix}p{link.index}"

    def add_namespace(self, name: str) -> None:
        run(["ip", "netns", "add", name])
        self.namespaces.append(name)

    def build(self) -> None:
        self.add_namespace(self.router)
        for link in self.links:
            self.add_namespace(self.peer(link))
        quiet = {"net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1"}
        for namespace in self.namespaces:
            write_sysctl(namespace, quiet if self.family == 4 or namespace != self.router else IPV6_QUIET)
        self.wire_links()
        write_sysctl(self.router, self.router_sysctls())
        self.route()
        self.load_ruleset()
        self.open_sockets()
        self.counts = self.read_counts()

    def router_sysctls(self) -> dict[str, str]:
        if self.family == 6:
            return {"net.ipv6.conf.all.forwarding": "1", "net.netfilter.nf_conntrack_tcp_loose": "1"}
        settings = {
            "net.ipv4.ip_forward": "1",
            "net.ipv4.conf.all.rp_filter": "0",
            "net.ipv4.conf.default.rp_filter": "0",
            "net.ipv4.conf.all.send_redirects": "0",
            "net.ipv4.conf.all.accept_local": "0",
            "net.netfilter.nf_conntrack_tcp_loose": "1",
        }
        for link in self.links:
            settings[f"net.ipv4.conf.{link.name}.rp_filter"] = "0"
            settings[f"net.ipv4.conf.{link.name}.send_redirects"] = "0"
        return settings

    def wire_links(self) -> None:
        commands = []
        for link in self.links:
            commands.append(f"link add {link.name} type veth peer name {link.peer_name} netns {self.peer(link)}")
            commands.append(f"link set {link.name} up")
        commands.append("link set lo up")
        ip_batch(self.router, commands)
        for link in self.links:
            ip_batch(self.peer(link), [f"link set {link.peer_name} up", "link set lo up"])
        self.router_macs = self.macs(self.router)
        for link in self.links:
            self.peer_macs[link.name] = self.macs(self.peer(link))[link.peer_name]

    def macs(self, namespace: str) -> dict[str, bytes]:
        listing = json.loads(run(["ip", "-n", namespace, "-j", "link", "show"]).stdout)
        return {item["ifname"]: mac_bytes(item["address"]) for item in listing if item.get("address")}

    def route(self) -> None:
        """Addresses without prefix routes; each prefix and the default via the link's next hop.

        IPv6 addresses are added `nodad` (usable at once, no neighbour solicitation) and
        the next hop's neighbour entry is permanent as for IPv4: no NDP at all.
        """
        commands = []
        nodad = " nodad" if self.family == 6 else ""
        for link in self.links:
            for address in link.addresses:
                commands.append(f"address add {address} dev {link.name} noprefixroute{nodad}")
            mac = ":".join(f"{b:02x}" for b in self.peer_macs[link.name])
            commands.append(f"neighbor replace {link.gateway} lladdr {mac} dev {link.name} nud permanent")
            for network in {a.network for a in link.addresses if a.network.prefixlen < a.max_prefixlen}:
                commands.append(f"route add {network} via {link.gateway} dev {link.name} onlink")
        if self.default is not None:
            link = self.link(self.default)
            default = "default" if self.family == 4 else "::/0"
            commands.append(f"route add {default} via {link.gateway} dev {link.name} onlink")
        ip_batch(self.router, commands)
        run(["nft", "-f", "-"], SILENCER, namespace=self.router)

    def load_ruleset(self) -> None:
        run([f"{self.tool}-{self.backend}-restore", "-c"], self.text, namespace=self.router)

    def reload(self, ruleset_text: str) -> None:
        """Hold `ruleset_text` instead, in the same namespaces (building a lab costs far more than loading).

        Every table the router holds is emptied first (its chains flushed, user chains
        deleted, built-in policies ACCEPT), so nothing of the previous ruleset stays;
        connections are forgotten too (`flush_conntrack`), so the next packet is judged
        by the new ruleset alone.
        """
        listing = run([f"{self.tool}-{self.backend}-save"], namespace=self.router).stdout.decode()
        tables = [line[1:].strip() for line in listing.splitlines() if line.startswith("*")]
        empty = "".join(
            f"*{table}\n" + "".join(f":{chain} ACCEPT [0:0]\n" for chain in BUILTIN_CHAINS.get(table, ())) + "COMMIT\n"
            for table in tables
        )
        if empty:
            run([f"{self.tool}-{self.backend}-restore"], empty, namespace=self.router)
        self.text = ruleset_text
        self.load_ruleset()
        self.flush_conntrack()
        self.counts = self.read_counts()

    def flush_conntrack(self) -> None:
        """Forget every connection of the router (ctnetlink's IPCTNL_MSG_CT_DELETE without a tuple)."""
        with entered(self.router):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            message = struct.pack("=LHHLL", 20, CTNETLINK_DELETE, NLM_F_REQUEST | NLM_F_ACK, 1, 0)
            sock.send(message + struct.pack("=BBH", self.address_family, 0, 0))
            answer = sock.recv(65535)
        finally:
            sock.close()
        error = struct.unpack("=i", answer[16:20])[0] if len(answer) >= 20 else 0
        if error not in (0, -errno.ENOENT):
            raise OSError(-error, f"conntrack flush: {os.strerror(-error)}")

    def add_connection(self, packet: Mapping[str, Any]) -> None:
        """Make conntrack know the packet's connection as established (answered), whatever the ruleset says.

        For a packet that must be ESTABLISHED when the ruleset would not let the lab open
        its connection: the entry (TCP state ESTABLISHED, UDP or ICMP echo answered) is
        created over ctnetlink, without NAT.  TCP, UDP and ICMP echo requests only.
        """
        proto, src, dst = int(packet["proto"]), str(packet["src"]), str(packet["dst"])
        if proto in (6, 17):
            sport, dport = int(packet["sport"]), int(packet["dport"])
            forward = _ports(proto, sport, dport)
            backward = _ports(proto, dport, sport)
        elif proto == 1 and int(packet.get("icmp_type", 8)) == 8:
            ident = int(packet.get("icmp_id", 0))
            forward = _icmp(ident, 8)
            backward = _icmp(ident, 0)
        elif proto == 58 and int(packet.get("icmp_type", 128)) == 128:
            ident = int(packet.get("icmp_id", 0))
            forward = _icmpv6(ident, 128)
            backward = _icmpv6(ident, 129)
        else:
            raise ValueError(f"no connection to add for protocol {proto}")
        attributes = _nested(1, _nested(1, _addresses(src, dst)) + forward)  # CTA_TUPLE_ORIG
        attributes += _nested(2, _nested(1, _addresses(dst, src)) + backward)  # CTA_TUPLE_REPLY
        attributes += _attribute(3, struct.pack("!I", IPS_SEEN_REPLY | IPS_ASSURED | IPS_CONFIRMED))  # CTA_STATUS
        attributes += _attribute(7, struct.pack("!I", 120))  # CTA_TIMEOUT
        if proto == 6:  # CTA_PROTOINFO / CTA_PROTOINFO_TCP / CTA_PROTOINFO_TCP_STATE
            attributes += _nested(4, _nested(1, _attribute(1, bytes([TCP_CONNTRACK_ESTABLISHED]))))
        body = struct.pack("=BBH", self.address_family, 0, 0) + attributes
        flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
        with entered(self.router):
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        try:
            sock.send(struct.pack("=LHHLL", 16 + len(body), CTNETLINK_NEW, flags, 2, 0) + body)
            answer = sock.recv(65535)
        finally:
            sock.close()
        error = struct.unpack("=i", answer[16:20])[0] if len(answer) >= 20 else 0
        if error != 0:
            raise OSError(-error, f"conntrack add: {os.strerror(-error)}")

    def listen(self, proto: int) -> None:
        """Also see locally delivered packets of IP protocol `proto` (RAW_PROTOCOLS are seen from the start)."""
        if proto in self.raw_sockets:
            return
        self.raw_sockets[proto] = self.raw_socket(proto)

    def raw_socket(self, proto: int) -> socket.socket:
        """A raw socket of the router; an IPv6 one is told each packet's destination and flow label."""
        with entered(self.router):
            sock = socket.socket(self.address_family, socket.SOCK_RAW, proto)
        if self.family == 6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_FLOWINFO, 1)
        sock.setblocking(False)
        return sock

    def open_sockets(self) -> None:
        for link in self.links:
            with entered(self.peer(link)):
                sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(self.ethertype))
                sock.bind((link.peer_name, self.ethertype))
                sock.setblocking(False)
                self.peer_sockets[link.name] = sock
        for proto in RAW_PROTOCOLS if self.family == 4 else RAW_PROTOCOLS6:
            self.raw_sockets[proto] = self.raw_socket(proto)

    def close(self) -> None:
        for sock in [*self.peer_sockets.values(), *self.raw_sockets.values()]:
            sock.close()
        self.peer_sockets.clear()
        self.raw_sockets.clear()
        for namespace in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True, check=False)
        self.namespaces.clear()

    # -- what the router knows ---------------------------------------------------------

    def link(self, name: str) -> Link:
        return next(link for link in self.links if link.name == name)

    @property
    def local_addresses(self) -> tuple[str, ...]:
        """The router's own addresses (what iptlint's walk is told is local), loopback aside."""
        return tuple(str(a.ip) for link in self.links for a in link.addresses)

    @property
    def interface_addresses(self) -> tuple[str, ...]:
        """The router's addresses as `--local-address` takes them, `ADDR/PREFIX@IFACE`.

        Each interface's first address is its primary one (what REDIRECT sends to); the
        prefixes give the subnet broadcast addresses the router delivers locally.
        """
        return tuple(f"{a.ip}/{a.network.prefixlen}@{link.name}" for link in self.links for a in link.addresses)

    def out_interface(self, dst: str) -> str | None:
        """The interface the router forwards `dst` by (longest prefix), None when unrouted or local."""
        address = ipaddress.ip_address(dst)
        if dst in self.local_addresses or address.is_loopback:
            return None
        routes = [
            (interface.network.prefixlen, link.name)
            for link in self.links
            for interface in link.addresses
            if interface.network.prefixlen < interface.max_prefixlen and address in interface.network
        ]
        return max(routes)[1] if routes else self.default

    def read_counts(self) -> Counts:
        text = run([f"{self.tool}-{self.backend}-save", "-c"], namespace=self.router).stdout.decode()
        return Counts.of(parse(text, "iptables-save").ruleset)

    # -- sending -----------------------------------------------------------------------

    def drain(self) -> None:
        for sock in [*self.peer_sockets.values(), *self.raw_sockets.values()]:
            while True:
                try:
                    sock.recv(65535)
                except BlockingIOError:
                    break

    def emit(self, in_iface: str, wire: Wire) -> None:
        """Send `wire` from the peer behind `in_iface` to the router."""
        frame = self.router_macs[in_iface] + self.peer_macs[in_iface] + struct.pack("!H", self.ethertype) + wire.bytes()
        self.peer_sockets[in_iface].send(frame)

    def catch(self, wanted: int | Callable[[Seen], bool], wait: float) -> tuple[str | None, str | None, Seen | None]:
        """Wait up to `wait` seconds for a packet (an IP id, or a test): (where, iface, seen)."""
        if isinstance(wanted, int):
            ident = wanted
            wanted = lambda seen: seen.ident == ident  # noqa: E731
        by_fd = {sock.fileno(): ("server", name, sock) for name, sock in self.peer_sockets.items()}
        by_fd |= {sock.fileno(): ("router", None, sock) for sock in self.raw_sockets.values()}
        deadline = time.monotonic() + wait
        while True:
            ready, _, _ = select.select(list(by_fd), [], [], max(0.0, deadline - time.monotonic()))
            for fd in ready:
                where, iface, sock = by_fd[fd]
                found = self.receive(sock, where, wanted)
                if found is not None:
                    return where, iface, found
            if time.monotonic() >= deadline:
                return None, None, None

    def receive(self, sock: socket.socket, where: str, wanted: Callable[[Seen], bool]) -> Seen | None:
        while True:
            try:
                if where == "router" and self.family == 6:
                    seen = self.receive_ipv6(sock)
                    if seen is not None and wanted(seen):
                        return seen
                    continue
                data, address = sock.recvfrom(65535)
            except BlockingIOError:
                return None
            if where == "server":
                if address[2] == PACKET_OUTGOING:
                    continue
                data = data[14:]  # the Ethernet header
            seen = Seen.of(data)
            if seen is not None and wanted(seen):
                return seen

    def receive_ipv6(self, sock: socket.socket) -> Seen | None:
        """One packet of a raw IPv6 socket (which gets no IPv6 header): addresses and flow label from ancillary data."""
        data, ancillary, _, address = sock.recvmsg(65535, 256)
        dst, flow = "::", 0
        for level, kind, value in ancillary:
            if level == socket.IPPROTO_IPV6 and kind == IPV6_PKTINFO:
                dst = socket.inet_ntop(socket.AF_INET6, value[:16])
            elif level == socket.IPPROTO_IPV6 and kind == IPV6_FLOWINFO:
                flow = struct.unpack("!I", value[:4])[0]
        proto = next(number for number, raw in self.raw_sockets.items() if raw is sock)
        return Seen.parts(address[0], dst, proto, flow & 0xFFFF, data)

    def wire_for(self, packet: Mapping[str, Any], **changes: Any) -> Wire:
        proto = int(packet["proto"])
        fields = {
            "src": str(packet["src"]),
            "dst": str(packet["dst"]),
            "proto": proto,
            "ident": next(self.idents) & 0xFFFF,
        }
        if proto in (6, 17):
            fields |= {"sport": int(packet["sport"]), "dport": int(packet["dport"])}
        if proto == 6:
            fields |= {"tcp_flags": int(packet.get("tcp_flags", 0x02)), "seq": int(packet.get("seq", 1000))}
        if proto in (1, 58):
            fields |= {
                "icmp_type": int(packet.get("icmp_type", 8 if proto == 1 else 128)),
                "icmp_code": int(packet.get("icmp_code", 0)),
                "icmp_id": int(packet.get("icmp_id", 0)),
            }
        if packet.get("checksum") == "wrong":  # lab-only: see Wire.corrupt
            fields["corrupt"] = True
        return Wire(**(fields | changes))

    def send(self, packet: Mapping[str, Any], *, wait: float = ARRIVAL_WAIT) -> Observation:
        """Send one packet described like iptlint's packet dicts; see the module docstring.

        Fields used: in_iface, src, dst, proto, sport, dport (TCP/UDP), tcp_flags (TCP,
        default SYN), icmp_type, icmp_code, and the lab-only `icmp_id`, `seq`.  ct_state
        ESTABLISHED opens the connection first; any other state is what the packet is.
        """
        in_iface = packet.get("in_iface")
        if not in_iface:
            return self.send_from_router(packet, wait)
        first = self.wire_for(packet)
        if packet.get("ct_state") == "ESTABLISHED":
            measured = self.open_connection(in_iface, first)
            if measured is None:
                return Observation(False, None, setup_failed=True)
        else:
            measured = first
        return self.measure(in_iface, measured, wait)

    def measure(self, in_iface: str, wire: Wire, wait: float) -> Observation:
        self.drain()
        before = self.counts if self.counts is not None else self.read_counts()
        self.emit(in_iface, wire)
        where, iface, seen = self.catch(wire.ident, wait)
        after = self.read_counts()
        if where is None:  # a last look, after the time iptables-save took
            where, iface, seen = self.catch(wire.ident, 0.0)
        self.counts = after
        rules, policies = after.minus(before)
        return Observation(where is not None, where, iface, seen, rules, policies)

    def open_connection(self, in_iface: str, first: Wire) -> Wire | None:
        """Open a TCP/UDP connection with `first` and its answer; the next packet of it, or None."""
        if first.proto not in (6, 17):
            return None
        opening = first if first.proto == 17 else Wire(**{**first.__dict__, "tcp_flags": 0x02})
        self.drain()
        self.emit(in_iface, opening)
        where, iface, seen = self.catch(opening.ident, SETUP_WAIT)
        if where == "router" and seen is not None and first.proto == 17:
            answered = self.answer_from_router(seen)
            self.counts = None  # the opening packets counted: read again before measuring
            return Wire(**{**first.__dict__, "ident": next(self.idents) & 0xFFFF}) if answered else None
        if where != "server" or seen is None or iface is None:
            self.counts = None
            return None
        answer = Wire(
            src=seen.dst,
            dst=seen.src,
            proto=seen.proto,
            ident=next(self.idents) & 0xFFFF,
            sport=seen.dport,
            dport=seen.sport,
            tcp_flags=0x12,
            seq=5000,
            ack=opening.seq + 1,
        )
        self.drain()
        self.emit(iface, answer)
        back, _, _ = self.catch(answer.ident, SETUP_WAIT)
        self.counts = None  # the opening packets counted: read again before measuring
        if back != "server":
            return None
        changes = {"ident": next(self.idents) & 0xFFFF}
        if first.proto == 6:
            changes |= {"tcp_flags": 0x10, "seq": opening.seq + 1, "ack": 5001}
        return Wire(**{**first.__dict__, **changes})

    def answer_from_router(self, seen: Seen) -> bool:
        """Answer a UDP datagram delivered to the router from a socket of its own; True if the answer got out."""
        sock = self.router_socket(17)
        token = b"netlab" + struct.pack("!H", next(self.idents) & 0xFFFF)
        try:
            sock.bind((seen.dst, seen.dport))
            sock.sendto(token, (seen.src, seen.sport))
            where, _, _ = self.catch(lambda back: back.proto == 17 and back.payload.startswith(token), SETUP_WAIT)
        except PermissionError:
            return False  # the OUTPUT path dropped the answer
        finally:
            sock.close()
        return where == "server"

    # -- packets the router sends itself (the OUTPUT path) -----------------------------

    def send_from_router(self, packet: Mapping[str, Any], wait: float) -> Observation:
        """A packet of the router's own: a TCP connect() (its SYN), a UDP datagram or an ICMP echo request.

        The socket belongs to SENDER_UID, so the silencer lets it out; its source
        address is the one the kernel picks.  A packet the OUTPUT
        chain drops fails the send with EPERM, which is simply "not arrived".
        """
        proto, dst = int(packet["proto"]), str(packet["dst"])
        token = b"netlab" + struct.pack("!H", next(self.idents) & 0xFFFF)
        self.drain()
        before = self.counts if self.counts is not None else self.read_counts()
        sock = self.router_socket(proto)
        try:
            sport = self.emit_from_router(sock, packet, dst, token)
            if proto == 6:
                wanted = lambda seen: seen.proto == 6 and seen.sport == sport  # noqa: E731
            else:
                wanted = lambda seen: seen.proto == proto and seen.payload.startswith(token)  # noqa: E731
            where, iface, seen = self.catch(wanted, wait)
        finally:
            sock.close()  # a TCP socket closed in SYN_SENT sends nothing more
        after = self.read_counts()
        if where is None:
            where, iface, seen = self.catch(wanted, 0.0)
        self.counts = after
        rules, policies = after.minus(before)
        return Observation(where is not None, where, iface, seen, rules, policies)

    def send_wire_from_router(self, wire: Wire, *, wait: float = ARRIVAL_WAIT) -> Observation:
        """The router sends `wire` as it is (a raw IP_HDRINCL socket of SENDER_UID), through its OUTPUT path.

        For a packet of the router's own that none of its sockets would make (a TCP
        segment outside any connection, a chosen source).  Observed like `send`.
        """
        self.drain()
        before = self.counts if self.counts is not None else self.read_counts()
        with entered(self.router):
            previous = _libc.setfsuid(SENDER_UID)
            try:
                sock = socket.socket(self.address_family, socket.SOCK_RAW, socket.IPPROTO_RAW)
            finally:
                _libc.setfsuid(previous)
        try:
            with suppress(PermissionError):  # the OUTPUT path dropped it
                sock.sendto(wire.bytes(), (wire.dst, 0))
            where, iface, seen = self.catch(wire.ident, wait)
        finally:
            sock.close()
        after = self.read_counts()
        if where is None:
            where, iface, seen = self.catch(wire.ident, 0.0)
        self.counts = after
        rules, policies = after.minus(before)
        return Observation(where is not None, where, iface, seen, rules, policies)

    def router_socket(self, proto: int) -> socket.socket:
        kinds = {6: (socket.SOCK_STREAM, 0), 17: (socket.SOCK_DGRAM, 0), 1: (socket.SOCK_RAW, socket.IPPROTO_ICMP)}
        kinds[58] = (socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        kind, number = kinds[proto]
        with entered(self.router):
            previous = _libc.setfsuid(SENDER_UID)
            try:
                sock = socket.socket(self.address_family, kind, number)
            finally:
                _libc.setfsuid(previous)
        sock.setblocking(False)
        return sock

    def emit_from_router(self, sock: socket.socket, packet: Mapping[str, Any], dst: str, token: bytes) -> int:
        """Send through `sock`; the source port used (0 for ICMP)."""
        proto = int(packet["proto"])
        sport = int(packet.get("sport", 0))
        anywhere = "0.0.0.0" if self.family == 4 else "::"
        source = str(packet.get("bind_src", anywhere))  # lab-only: one of the router's addresses, else any
        try:
            if proto in (1, 58):
                if "bind_src" in packet:
                    sock.bind((source, 0))
                request = 8 if proto == 1 else 128  # the kernel computes an ICMPv6 checksum itself
                sock.sendto(icmp_message(request, 0, int(packet.get("icmp_id", 0)), token), (dst, 0))
                return 0
            sock.bind((source, sport))
            if proto == 17:
                sock.sendto(token, (dst, int(packet["dport"])))
            else:
                sock.connect_ex((dst, int(packet["dport"])))
        except PermissionError:
            pass  # the OUTPUT path dropped it
        return sport
