"""One packet through the kernel's chains, in order: what `iptlint trace` shows.

    trace = walk(ruleset, {"in_iface": "eth0", "src": "198.51.100.7", "dst": "203.0.113.10",
                           "proto": 6, "dport": 80, "ct_state": "NEW"},
                 local_addresses=("203.0.113.10",))
    trace.verdict        # "ACCEPT" | "DROP" | "REJECT" | "UNKNOWN"
    trace.decided_by     # the Rule that settled it (None: a policy, or nothing decided)
    trace.matched        # every rule that matched, in order (their counters would grow)
    trace.arrived_at     # "local" | "forwarded" | None (local output, or stopped before routing)

A packet is a dict field -> value with the fields of `iptlint.semantics.packets.FIELDS`
(`"dst": "203.0.113.10"`, `"proto": 6`, `"ct_state": "NEW"`...).  A field left out is
unknown: a rule whose result depends on it is undetermined, and so is the trace.

The path (netfilter's hooks, each table at its priority):

- incoming (an `in_iface`): raw PREROUTING, mangle PREROUTING, nat PREROUTING; then
  the routing decision: to a local address, mangle INPUT, filter INPUT, security INPUT,
  nat INPUT; otherwise mangle FORWARD, filter FORWARD, security FORWARD, mangle
  POSTROUTING, nat POSTROUTING.
- local output (no `in_iface`): raw OUTPUT, mangle OUTPUT, nat OUTPUT, filter OUTPUT,
  security OUTPUT, mangle POSTROUTING, nat POSTROUTING.  (A packet a host sends to
  itself then comes back in on `lo`; trace that as a second, incoming packet.)

The nat chains see only a connection's first packet (`ct_state` NEW).  Later packets
(ESTABLISHED, RELATED) get the translation the kernel bound to the connection then,
without traversing them: the destination NAT at PREROUTING (OUTPUT), the source NAT at
POSTROUTING (INPUT).  So the walk first walks the connection's first packet (the same
fields, NEW, `mark` as it entered, no connection mark: `opening_packet`) to learn that
NAT (`Connection`, `trace.connection`), then the packet itself: at each nat hook a
"skip" step names the connection's NAT there and its rewrites apply, and `ct_snat`/
`ct_dnat` hold from the start, as the connection's status does.  A NAT the first
packet's walk cannot tell (it stopped before that hook) makes the fields it would
rewrite unknown.  (RELATED: the walk takes the packet's own fields for the connection's.)
INVALID and UNTRACKED packets are never translated.  DNAT happens in PREROUTING (or
OUTPUT), so FORWARD and INPUT see the new destination; `ct_orig_dst`/`ct_orig_dport`
keep the old one, `ct_dnat` is set.

Chains: `-j CHAIN` calls, `-g CHAIN` goes (a RETURN or the end of the chain then
goes back to the caller of the chain that did the goto), RETURN or the end of a
built-in chain applies its policy; a missing built-in chain or one without a policy
accepts.  Targets: ACCEPT, DROP, REJECT end the walk or the table; DNAT, REDIRECT,
SNAT, MASQUERADE and NETMAP rewrite the packet and end the nat table; MARK and
CONNMARK set `mark`/`ct_mark` and go on; `CT --notrack`/NOTRACK make the packet
UNTRACKED; LOG, NFLOG and every other non-terminal target go on; a terminal target
iptlint does not follow (NFQUEUE, TPROXY...), QUEUE and an unknown target end the walk
with the verdict UNKNOWN.

What the walk infers, and says so in `trace.notes`:

- Whether an address is local: `local_addresses` when given (plus loopback), each
  `ADDR[/PREFIX][@IFACE]` (`LocalAddress`);
  otherwise what the dump implies: loopback, and each Docker bridge's gateway, the
  first address of the subnet its `-s SUBNET ! -o BRIDGE -j MASQUERADE` (or SNAT)
  rule names (Docker's default unless `--bip`/`--gateway` chose another); other
  addresses of such a subnet are containers, not local.  Otherwise a `dst_local`
  given with the packet is used as long as the destination is not rewritten, and
  else it stays unknown.
- Local delivery: a local destination, and also a broadcast address of the host's
  subnets (a local address given with its prefix, a Docker bridge) or 255.255.255.255:
  the kernel's local routes hold them (addrtype BROADCAST, so `dst_local` stays false).
  A local address given without its prefix leaves each address that could be its
  subnet's broadcast undecided.
- REDIRECT (not from OUTPUT) sends to the in interface's primary address: the first
  local address given `@IFACE` for it, a Docker bridge's gateway, or the only local
  address given; otherwise the new destination is unknown.
- The out interface of a forwarded packet: `out_iface` when given, else the Docker
  bridge whose subnet holds the destination, else unknown.
- The source of a packet the host sends, when not given: the destination itself when
  it is local, the bridge's gateway when it goes to a Docker bridge.  A packet coming
  in from a network interface (not `lo`) has a non-local source unless it is one of
  the local addresses.
- Defaults: `ct_state` NEW, `mark` 0, `ct_mark` 0 for a NEW packet, `ct_snat` and
  `ct_dnat` false, `fragment` false, TCP flags SYN for a NEW TCP packet and ACK
  otherwise, `ct_orig_dst`/`ct_orig_dport` the destination as the packet arrives.
- The packet travels in the connection's original direction.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from iptlint.docker.model import MasqueradedBridge as Bridge
from iptlint.docker.model import masqueraded_bridges as docker_bridges
from iptlint.extensions import find as find_extension
from iptlint.semantics import packets as p
from iptlint.semantics.models import ModelContext, match_bounds
from iptlint.semantics.models.basics import option_bounds
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Family, Match, Option, Rule, Ruleset, TargetKind

VERDICTS = ("ACCEPT", "DROP", "REJECT", "UNKNOWN")
NAT_TARGETS = frozenset({"DNAT", "REDIRECT", "SNAT", "MASQUERADE", "NETMAP"})
PORT_PROTOCOLS = frozenset({6, 17, 33, 132, 136})
MAX_EVALUATIONS = 100_000
MAX_DEPTH = 64

Path = tuple[tuple[str, str], ...]  # (hook, table) in order

PREROUTING: Path = (("PREROUTING", "raw"), ("PREROUTING", "mangle"), ("PREROUTING", "nat"))
LOCAL_INPUT: Path = (("INPUT", "mangle"), ("INPUT", "filter"), ("INPUT", "security"), ("INPUT", "nat"))
FORWARDING: Path = (
    ("FORWARD", "mangle"),
    ("FORWARD", "filter"),
    ("FORWARD", "security"),
    ("POSTROUTING", "mangle"),
    ("POSTROUTING", "nat"),
)
LOCAL_OUTPUT: Path = (
    ("OUTPUT", "raw"),
    ("OUTPUT", "mangle"),
    ("OUTPUT", "nat"),
    ("OUTPUT", "filter"),
    ("OUTPUT", "security"),
    ("POSTROUTING", "mangle"),
    ("POSTROUTING", "nat"),
)


# ---------------------------------------------------------------------------------------
# The result
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One thing that happened: a rule evaluated, a policy applied, a chain left, a table skipped.

    kind: "rule" (a rule was evaluated: `rule`, `matched`), "policy" (the built-in chain's
    policy decided), "return" (the end of a user chain: back to the caller), "skip" (a
    table the packet does not traverse, `action` says why), "route" (the routing decision).
    matched: True / False / None (unknown: `unknown` names the part that could go either way).
    counted: whether a counter sees the step (every step the walk makes today).
    depth: how many chains deep (0: the built-in chain).
    """

    kind: str
    hook: str
    table: str
    chain: str
    action: str
    rule: Rule | None = None
    matched: bool | None = None
    unknown: str | None = None
    counted: bool = True
    depth: int = 0


@dataclass(frozen=True)
class Rewrite:
    """A field the packet changed: `dst` 203.0.113.10 -> 172.17.0.2 by a DNAT rule."""

    hook: str
    table: str
    chain: str
    rule: Rule | None
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class Trace:
    path: str  # the dump's file name, for file:line
    family: Family
    origin: str  # "incoming" | "output"
    packet: tuple[tuple[str, Any], ...]  # as it entered, defaults filled in
    final: tuple[tuple[str, Any], ...]  # as it left (or stopped)
    steps: tuple[Step, ...]
    rewrites: tuple[Rewrite, ...]
    verdict: str
    reason: str  # one sentence: why this verdict
    decided_by: Rule | None
    decision: Step | None  # the step that gave the verdict (a rule's or a policy's)
    arrived_at: str | None  # "local" | "forwarded" | None
    notes: tuple[str, ...] = ()  # what was inferred, and from where
    connection: Connection | None = None  # ESTABLISHED/RELATED: its connection's first packet and NAT

    @property
    def matched(self) -> tuple[Rule, ...]:
        """Every rule that matched, in order (the rules whose counters the packet increments)."""
        return tuple(s.rule for s in self.steps if s.kind == "rule" and s.matched and s.counted and s.rule)

    @property
    def undetermined(self) -> Step | None:
        """The step whose match could not be decided, when that is what stopped the walk."""
        return next((s for s in self.steps if s.kind == "rule" and s.matched is None), None)

    @property
    def input_packet(self) -> dict[str, Any]:
        return dict(self.packet)

    @property
    def final_packet(self) -> dict[str, Any]:
        return dict(self.final)

    def location(self, rule: Rule) -> str:
        """`file:line` of a rule."""
        return f"{self.path}:{rule.line}"


# ---------------------------------------------------------------------------------------
# Packets: validation and defaults
# ---------------------------------------------------------------------------------------


def normalized(packet: Mapping[str, Any], family: Family) -> dict[str, Any]:
    """The packet with readable, checked values (str addresses, int numbers); ValueError if bad."""
    out: dict[str, Any] = {}
    for name, value in packet.items():
        if value is None:
            continue
        spec = p.SPECS.get(name)
        if spec is None:
            raise ValueError(f"unknown packet field {name!r}; fields are {', '.join(p.FIELD_NAMES)}")
        number = p.encode(name, value, family)
        if not p.domain(name, family).contains(number):
            raise ValueError(f"{name} {value!r} is out of range")
        decoded = p.decode(name, number, family)
        out[name] = str(decoded) if spec.kind == "address" else decoded
    return out


def with_defaults(packet: dict[str, Any], origin: str, connection: Connection | None = None) -> dict[str, Any]:
    """Fill in what a fresh packet has unless told otherwise (see the module docstring).

    For an ESTABLISHED/RELATED packet `connection` gives `ct_snat`/`ct_dnat` (left out
    when the walk of its first packet cannot tell them).
    """
    filled = dict(packet)
    filled.setdefault("ct_state", "NEW")
    new = filled["ct_state"] == "NEW"
    filled.setdefault("mark", 0)
    if new:
        filled.setdefault("ct_mark", 0)
    for flag in ("ct_snat", "ct_dnat"):
        value = connection.flag(flag) if connection is not None else False
        if value is not None:
            filled.setdefault(flag, value)
    filled.setdefault("fragment", False)
    if filled.get("proto") == 6:
        filled.setdefault("tcp_flags", p.TCP_FLAG_BITS["SYN"] if new else p.TCP_FLAG_BITS["ACK"])
    if "dst" in filled:
        filled.setdefault("ct_orig_dst", filled["dst"])
    if "dport" in filled:
        filled.setdefault("ct_orig_dport", filled["dport"])
    if origin == "output":
        filled["in_iface"] = ""
        filled.setdefault("src_local", True)
    return filled


# ---------------------------------------------------------------------------------------
# What the dump tells about the host: Docker bridges, local addresses
# ---------------------------------------------------------------------------------------


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class LocalAddress:
    """An address of the host, as `--local-address ADDR[/PREFIX][@IFACE]` gives it.

    The prefix tells the subnet (whose broadcast address the kernel delivers locally,
    IPv4 below /31); the interface tells which address REDIRECT sends to (the in
    interface's primary address: the first one given for that interface, so give them
    in the order `ip addr show IFACE` lists them; for IPv6, the first of the original
    destination's scope, link-local or not).
    """

    address: IPAddress
    prefix: int | None = None
    interface: str | None = None

    @classmethod
    def parse(cls, text: str | LocalAddress) -> LocalAddress:
        """`10.0.0.1`, `10.0.0.1/24`, `10.0.0.1/24@eth0`, `10.0.0.1@eth0`; ValueError if bad."""
        if isinstance(text, LocalAddress):
            return text
        spec, at, name = str(text).strip().partition("@")
        interface = None
        if at:
            from iptlint.syntax.values import interface as interface_name

            interface = interface_name(name, Family.IPV4).name
            if interface.endswith("+"):
                raise ValueError(f"local address {text}: {interface} is a pattern, not an interface")
        try:
            if "/" in spec:
                parsed = ipaddress.ip_interface(spec)
                return cls(parsed.ip, parsed.network.prefixlen, interface)
            return cls(ipaddress.ip_address(spec), None, interface)
        except ValueError:
            raise ValueError(f"local address {text!r} is not ADDR[/PREFIX][@IFACE]") from None

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
        if self.prefix is None:
            return None
        return ipaddress.ip_interface(f"{self.address}/{self.prefix}").network

    @property
    def broadcast(self) -> IPAddress | None:
        """The subnet's broadcast address, which the kernel adds to its local routes (IPv4, prefix below 31)."""
        network = self.network
        if network is None or network.version != 4 or network.prefixlen >= 31:
            return None
        return network.broadcast_address

    def __str__(self) -> str:
        text = str(self.address) if self.prefix is None else f"{self.address}/{self.prefix}"
        return f"{text}@{self.interface}" if self.interface else text


@dataclass(frozen=True)
class Host:
    """What the walk knows of the machine: its addresses (with prefixes and interfaces when given), its bridges."""

    family: Family
    local_addresses: frozenset[str]
    bridges: tuple[Bridge, ...]
    addresses: tuple[LocalAddress, ...] = ()

    def bridge_of(self, address: str | None) -> Bridge | None:
        if address is None:
            return None
        ip = ip_of(address)
        return next((b for b in self.bridges if ip in b.subnet), None)

    def is_local(self, address: str | None) -> tuple[bool | None, str]:
        """Whether `address` is the host's (addrtype LOCAL), and how the walk knows."""
        if address is None:
            return None, "the destination is unknown"
        ip = ip_of(address)
        if ip.is_loopback:
            return True, f"{ip} is a loopback address"
        if str(ip) in self.local_addresses:
            return True, f"{ip} is local (--local-address)"
        bridge = self.bridge_of(address)
        if bridge is not None:
            where = f"Docker bridge {bridge.name} ({bridge.subnet}, line {bridge.line})"
            if ip == bridge.gateway:
                return True, f"{ip} is local: the gateway of {where}"
            if ip == bridge.subnet.broadcast_address and bridge.subnet.version == 4:
                return False, f"{ip} is not a local address but the broadcast address of {where}"
            return False, f"{ip} is not local: a container on {where}"
        if self.local_addresses:
            return False, f"{ip} is not local: not one of the --local-address addresses"
        return None, f"iptlint cannot tell whether {ip} is local: pass --local-address"

    def broadcast(self, address: str | None) -> tuple[bool | None, str]:
        """Whether `address` is a broadcast address the kernel delivers locally (route type BROADCAST).

        255.255.255.255, and the broadcast address of each subnet of the host (a
        --local-address with its prefix, a Docker bridge).  An address given without
        its prefix leaves open every broadcast address it could have: "cannot tell".
        """
        if address is None or self.family is not Family.IPV4:
            return False, ""
        ip = ip_of(address)
        if ip == ipaddress.IPv4Address("255.255.255.255"):
            return True, f"{ip} is the limited broadcast address: delivered locally"
        for local in self.addresses:
            if local.broadcast == ip:
                on = f" on {local.interface}" if local.interface else ""
                return True, f"{ip} is the broadcast address of {local.network}{on}: delivered locally"
        for bridge in self.bridges:
            if bridge.subnet.version == 4 and bridge.subnet.broadcast_address == ip:
                where = f"Docker bridge {bridge.name} ({bridge.subnet}, line {bridge.line})"
                return True, f"{ip} is the broadcast address of {where}: delivered locally"
        for local in self.addresses:
            if local.prefix is None and local.address.version == 4 and may_be_broadcast(local.address, ip):
                return None, (
                    f"iptlint cannot tell whether {ip} is the broadcast address of the subnet of {local.address} "
                    f"(delivered locally): give its prefix, --local-address {local.address}/PREFIX"
                )
        return False, ""

    def primary_address(self, interface: str | None, destination: str | None = None) -> tuple[str | None, str]:
        """The address REDIRECT sends a packet that came in by `interface` to, and how the walk knows.

        IPv6: the first address of the destination's scope (nf_nat_redirect_ipv6 skips
        link-local addresses for a global destination, and the reverse).
        """
        if interface == "lo":
            return ("127.0.0.1" if self.family is Family.IPV4 else "::1"), "the address of lo"
        named = [a for a in self.addresses if a.interface == interface]
        if self.family is Family.IPV6 and destination is not None:
            link_local = ipaddress.ip_address(destination).is_link_local
            named = [a for a in named if a.address.is_link_local == link_local]
        if named:
            return str(named[0].address), f"the primary address of {interface} (the first --local-address on it)"
        bridge = next((b for b in self.bridges if b.name == interface), None)
        if bridge is not None:
            return str(bridge.gateway), f"the address of {interface}, the gateway of its Docker network"
        plain = [a for a in self.addresses if not a.address.is_loopback]
        if len(plain) == 1 and plain[0].interface is None:
            return str(plain[0].address), (
                f"the only --local-address, taken as the primary address of {interface} "
                f"(say so with --local-address {plain[0].address}@{interface})"
            )
        return None, (
            f"REDIRECT sends to the primary address of {interface or 'the in interface'}, which iptlint does not "
            f"know: give it with --local-address ADDR@{interface or 'IFACE'}"
        )


def may_be_broadcast(local: ipaddress.IPv4Address, address: ipaddress.IPv4Address) -> bool:
    """Whether `address` is the broadcast address of `local`'s subnet for some prefix below /31."""
    for prefix in range(1, 31):
        host_bits = (1 << (32 - prefix)) - 1
        if int(local) | host_bits == int(address):
            return True
    return False


def host_of(ruleset: Ruleset, local_addresses: Iterable[str | LocalAddress]) -> Host:
    """The host facts for a walk: the addresses given (ValueError if bad or of the other family), the bridges."""
    family = ruleset.family
    parsed = tuple(LocalAddress.parse(a) for a in local_addresses)
    for local in parsed:
        if local.address.version != (4 if family is Family.IPV4 else 6):
            raise ValueError(f"local address {local.address} is not an {family} address")
    plain = frozenset(str(a.address) for a in parsed)
    return Host(family, plain, docker_bridges(ruleset), parsed)


# ---------------------------------------------------------------------------------------
# Matching one packet
# ---------------------------------------------------------------------------------------


def packet_point(packet: Mapping[str, Any], family: Family, hints: Mapping[str, PacketSet] | None = None) -> PacketSet:
    """The packets that agree with `packet` on every field it gives (the rest free).

    `hints` narrow a field the packet leaves out (out_iface "not a Docker bridge").
    """
    constraints: dict[str, p.Constraint] = {}
    for name, value in packet.items():
        spec = p.SPECS[name]
        number = p.encode(name, value, family)
        if spec.kind == "bits":
            constraints[name] = p.PatternSet.point(number, spec.size)
        else:
            constraints[name] = p.IntervalSet.point(number)
    point = PacketSet.of(family, constraints)
    for name, hint in (hints or {}).items():
        if name not in packet:
            point &= hint
    return point


def decide(bounds: Bounds, point: PacketSet) -> bool | None:
    """True if every packet of `point` is surely matched, False if none can be, None otherwise."""
    if bounds.under.covers(point):
        return True
    if not bounds.over.overlaps(point):
        return False
    return None


def option_text(option: Option) -> str:
    words = [option.name, *option.raw]
    return ("! " if option.negated else "") + " ".join(words)


def match_text(match: Match) -> str:
    options = " ".join(option_text(option) for option in match.options)
    return f"-m {match.name} {options}".strip()


@dataclass(frozen=True)
class Condition:
    """One condition of a rule (`-s 10.0.0.0/8`, `-m tcp --dport 80`), its bounds and the fields they read."""

    text: str
    bounds: Bounds
    fields: frozenset[str]

    @classmethod
    def of(cls, text: str, bounds: Bounds) -> Condition:
        return cls(text, bounds, frozenset(constrained_fields(bounds)))

    def decide(self, numbers: Mapping[str, int], point: Callable[[], PacketSet]) -> bool | None:
        """Membership when the packet gives every field read, the set algebra otherwise.

        `numbers` is the packet with its values encoded (`packets.encode`).
        """
        if self.fields.issubset(numbers.keys()):
            if holds(self.bounds.under, numbers):
                return True
            return None if holds(self.bounds.over, numbers) else False
        return decide(self.bounds, point())


def holds(packets: PacketSet, numbers: Mapping[str, int]) -> bool:
    """Whether the encoded packet is in the set (`PacketSet.contains` without re-encoding)."""
    return any(all(numbers[name] in constraint for name, constraint in cube.items) for cube in packets.cubes)


def encoded(packet: Mapping[str, Any], family: Family) -> dict[str, int]:
    return {
        name: p.encode(name, ip_of(value) if name in _ADDRESS_FIELDS and isinstance(value, str) else value, family)
        for name, value in packet.items()
    }


_ADDRESS_FIELDS = frozenset(name for name, spec in p.SPECS.items() if spec.kind == "address")


@functools.lru_cache(maxsize=4096)
def ip_of(
    address: str | ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """`ipaddress.ip_address`, remembered: a walk reads the same few addresses again and again
    (thousands of walks of a diff, each testing its destination against the host's)."""
    return ipaddress.ip_address(address)


def constrained_fields(bounds: Bounds) -> set[str]:
    return {name for packets in (bounds.over, bounds.under) for cube in packets.cubes for name, _ in cube.items}


def condition_of(node: Option | Match, ctx: ModelContext) -> Condition:
    """A basic option (`-s`, `-p`...) or a match as a condition."""
    if isinstance(node, Option):
        return Condition.of(option_text(node), option_bounds(node, ctx))
    return Condition.of(match_text(node), match_bounds(node, ctx))


def rule_parts(rule: Rule, ctx: ModelContext) -> tuple[Condition, ...]:
    """The rule's conditions in the kernel's order: its own options, then each match."""
    return tuple(condition_of(node, ctx) for node in (*rule.basics, *rule.matches))


def evaluate_rule(
    parts: Iterable[Condition], numbers: Mapping[str, int], point: Callable[[], PacketSet]
) -> tuple[bool | None, str | None]:
    """Whether the rule matches, and which condition is unknown when that is undecided.

    A condition that surely fails decides, whatever the others: the kernel ANDs them.
    `point()` gives the packet as a set (fields left out free), for conditions on them.
    `parts` may be lazy: conditions after a failing one are not computed.
    """
    unknown = None
    for condition in parts:
        result = condition.decide(numbers, point)
        if result is False:
            return False, None
        if result is None and unknown is None:
            unknown = condition.text
    return (None, unknown) if unknown is not None else (True, None)


HOW_TO_TELL = {
    "dst_local": "--local-address or --dst-local",
    "src_local": "--local-address",
    "out_iface": "--out",
    "in_iface": "--in",
    "src": "--src",
    "dst": "--dst",
    "proto": "--proto",
    "sport": "--sport",
    "dport": "--dport",
    "mark": "--mark",
}


def undetermined_reason(unknown: str | None, parts: tuple[Condition, ...], packet: Mapping[str, Any]) -> str:
    """Why a condition could go either way: a field the packet leaves out, or a match known only in part."""
    condition = next((c for c in parts if c.text == unknown), None)
    missing = sorted(condition.fields - set(packet)) if condition is not None else []
    if missing:
        hints = "; ".join(f"{name} ({HOW_TO_TELL[name]})" if name in HOW_TO_TELL else name for name in missing)
        return f"`{unknown}` depends on what the packet leaves unknown: {hints}"
    return f"`{unknown}` depends on facts the dump does not hold (iptlint knows this match only within bounds)"


# ---------------------------------------------------------------------------------------
# Target effects
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unknown:
    """A rewrite to a value iptlint cannot know (MASQUERADE's source): the field becomes unknown."""

    text: str

    def __str__(self) -> str:
        return self.text


def masked_update(old: int | None, value: int, mask: int) -> int | None:
    """The kernel's mark update: new = (old & ~mask) ^ value; unknown stays unknown unless mask is full."""
    if old is None:
        return value if mask == 0xFFFFFFFF else None
    return ((old & ~mask) ^ value) & 0xFFFFFFFF


def mark_effect(option: Option) -> tuple[int, int]:
    """(value, mask) of a MARK/CONNMARK set action, as the MARK table computes it."""
    from iptlint.extensions.targets.mark import effect

    masked = effect(option)
    return masked.value, masked.mask


def connmark_update(options: Mapping[str, Option], packet: Mapping[str, Any]) -> dict[str, Any]:
    """The fields CONNMARK changes: ct_mark (set, save) or mark (restore)."""
    if packet.get("ct_state") in ("INVALID", "UNTRACKED"):
        return {}  # no connection to mark
    both = options.get("--mask")
    ctmask = options["--ctmask"].value if "--ctmask" in options else (both.value if both else 0xFFFFFFFF)
    nfmask = options["--nfmask"].value if "--nfmask" in options else (both.value if both else 0xFFFFFFFF)
    mark, ct_mark = packet.get("mark"), packet.get("ct_mark")
    if "--save-mark" in options:
        if mark is None or ct_mark is None:
            return {"ct_mark": None}
        return {"ct_mark": ((ct_mark & ~ctmask) ^ (mark & nfmask)) & 0xFFFFFFFF}
    if "--restore-mark" in options:
        if mark is None or ct_mark is None:
            return {"mark": None}
        return {"mark": ((mark & ~nfmask) ^ (ct_mark & ctmask)) & 0xFFFFFFFF}
    for name in ("--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark"):
        if name in options:
            value, mask = mark_effect(options[name])
            return {"ct_mark": masked_update(ct_mark, value, mask)}
    return {}


def mapped_port(ports: Any, old: int | None) -> int | None:
    """The port a NAT range gives: its first port, or the shifted one for `LO-HI/BASE`."""
    if ports.base is not None and old is not None:
        return ports.lo + (old - ports.base)
    return ports.lo


def nat_update(rule: Rule, hook: str, packet: Mapping[str, Any], host: Host) -> tuple[dict[str, Any], list[str]]:
    """The fields a NAT target rewrites, and notes on the choices made."""
    target = rule.target
    assert target is not None
    name = target.name
    has_ports = packet.get("proto") in PORT_PROTOCOLS
    notes: list[str] = []
    update: dict[str, Any] = {}
    if name in ("DNAT", "SNAT"):
        address_field, port_field = ("dst", "dport") if name == "DNAT" else ("src", "sport")
        option = target.get("--to-destination" if name == "DNAT" else "--to-source")
        nat_range = option.value if option is not None else None
        if nat_range is not None and nat_range.addresses is not None:
            update[address_field] = str(nat_range.addresses.lo)
            if nat_range.addresses.lo != nat_range.addresses.hi:
                notes.append(f"{name} picks one address of {nat_range.addresses}; iptlint shows the first")
        if nat_range is not None and nat_range.ports is not None and has_ports:
            update[port_field] = mapped_port(nat_range.ports, packet.get(port_field))
            if nat_range.ports.lo != nat_range.ports.hi and nat_range.ports.base is None:
                notes.append(f"{name} picks one port of {nat_range.ports}; iptlint shows the first")
        update["ct_dnat" if name == "DNAT" else "ct_snat"] = True
    elif name == "REDIRECT":
        update.update(redirect_destination(hook, packet, host, notes))
        ports = target.get("--to-ports")
        if ports is not None and has_ports:
            update["dport"] = ports.value.lo
        update["ct_dnat"] = True
    elif name == "MASQUERADE":
        out = packet.get("out_iface") or "the out interface"
        update["src"] = Unknown(f"the address of {out}")
        ports = target.get("--to-ports")
        if ports is not None and has_ports:
            update["sport"] = ports.value.lo
        update["ct_snat"] = True
    elif name == "NETMAP":
        update.update(netmap_update(rule, hook, packet))
    return update, notes


def redirect_destination(hook: str, packet: Mapping[str, Any], host: Host, notes: list[str]) -> dict[str, Any]:
    """REDIRECT sends to the host: 127.0.0.1 (::1) from OUTPUT, else the in interface's primary address.

    The kernel takes the first address of the in interface (nf_nat_redirect), not any
    local address; when the walk does not know it the destination becomes unknown.
    """
    if hook == "OUTPUT":
        return {"dst": "127.0.0.1" if host.family is Family.IPV4 else "::1", "dst_local": True}
    interface = packet.get("in_iface")
    address, how = host.primary_address(interface, packet.get("dst"))
    if address is not None:
        notes.append(f"REDIRECT sends to {address}: {how}")
        return {"dst": address, "dst_local": True}
    notes.append(how)
    return {"dst": Unknown(f"the address of {interface or 'the in interface'}"), "dst_local": True}


def netmap_update(rule: Rule, hook: str, packet: Mapping[str, Any]) -> dict[str, Any]:
    """NETMAP: keep the host bits, take the network bits of `--to` (dst before routing, src after)."""
    option = rule.target.get("--to") if rule.target else None
    field_name = "dst" if hook in ("PREROUTING", "OUTPUT") else "src"
    if option is None or option.value.network is None or packet.get(field_name) is None:
        return {field_name: None}
    network = option.value.network
    old = int(ipaddress.ip_address(packet[field_name]))
    mask = int(network.netmask)
    new = (old & ~mask & ((1 << network.max_prefixlen) - 1)) | (int(network.network_address) & mask)
    update: dict[str, Any] = {field_name: str(ipaddress.ip_address(new))}
    if field_name == "dst":
        update["ct_dnat"] = True
    else:
        update["ct_snat"] = True
    return update


# ---------------------------------------------------------------------------------------
# Walking a table's chains
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableOutcome:
    """What one table did at one hook: ACCEPT (go on), DROP, REJECT or UNKNOWN (stop)."""

    verdict: str
    packet: dict[str, Any]
    steps: tuple[Step, ...]
    rewrites: tuple[Rewrite, ...]
    decision: Step | None
    reason: str
    notes: tuple[str, ...] = ()


@dataclass
class _Frame:
    chain: str
    index: int


@dataclass(frozen=True)
class WalkCache:
    """What walks of one family with the same ipsets can share: each rule's conditions and encoded packets.

    A check that walks many packets (every published port from every source, every
    example packet of a diff, through the original rulesets and the pruned copies the diff
    makes of them) computes each condition once instead of once per walk.  A condition
    depends on its node, table and chain, the family and the ipsets only, so the cache
    serves any ruleset of `family` walked with `ipsets`; `walk` starts afresh otherwise.
    Conditions are keyed by the node's id and hold the node, so no id is reused while cached.
    """

    family: Family
    ipsets: Mapping[str, Any] = field(default_factory=dict)
    conditions: dict[tuple[int, str, str], tuple[Option | Match, Condition]] = field(default_factory=dict)
    points: dict[tuple, PacketSet] = field(default_factory=dict)
    numbers: dict[tuple, dict[str, int]] = field(default_factory=dict)
    packets: dict[tuple, dict[str, Any]] = field(default_factory=dict)  # given -> `normalized`

    def serves(self, ruleset: Ruleset, ipsets: Mapping[str, Any]) -> bool:
        return self.family is ruleset.family and dict(self.ipsets) == dict(ipsets)

    def normalized(self, packet: Mapping[str, Any]) -> dict[str, Any]:
        """`normalized(packet, family)`, remembered (a diff walks each example through both dumps)."""
        try:
            key = tuple(packet.items())
            found = self.packets.get(key)
        except TypeError:  # an unhashable value: checked afresh (and refused there)
            return normalized(packet, self.family)
        if found is None:
            found = self.packets[key] = normalized(packet, self.family)
        return dict(found)


@dataclass
class _Walker:
    """Walks one packet; holds the caches and the host facts.  Its results are frozen."""

    ruleset: Ruleset
    host: Host
    ipsets: Mapping[str, Any] = field(default_factory=dict)
    condition_cache: dict[tuple[int, str, str], tuple[Option | Match, Condition]] = field(default_factory=dict)
    point_cache: dict[tuple, PacketSet] = field(default_factory=dict)
    numbers_cache: dict[tuple, dict[str, int]] = field(default_factory=dict)
    evaluations: int = 0

    @classmethod
    def over(cls, ruleset: Ruleset, host: Host, ipsets: Mapping[str, Any], cache: WalkCache | None) -> _Walker:
        """A walker with its own caches, or `cache`'s (which the caller checked `serves` them)."""
        if cache is None:
            return cls(ruleset, host, dict(ipsets))
        return cls(ruleset, host, dict(ipsets), cache.conditions, cache.points, cache.numbers)

    def numbers(self, packet: Mapping[str, Any]) -> dict[str, int]:
        """The packet's values encoded, cached like `point`."""
        key = tuple(packet.items())
        found = self.numbers_cache.get(key)
        if found is None:
            found = self.numbers_cache[key] = encoded(packet, self.ruleset.family)
        return found

    def point(self, packet: Mapping[str, Any], hints: Mapping[str, PacketSet] | None) -> PacketSet:
        """`packet_point`, cached: the packet changes only when a target rewrites it."""
        key = (tuple(packet.items()), tuple((hints or {}).items()))
        found = self.point_cache.get(key)
        if found is None:
            found = self.point_cache[key] = packet_point(packet, self.ruleset.family, hints)
        return found

    def parts(self, rule: Rule) -> Iterator[Condition]:
        """The rule's conditions, each computed once for the walk (or the `WalkCache`), and only when it is reached.

        Keyed by the node: the parser shares identical option nodes between rules.
        """
        for node in (*rule.basics, *rule.matches):
            key = (id(node), rule.table, rule.chain)
            found = self.condition_cache.get(key)
            if found is None:
                ctx = ModelContext(self.ruleset.family, rule.table, rule.chain, self.ipsets)
                found = self.condition_cache[key] = (node, condition_of(node, ctx))
            yield found[1]

    def run_table(
        self,
        hook: str,
        table: str,
        packet: dict[str, Any],
        counted: bool = True,
        hints: Mapping[str, PacketSet] | None = None,
    ) -> TableOutcome:
        """Traverse `table`'s built-in chain `hook` and what it jumps to."""
        builtin = self.ruleset.chain(table, hook)
        assert builtin is not None
        packet = dict(packet)
        steps: list[Step] = []
        rewrites: list[Rewrite] = []
        notes: list[str] = []
        stack: list[_Frame] = []
        frame = _Frame(hook, 0)

        def step(kind: str, action: str, **more: Any) -> Step:
            made = Step(kind, hook, table, frame.chain, action, counted=counted, depth=len(stack), **more)
            steps.append(made)
            return made

        def outcome(verdict: str, decision: Step | None, reason: str) -> TableOutcome:
            return TableOutcome(verdict, packet, tuple(steps), tuple(rewrites), decision, reason, tuple(notes))

        def policy() -> TableOutcome:
            verdict = builtin.policy or "ACCEPT"
            made = Step("policy", hook, table, hook, f"policy {verdict}", counted=counted)
            steps.append(made)
            return outcome(verdict, made, f"the policy of {table} {hook} is {verdict}")

        while True:
            chain = self.ruleset.chain(table, frame.chain)
            rules = chain.rules if chain is not None else ()
            if frame.index >= len(rules):
                if not stack:
                    return policy()
                caller = stack[-1]
                step("return", f"end of {frame.chain}, back to {caller.chain}")
                frame = stack.pop()
                continue
            rule = rules[frame.index]
            frame.index += 1
            self.evaluations += 1
            if self.evaluations > MAX_EVALUATIONS:
                made = step("rule", "stop: too many rules evaluated (a loop?)", rule=rule, matched=True)
                return outcome("UNKNOWN", made, "the walk evaluated too many rules")
            numbers = self.numbers(packet)
            matched, unknown = evaluate_rule(self.parts(rule), numbers, lambda: self.point(packet, hints))
            if matched is None:
                made = step("rule", "undetermined", rule=rule, matched=None, unknown=unknown)
                return outcome("UNKNOWN", made, undetermined_reason(unknown, tuple(self.parts(rule)), packet))
            if not matched:
                step("rule", "no match", rule=rule, matched=False)
                continue
            target = rule.target
            if target is None:
                step("rule", "matched, no target: go on", rule=rule, matched=True)
                continue
            if target.kind is TargetKind.CHAIN:
                if len(stack) >= MAX_DEPTH:
                    made = step("rule", f"stop: more than {MAX_DEPTH} chains deep", rule=rule, matched=True)
                    return outcome("UNKNOWN", made, "the chains nest too deep (a loop?)")
                verb = "goto" if target.goto else "jump"
                step("rule", f"{verb} {target.name}", rule=rule, matched=True)
                if not target.goto:
                    stack.append(frame)
                frame = _Frame(target.name, 0)
                continue
            name = target.name
            if name in ("ACCEPT", "DROP"):
                made = step("rule", name, rule=rule, matched=True)
                return outcome(name, made, f"{name} by the rule at line {rule.line}")
            if name == "RETURN":
                if not stack:
                    step("rule", f"RETURN from {hook}: its policy", rule=rule, matched=True)
                    return policy()
                step("rule", f"RETURN to {stack[-1].chain}", rule=rule, matched=True)
                frame = stack.pop()
                continue
            if name == "REJECT":
                made = step("rule", "REJECT", rule=rule, matched=True)
                return outcome("REJECT", made, f"REJECT by the rule at line {rule.line}")
            if name in NAT_TARGETS and table == "nat":
                update, more_notes = nat_update(rule, hook, packet, self.host)
                notes.extend(more_notes)
                rewrites.extend(self.apply(packet, update, hook, table, frame.chain, rule))
                made = step("rule", f"{name} {target_summary(rule)}".strip(), rule=rule, matched=True)
                return outcome("ACCEPT", made, f"{name} at line {rule.line}")
            if name == "MARK":
                update = mark_update(rule, packet)
                rewrites.extend(self.apply(packet, update, hook, table, frame.chain, rule))
                step("rule", f"MARK {target_summary(rule)}: go on", rule=rule, matched=True)
                continue
            if name == "CONNMARK":
                options = {option.name: option for option in target.options}
                rewrites.extend(self.apply(packet, connmark_update(options, packet), hook, table, frame.chain, rule))
                step("rule", f"CONNMARK {target_summary(rule)}: go on", rule=rule, matched=True)
                continue
            if (name == "CT" and target.get("--notrack") is not None) or name == "NOTRACK":
                rewrites.extend(self.apply(packet, {"ct_state": "UNTRACKED"}, hook, table, frame.chain, rule))
                step("rule", f"{name}: no connection tracking, go on", rule=rule, matched=True)
                continue
            extension = find_extension("target", name) if target.kind is TargetKind.EXTENSION else None
            if extension is None or extension.terminal or name == "QUEUE":
                made = step("rule", f"{name}: iptlint does not follow this target", rule=rule, matched=True)
                what = "an unknown target" if extension is None and name != "QUEUE" else "a terminal target"
                return outcome("UNKNOWN", made, f"{name} at line {rule.line} is {what}")
            step("rule", f"{name}: go on", rule=rule, matched=True)

    def apply(
        self, packet: dict[str, Any], update: Mapping[str, Any], hook: str, table: str, chain: str, rule: Rule | None
    ) -> list[Rewrite]:
        """Change `packet` in place; the rewrites of the fields that changed."""
        changes = []
        for name, after in update.items():
            before = packet.get(name)
            if after is None or isinstance(after, Unknown):
                packet.pop(name, None)
            else:
                packet[name] = after
            if before != after:
                changes.append(Rewrite(hook, table, chain, rule, name, before, after))
        return changes


def target_summary(rule: Rule) -> str:
    target = rule.target
    if target is None:
        return ""
    return " ".join(option_text(option) for option in target.options)


def mark_update(rule: Rule, packet: Mapping[str, Any]) -> dict[str, Any]:
    from iptlint.extensions.targets.mark import ACTIONS

    assert rule.target is not None
    for name in ACTIONS:
        option = rule.target.get(name)
        if option is not None:
            value, mask = mark_effect(option)
            return {"mark": masked_update(packet.get("mark"), value, mask)}
    return {}


# ---------------------------------------------------------------------------------------
# The whole path
# ---------------------------------------------------------------------------------------


DST_NAT_HOOKS = ("PREROUTING", "OUTPUT")  # where a connection's destination NAT is bound and applied
SRC_NAT_HOOKS = ("POSTROUTING", "INPUT")  # and its source NAT
NAT_HOOKS = DST_NAT_HOOKS + SRC_NAT_HOOKS
NAT_FIELDS = ("dst", "dport", "src", "sport", "dst_local")  # what a connection's NAT gives its later packets


@dataclass(frozen=True)
class ConnectionNat:
    """The NAT a connection got at one hook from its first packet, which its later packets get there too.

    known: False when the walk of the first packet did not get through this hook's nat
    table (it stopped before, or a nat rule was undetermined): `why` says so.
    rewrites: the first packet's nat rewrites at the hook (empty: no NAT there).
    """

    hook: str
    known: bool
    rewrites: tuple[Rewrite, ...] = ()
    why: str = ""

    def summary(self) -> str:
        """`DNAT to 172.17.0.2:80 (line 22)`, `none`, `unknown (why)`."""
        if not self.known:
            return f"unknown ({self.why})"
        rule = self.rule
        if rule is None or rule.target is None:
            return "none"
        return f"{rule.target.name} {target_summary(rule)}".strip() + f" (line {rule.line})"

    @property
    def rule(self) -> Rule | None:
        """The nat rule that translated the first packet here (None: no NAT)."""
        rules = (r.rule for r in self.rewrites if r.rule is not None and r.rule.target is not None)
        return next((rule for rule in rules if rule.target.name in NAT_TARGETS), None)


@dataclass(frozen=True)
class Connection:
    """An ESTABLISHED or RELATED packet's connection, as the walk of its first packet (NEW) tells it."""

    first: Trace  # the first packet's walk
    nat: tuple[ConnectionNat, ...]  # one per nat hook

    def at(self, hook: str) -> ConnectionNat:
        return next(binding for binding in self.nat if binding.hook == hook)

    def flag(self, name: str) -> bool | None:
        """`ct_dnat`/`ct_snat` of the connection; None when the first packet's walk cannot tell."""
        first = self.first
        if name == "ct_dnat":
            hooks: tuple[str, ...] = ("PREROUTING",) if first.origin == "incoming" else ("OUTPUT",)
        elif first.arrived_at == "local":
            hooks = ("INPUT",)
        elif first.arrived_at == "forwarded" or first.origin == "output":
            hooks = ("POSTROUTING",)
        else:  # stopped before routing: which source hook it would pass is unknown, and so its NAT
            hooks = SRC_NAT_HOOKS
        bindings = [self.at(hook) for hook in hooks]
        if not all(binding.known for binding in bindings):
            return None
        return any(r.field == name and r.after is True for binding in bindings for r in binding.rewrites)


@dataclass
class _Journey:
    """The trace being built (internal; `walk` returns it frozen as a `Trace`)."""

    packet: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    rewrites: list[Rewrite] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    accepted_by: Step | None = None  # the filter table's accepting step, else the last one
    hints: dict[str, PacketSet] = field(default_factory=dict)  # what is known of fields left out
    connection: Connection | None = None  # an ESTABLISHED/RELATED packet's
    nat_done: dict[str, tuple[Rewrite, ...]] = field(default_factory=dict)  # nat hooks a NEW packet got through

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


def walk(
    ruleset: Ruleset,
    packet: Mapping[str, Any],
    *,
    local_addresses: Iterable[str | LocalAddress] = (),
    ipsets: Mapping[str, Any] | None = None,
    cache: WalkCache | None = None,
) -> Trace:
    """Follow `packet` through `ruleset` in the kernel's order; see the module docstring.

    `local_addresses`: the host's addresses, each `ADDR[/PREFIX][@IFACE]` (see "What the
    walk infers").  `ipsets`: set name -> contents, for the models of `-m set` (as
    `ModelContext.ipsets`).  `cache`: shared by many walks of one family and `ipsets` (`WalkCache`).

    Raises ValueError for a packet field that does not exist, a value out of range or a
    local address that is not one.
    """
    shared = cache if cache is not None and cache.serves(ruleset, ipsets or {}) else None
    given = shared.normalized(packet) if shared is not None else normalized(packet, ruleset.family)
    host = host_of(ruleset, local_addresses)
    walker = _Walker.over(ruleset, host, ipsets or {}, shared)
    connection = None
    if given.get("ct_state") in ("ESTABLISHED", "RELATED"):
        connection = learn_connection(walker, given)
        walker.evaluations = 0
    return follow(walker, given, connection)[0]


def opening_packet(given: Mapping[str, Any]) -> dict[str, Any]:
    """The first packet of the connection of `given`: the same addresses, ports and mark as it enters, NEW."""
    reset = ("ct_state", "ct_mark", "ct_snat", "ct_dnat", "tcp_flags")
    return {name: value for name, value in given.items() if name not in reset} | {"ct_state": "NEW"}


def learn_connection(walker: _Walker, given: Mapping[str, Any]) -> Connection:
    """Walk the connection's first packet (quietly) for the NAT the kernel bound to the connection.

    The kernel traverses the nat chains only for a connection's first packet and gives
    every later one the same translation (destination at PREROUTING/OUTPUT, source at
    POSTROUTING/INPUT) without traversing them.
    """
    first, journey = follow(walker, opening_packet(given), None)
    nat = []
    for hook in NAT_HOOKS:
        if hook in journey.nat_done or walker.ruleset.chain("nat", hook) is None:
            nat.append(ConnectionNat(hook, True, journey.nat_done.get(hook, ())))
            continue
        if first.verdict == "ACCEPT":
            why = f"its first packet does not pass nat {hook}"
        elif first.verdict == "UNKNOWN":
            why = f"the walk of its first packet (NEW) stopped before nat {hook} got through: {first.reason}"
        else:
            why = f"its first packet (NEW) would not reach nat {hook}: {first.reason}"
        nat.append(ConnectionNat(hook, False, (), why))
    return Connection(first, tuple(nat))


def connection_note(state: str, connection: Connection) -> str:
    first = connection.first
    mark = dict(first.packet).get("mark", 0)
    outcome = first.reason or first.verdict
    return (
        f"{state} packet: the nat chains saw only its connection's first packet (NEW, the same addresses and "
        f"ports, mark {mark:#x} as it entered); iptlint walked that packet for the connection's NAT (its walk: {outcome}). "
        "--ctstate SNAT/DNAT and the original destination hold from the first packet on"
        + (
            "; for a RELATED packet iptlint takes its own addresses and ports for its connection's (an ICMP "
            "error or an expected connection relates to another one, which the walk does not know)"
            if state == "RELATED"
            else ""
        )
    )


def follow(walker: _Walker, given: Mapping[str, Any], connection: Connection | None) -> tuple[Trace, _Journey]:
    """The walk itself (see `walk`), and the journey it made (for `learn_connection`)."""
    ruleset, host = walker.ruleset, walker.host
    origin = "incoming" if given.get("in_iface") else "output"
    start = with_defaults(given, origin, connection)
    journey = _Journey(dict(start), connection=connection)
    if host.bridges and not host.local_addresses:
        names = ", ".join(f"{b.name} {b.subnet}" for b in host.bridges)
        journey.note(f"Docker bridges from nat POSTROUTING: {names}")
    if connection is not None:
        journey.note(connection_note(start["ct_state"], connection))
    given_out = given.get("out_iface")

    def done(stopped: Stop | None, arrived: str | None) -> tuple[Trace, _Journey]:
        return finish(ruleset, start, journey, stopped, arrived), journey

    if origin == "incoming":
        journey.packet["out_iface"] = ""
        settle_local(journey, host, given, "dst", "dst_local")
        settle_local(journey, host, given, "src", "src_local")
        stopped = run_path(walker, journey, PREROUTING)
        if stopped is not None:
            return done(stopped, None)
        route, local = route_step(journey, given_out, host)
        journey.steps.append(route)
        if local is None:
            return done(("UNKNOWN", route, route.action), None)
        arrived = "local" if local else "forwarded"
        return done(run_path(walker, journey, LOCAL_INPUT if local else FORWARDING), arrived)

    settle_local(journey, host, given, "dst", "dst_local")
    choose_source(journey, host)
    choose_out_interface(journey, given_out, host, output=True)
    return done(run_path(walker, journey, LOCAL_OUTPUT, given_out=given_out), None)


def settle_local(journey: _Journey, host: Host, given: Mapping[str, Any], address: str, flag: str) -> None:
    """Set `dst_local`/`src_local` from the address, unless the caller gave it and nothing is known."""
    known, how = host.is_local(journey.packet.get(address))
    if known is None and flag == "src_local" and journey.packet.get("in_iface") not in (None, "", "lo"):
        known = False  # a packet from the network with a local source is a martian: the kernel drops it
    if known is None and flag in given:
        journey.packet[flag] = given[flag]
        return
    if known is None:
        journey.packet.pop(flag, None)
        if journey.packet.get(address) is not None and flag == "dst_local":
            journey.note(how)
        return
    journey.packet[flag] = known
    if flag == "dst_local":
        journey.note(how)


def choose_source(journey: _Journey, host: Host) -> None:
    """The source address the host picks for a packet it sends, when the caller gave none.

    To a local address the route's source is that address; to a Docker bridge's subnet,
    the bridge's gateway.  Otherwise it stays unknown.
    """
    packet = journey.packet
    if packet.get("src") is not None or packet.get("dst") is None:
        return
    bridge = host.bridge_of(packet["dst"])
    if packet.get("dst_local"):
        packet["src"] = packet["dst"]
        journey.note(f"source {packet['dst']}: the host sends to its own address from that address")
    elif bridge is not None:
        packet["src"] = str(bridge.gateway)
        journey.note(f"source {bridge.gateway}: the address of {bridge.name}, the bridge the packet leaves by")


def choose_out_interface(journey: _Journey, given_out: str | None, host: Host, output: bool = False) -> None:
    """`out_iface` of a forwarded or sent packet: as given, else the Docker bridge of the destination."""
    if given_out is not None:
        journey.packet["out_iface"] = given_out
        return
    bridge = host.bridge_of(journey.packet.get("dst"))
    if bridge is not None:
        journey.packet["out_iface"] = bridge.name
        journey.note(f"out interface {bridge.name}: the Docker bridge of {bridge.subnet} (line {bridge.line})")
        return
    if output and journey.packet.get("dst_local"):
        journey.packet["out_iface"] = "lo"
        journey.note("out interface lo: the destination is local")
        return
    journey.packet.pop("out_iface", None)
    if host.bridges and journey.packet.get("dst") is not None:
        bridges = PacketSet.none(host.family)
        for bridge in host.bridges:
            bridges |= p.from_interface(bridge.name, host.family, "out_iface")
        journey.hints["out_iface"] = ~bridges
        names = ", ".join(b.name for b in host.bridges)
        journey.note(f"out interface unknown (pass --out), but not {names}: the destination is in no bridge's subnet")


def route_step(journey: _Journey, given_out: str | None, host: Host) -> tuple[Step, bool | None]:
    """The routing decision after PREROUTING: local delivery (True) or forwarding (False), unknown (None).

    Local delivery: a local destination, or a broadcast address of the host's subnets
    (the kernel's local routes hold those too; addrtype calls them BROADCAST, not LOCAL).
    """
    dst = journey.packet.get("dst", "the destination")
    local = journey.packet.get("dst_local")
    if local is False:
        broadcast, how = host.broadcast(journey.packet.get("dst"))
        if broadcast:
            journey.packet["out_iface"] = ""
            journey.note(how)
            return Step("route", "ROUTING", "", "", f"routing: {dst} is a broadcast address of the host: INPUT"), True
        if broadcast is None:
            return Step(
                "route", "ROUTING", "", "", f"routing: unknown whether {dst} is delivered locally ({how})"
            ), None
    if local is None:
        _, how = host.is_local(journey.packet.get("dst"))
        return Step("route", "ROUTING", "", "", f"routing: unknown whether {dst} is local ({how})"), None
    if local:
        journey.packet["out_iface"] = ""
        return Step("route", "ROUTING", "", "", f"routing: {dst} is local: INPUT"), True
    choose_out_interface(journey, given_out, host)
    out = journey.packet.get("out_iface")
    where = f"out {out}" if out else "out interface unknown (pass --out)"
    return Step("route", "ROUTING", "", "", f"routing: {dst} is not local: FORWARD, {where}"), False


Stop = tuple[str, Step | None, str]  # verdict, deciding step, reason


def run_path(walker: _Walker, journey: _Journey, path: Path, given_out: str | None = None) -> Stop | None:
    """Run each (hook, table) of `path`; the stop (DROP, REJECT, UNKNOWN) or None when all accepted."""
    for hook, table in path:
        if table == "nat":
            outcome = run_nat(walker, journey, hook)
        elif walker.ruleset.chain(table, hook) is None:
            continue
        else:
            outcome = walker.run_table(hook, table, journey.packet, hints=journey.hints)
            journey.steps.extend(outcome.steps)
            journey.rewrites.extend(outcome.rewrites)
            for text in outcome.notes:
                journey.note(text)
            journey.packet = outcome.packet
        if outcome.verdict != "ACCEPT":
            return outcome.verdict, outcome.decision, outcome.reason
        remember_acceptance(journey, table, outcome.decision)
        if hook == "OUTPUT" and table == "nat" and any(r.field == "dst" for r in outcome.rewrites):
            journey.note("nat OUTPUT changed the destination: the packet is routed again")
            choose_out_interface(journey, given_out, walker.host, output=True)
    return None


def remember_acceptance(journey: _Journey, table: str, decision: Step | None) -> None:
    """The filter table's ACCEPT decides; without one, the last rule that accepted."""
    if decision is None:
        return
    current = journey.accepted_by
    if current is not None and current.table == "filter" and table != "filter":
        return
    if table == "filter" or decision.kind == "rule":
        journey.accepted_by = decision


def run_nat(walker: _Walker, journey: _Journey, hook: str) -> TableOutcome:
    """The nat table: traversed by a NEW packet; for ESTABLISHED/RELATED, its connection's NAT; else skipped."""
    state = journey.packet.get("ct_state")
    passed = TableOutcome("ACCEPT", journey.packet, (), (), None, "")
    if walker.ruleset.chain("nat", hook) is None:
        if state == "NEW":
            journey.nat_done[hook] = ()
        return passed
    if state == "NEW":
        outcome = walker.run_table(hook, "nat", journey.packet, hints=journey.hints)
        after_nat(walker, journey, hook, outcome)
        if outcome.verdict == "ACCEPT":
            journey.nat_done[hook] = outcome.rewrites
        return outcome
    if state in ("INVALID", "UNTRACKED") or state is None:
        why = f"{state} packets are never translated" if state else "the conntrack state is unknown"
        skip = Step("skip", hook, "nat", hook, f"nat {hook} not traversed: {why}")
        journey.steps.append(skip)
        return passed
    return connection_nat(walker, journey, hook, state)


def connection_nat(walker: _Walker, journey: _Journey, hook: str, state: str) -> TableOutcome:
    """An ESTABLISHED/RELATED packet at a nat hook: the NAT its connection's first packet got here, untraversed."""
    connection = journey.connection
    binding = connection.at(hook) if connection is not None else ConnectionNat(hook, False, (), "no first packet")
    journey.steps.append(
        Step(
            "skip",
            hook,
            "nat",
            hook,
            f"nat {hook} not traversed by {state} packets; the connection's NAT from its first packet: "
            f"{binding.summary()}",
        )
    )
    if binding.known:
        update = {r.field: r.after for r in binding.rewrites if r.field in NAT_FIELDS}
        rule = binding.rule
        chain = next((r.chain for r in binding.rewrites if r.rule is rule), hook)
    else:
        fields = ("dst", "dport") if hook in DST_NAT_HOOKS else ("src", "sport")
        what = "destination" if hook in DST_NAT_HOOKS else "source"
        update = {name: Unknown(f"the connection's {what} NAT") for name in fields if name in journey.packet}
        rule, chain = None, hook
        if hook in DST_NAT_HOOKS:
            update["dst_local"] = None
    rewrites = walker.apply(journey.packet, update, hook, "nat", chain, rule)
    journey.rewrites.extend(rewrites)
    refresh_after_dnat(walker, journey, hook, rewrites)
    return TableOutcome("ACCEPT", journey.packet, (), tuple(rewrites), None, "")


def after_nat(walker: _Walker, journey: _Journey, hook: str, outcome: TableOutcome) -> None:
    journey.steps.extend(outcome.steps)
    journey.rewrites.extend(outcome.rewrites)
    for text in outcome.notes:
        journey.note(text)
    journey.packet = outcome.packet
    refresh_after_dnat(walker, journey, hook, list(outcome.rewrites))


def refresh_after_dnat(walker: _Walker, journey: _Journey, hook: str, rewrites: list[Rewrite]) -> None:
    """A new destination is local or not anew; REDIRECT's always is."""
    if any(r.rule is not None and r.rule.target is not None and r.rule.target.name == "REDIRECT" for r in rewrites):
        journey.packet["dst_local"] = True
        return
    if not any(r.field == "dst" for r in rewrites):
        return
    known, how = walker.host.is_local(journey.packet.get("dst"))
    if known is None:
        journey.packet.pop("dst_local", None)
    else:
        journey.packet["dst_local"] = known
    journey.note(how)


def finish(
    ruleset: Ruleset, start: Mapping[str, Any], journey: _Journey, stopped: Stop | None, arrived: str | None
) -> Trace:
    if stopped is None:
        decision = journey.accepted_by
        verdict = "ACCEPT"
        if decision is None:
            reason = "every table let the packet through by policy"
        elif decision.kind == "policy":
            reason = f"the policy of {decision.table} {decision.chain} is ACCEPT"
        else:
            reason = f"ACCEPT by the rule at line {decision.rule.line}" if decision.rule else "ACCEPT"
    else:
        verdict, decision, reason = stopped
    rule = decision.rule if decision is not None and decision.kind == "rule" else None
    return Trace(
        path=ruleset.path,
        family=ruleset.family,
        origin="incoming" if start.get("in_iface") else "output",
        packet=tuple(start.items()),
        final=tuple(journey.packet.items()),
        steps=tuple(journey.steps),
        rewrites=tuple(journey.rewrites),
        verdict=verdict,
        reason=reason,
        decided_by=rule,
        decision=decision,
        arrived_at=arrived,
        notes=tuple(journey.notes),
        connection=journey.connection,
    )


# ---------------------------------------------------------------------------------------
# A packet from the words a person types
# ---------------------------------------------------------------------------------------

WORD_FIELDS = {
    "in": "in_iface",
    "out": "out_iface",
    "src": "src",
    "dst": "dst",
    "proto": "proto",
    "sport": "sport",
    "dport": "dport",
    "state": "ct_state",
    "mark": "mark",
    "dst_local": "dst_local",
}
YES, NO = ("yes", "true", "1"), ("no", "false", "0")


def packet_from_words(words: Mapping[str, str | None], family: Family) -> dict[str, Any]:
    """`{"in": "eth0", "proto": "tcp", "dport": "http", "state": "new"}` as a packet; ValueError if bad.

    Keys: in, out, src, dst, proto (a name or number), sport, dport (numbers or service
    names), state (NEW, ESTABLISHED, RELATED, INVALID, UNTRACKED), mark (decimal or 0x
    hex), dst_local (yes/no).  A port without a protocol means TCP.
    """
    from iptlint.syntax import values as v

    packet: dict[str, Any] = {}
    for key, text in words.items():
        if text is None:
            continue
        if key not in WORD_FIELDS:
            raise ValueError(f"unknown packet word {key!r}; words are {', '.join(WORD_FIELDS)}")
        name = WORD_FIELDS[key]
        if key in ("in", "out"):
            packet[name] = v.interface(text, family).name
            if packet[name].endswith("+"):
                raise ValueError(f"--{key} {text}: a packet has one interface, not a pattern")
        elif key in ("src", "dst"):
            packet[name] = str(v.single_address(text, family))
        elif key == "proto":
            packet[name] = v.protocol(text, family).number
        elif key in ("sport", "dport"):
            packet[name] = v.port(text, family)
        elif key == "state":
            if text.upper() not in p.CT_STATE_NAMES:
                raise ValueError(f"state {text!r} is not one of {', '.join(p.CT_STATE_NAMES)}")
            packet[name] = text.upper()
        elif key == "mark":
            packet[name] = v.to_int(text, 0, 0xFFFFFFFF, "mark")
        elif key == "dst_local":
            if text.lower() not in YES + NO:
                raise ValueError(f"dst-local {text!r} is neither yes nor no")
            packet[name] = text.lower() in YES
    if ("sport" in packet or "dport" in packet) and "proto" not in packet:
        packet["proto"] = 6
    return packet
