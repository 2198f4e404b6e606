"""Packet sets: the algebra the semantics engine reasons with.

A packet is a point with one value per field (`FIELDS`).  A `Cube` constrains some
fields, each to a set of values (a field it does not mention is unconstrained); a
`PacketSet` is a finite union of pairwise disjoint, non-empty cubes of one address
family.  Intersection, union, subtraction and complement are exact, so "rule B
covers rule A" is `B.covers(A)` and "what still reaches rule C" is a subtraction.

Fields (`FIELDS`; a `sample()` gives each as the type shown):

    in_iface, out_iface   interface name, str; "" is no interface
    src, dst              address, ipaddress.IPv4Address / IPv6Address
    proto                 IPv4 protocol / IPv6 upper-layer header, 0-255
    sport, dport          port, 0-65535 (meaningful for TCP, UDP, SCTP, DCCP, UDP-Lite)
    icmp_type, icmp_code  ICMP or ICMPv6 type and code, 0-255
    tcp_flags             the flag byte: FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE CWR
    ct_state              conntrack state name (INVALID NEW ESTABLISHED RELATED UNTRACKED)
    ct_snat, ct_dnat      bool: the connection is source / destination NATed
    ct_orig_dst, ct_orig_dport   the connection's original destination (before DNAT)
    dst_local, src_local  bool: the address is the host's own (addrtype LOCAL)
    fragment              bool: a non-first fragment (what `-f` matches)
    mark, ct_mark         packet mark / connection mark, 32 bits

Every field's values are integers, constrained by one of two set types:

- `IntervalSet`: sorted, disjoint, non-adjacent inclusive intervals.  Used for
  numbers (protocol, ports, ICMP type/code), addresses (the integer of the IPv4 or
  IPv6 address: a CIDR network is an interval), conntrack states (an index into
  `CT_STATE_NAMES`), booleans (0/1), and interface names.  A name is encoded as its
  preorder index in the trie of every name of at most 15 bytes (`name_index`), so an
  exact name is a point and a wildcard `eth+` (every name starting with `eth`,
  `eth` itself included) is the interval of its subtree: names get the same exact
  algebra as numbers.  The empty name `""` (index 0) is "no interface", what the
  kernel compares `-o` with in INPUT and `-i` with in OUTPUT.
- `PatternSet`: a disjoint union of value/mask patterns over a fixed bit width, used
  for `tcp_flags` (8 bits) and marks (`mark`, `ct_mark`, 32 bits).  `x & mask ==
  value` is one pattern whatever the mask, so `-m mark --mark 0x4000/0x4000` and its
  negation are exact too (an interval set would need 2**17 intervals).

Conntrack: `ct_state` is the packet's own state (INVALID, NEW, ESTABLISHED, RELATED,
UNTRACKED); the virtual states SNAT and DNAT of `--ctstate` are the booleans
`ct_snat`/`ct_dnat` (the connection was source/destination-NATed), so `from_states`
is exact.  `ct_orig_dst`/`ct_orig_dport` are the destination before DNAT.  The
algebra knows nothing of relations between fields (ports only mean something for
TCP/UDP, an UNTRACKED packet has no NAT...): the chain walk intersects with them.

Exactness: every constructor is exact except `from_address` on a host name
(iptables resolves it when it loads the rules); it returns `Bounds`, an over- and
an under-approximation, which is also how the chain walk models unknown matches.
`PacketSet.copy_field` (conntrack's copy of the destination) loses the equality
between the two fields unless the copied constraint is a single value.

Constructors model one option each, on its own fields (`from_ports(...)` says nothing
about `-p tcp`), so the complement is the negated option.  One kernel rule to add
when modelling: a TCP/UDP/ICMP/... header match never matches a non-first fragment,
negated or not, so `! --dport 80` is `~from_ports(...) & from_flag("fragment", False)`.
"""

from __future__ import annotations

import bisect
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from iptlint.syntax.ast import Family
from iptlint.syntax.values import PROTOCOL_NAMES, Address, AddressRange, Interface, Masked, Protocol, Range, TcpFlags

# ---------------------------------------------------------------------------------------
# Interval sets
# ---------------------------------------------------------------------------------------

Interval = tuple[int, int]
_first = itemgetter(0)
_last = itemgetter(1)
_SPLICE_LIMIT = 8  # up to this many intervals, union and subtract splice into the larger set


def _meeting(intervals: tuple[Interval, ...], lo: int, hi: int) -> tuple[int, int]:
    """The slice of sorted disjoint `intervals` that meets [lo, hi]."""
    return bisect.bisect_left(intervals, lo, key=_last), bisect.bisect_right(intervals, hi, key=_first)


def _normalized(pairs: Iterable[Interval]) -> tuple[Interval, ...]:
    """Sort, drop inverted pairs, merge overlapping and adjacent intervals."""
    ordered = sorted(pair for pair in pairs if pair[0] <= pair[1])
    merged: list[list[int]] = []
    for lo, hi in ordered:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


@dataclass(frozen=True, slots=True)
class IntervalSet:
    """A set of integers as sorted, disjoint, non-adjacent inclusive intervals (canonical)."""

    intervals: tuple[Interval, ...] = ()

    @classmethod
    def of(cls, *pairs: Interval) -> IntervalSet:
        """Any intervals, in any order, overlapping or not; inverted ones are empty."""
        return cls(_normalized(pairs))

    @classmethod
    def span(cls, lo: int, hi: int) -> IntervalSet:
        return cls(((lo, hi),)) if lo <= hi else cls()

    @classmethod
    def point(cls, value: int) -> IntervalSet:
        return cls(((value, value),))

    def is_empty(self) -> bool:
        return not self.intervals

    def __contains__(self, value: int) -> bool:
        intervals = self.intervals
        index = bisect.bisect_right(intervals, value, key=_first) - 1
        return index >= 0 and value <= intervals[index][1]

    def contains(self, value: int) -> bool:
        return value in self

    def first(self) -> int:
        """The smallest member (the set must not be empty)."""
        return self.intervals[0][0]

    def size(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.intervals)

    # Each operation walks the smaller set and finds its place in the larger one by
    # bisection: a set of thousands of intervals (the destinations of a kube-proxy
    # chain) minus one address costs a bisection and a tuple splice, not a scan.

    def union(self, other: IntervalSet) -> IntervalSet:
        if not other.intervals:
            return self
        if not self.intervals:
            return other
        small, big = sorted((self.intervals, other.intervals), key=len)
        if len(small) > _SPLICE_LIMIT:
            return IntervalSet(_normalized(big + small))
        result = big
        for lo, hi in small:
            start = bisect.bisect_left(result, lo - 1, key=_last)  # the first one touching from the left
            stop = bisect.bisect_right(result, hi + 1, key=_first)  # past the last one touching from the right
            if start < stop:
                lo, hi = min(lo, result[start][0]), max(hi, result[stop - 1][1])
            result = (*result[:start], (lo, hi), *result[stop:])
        return IntervalSet(result)

    def intersect(self, other: IntervalSet) -> IntervalSet:
        mine, theirs = self.intervals, other.intervals
        if len(mine) == 1 and len(theirs) == 1:
            lo, hi = max(mine[0][0], theirs[0][0]), min(mine[0][1], theirs[0][1])
            return IntervalSet(((lo, hi),)) if lo <= hi else _NO_INTEGERS
        small, big = sorted((mine, theirs), key=len)
        out: list[Interval] = []
        for lo, hi in small:
            start, stop = _meeting(big, lo, hi)
            if start == stop:
                continue
            if stop - start == 1:
                out.append((max(lo, big[start][0]), min(hi, big[start][1])))
                continue
            out.append((max(lo, big[start][0]), big[start][1]))
            out.extend(big[start + 1 : stop - 1])
            out.append((big[stop - 1][0], min(hi, big[stop - 1][1])))
        return IntervalSet(tuple(out))

    def overlaps(self, other: IntervalSet) -> bool:
        small, big = sorted((self.intervals, other.intervals), key=len)
        for lo, hi in small:
            start = bisect.bisect_left(big, lo, key=_last)
            if start < len(big) and big[start][0] <= hi:
                return True
        return False

    def subtract(self, other: IntervalSet) -> IntervalSet:
        mine, holes = self.intervals, other.intervals
        if not holes or not mine:
            return self
        if len(holes) <= _SPLICE_LIMIT < len(mine):  # a few holes in many intervals: splice each out
            result = mine
            for lo, hi in holes:
                start, stop = _meeting(result, lo, hi)
                if start == stop:
                    continue
                left = ((result[start][0], lo - 1),) if result[start][0] < lo else ()
                right = ((hi + 1, result[stop - 1][1]),) if result[stop - 1][1] > hi else ()
                result = (*result[:start], *left, *right, *result[stop:])
            return IntervalSet(result)
        out: list[Interval] = []
        for lo, hi in mine:  # the gaps between the holes that meet each interval
            start, stop = _meeting(holes, lo, hi)
            position = lo
            for hole_lo, hole_hi in holes[start:stop]:
                if hole_lo > position:
                    out.append((position, hole_lo - 1))
                position = hole_hi + 1
            if position <= hi:
                out.append((position, hi))
        return IntervalSet(tuple(out))

    def complement(self, lo: int, hi: int) -> IntervalSet:
        """The members of [lo, hi] not in this set."""
        return IntervalSet.span(lo, hi).subtract(self)

    def covers(self, other: IntervalSet) -> bool:
        return other.subtract(self).is_empty()

    def __str__(self) -> str:
        return "{" + ",".join(str(lo) if lo == hi else f"{lo}:{hi}" for lo, hi in self.intervals) + "}"


_NO_INTEGERS = IntervalSet()


# ---------------------------------------------------------------------------------------
# Bit pattern sets
# ---------------------------------------------------------------------------------------

Pattern = tuple[int, int]  # (value, mask): the integers x with x & mask == value


def _pattern_minus(pattern: Pattern, hole: Pattern) -> list[Pattern]:
    """`pattern` minus `hole` as disjoint patterns: one per bit the hole fixes and the pattern leaves free."""
    value, mask = pattern
    hole_value, hole_mask = hole
    if (value ^ hole_value) & mask & hole_mask:
        return [pattern]  # disjoint
    free = hole_mask & ~mask
    pieces = []
    while free:
        bit = free & -free
        free ^= bit
        pieces.append((value | (~hole_value & bit), mask | bit))  # this bit differs from the hole
        value |= hole_value & bit  # later pieces agree with the hole on it
        mask |= bit
    return pieces


def _merged_patterns(patterns: Iterable[Pattern]) -> tuple[Pattern, ...]:
    """Merge disjoint patterns that differ in one fixed bit (x0 + x1 = x-) until none do."""
    pending = set(patterns)
    while True:
        by_mask: dict[int, set[int]] = {}
        for value, mask in pending:
            by_mask.setdefault(mask, set()).add(value)
        merged_any = False
        result: set[Pattern] = set()
        for mask, values in by_mask.items():
            remaining = set(values)
            for value in sorted(values):
                if value not in remaining:
                    continue
                bits = mask
                while bits:
                    bit = bits & -bits
                    bits ^= bit
                    if not value & bit and value | bit in remaining:
                        remaining -= {value, value | bit}
                        result.add((value, mask & ~bit))
                        merged_any = True
                        break
            result.update((value, mask) for value in remaining)
        pending = result
        if not merged_any:
            return tuple(sorted(pending))


@dataclass(frozen=True, slots=True)
class PatternSet:
    """A set of `width`-bit integers as disjoint value/mask patterns (`x & mask == value`)."""

    width: int
    patterns: tuple[Pattern, ...] = ()

    @classmethod
    def full(cls, width: int) -> PatternSet:
        return cls(width, ((0, 0),))

    @classmethod
    def of(cls, value: int, mask: int, width: int) -> PatternSet:
        """`x & mask == value`; empty when `value` has bits outside `mask` (nothing can match)."""
        mask &= (1 << width) - 1
        if value & ~mask:
            return cls(width)
        return cls(width, ((value, mask),))

    @classmethod
    def point(cls, value: int, width: int) -> PatternSet:
        return cls(width, ((value, (1 << width) - 1),))

    def is_empty(self) -> bool:
        return not self.patterns

    def __contains__(self, value: int) -> bool:
        return any(value & mask == fixed for fixed, mask in self.patterns)

    def contains(self, value: int) -> bool:
        return value in self

    def first(self) -> int:
        """The smallest member (the set must not be empty)."""
        return min(value for value, _ in self.patterns)

    def size(self) -> int:
        return sum(1 << (self.width - mask.bit_count()) for _, mask in self.patterns)

    def intersect(self, other: PatternSet) -> PatternSet:
        out = [
            (value | other_value, mask | other_mask)
            for value, mask in self.patterns
            for other_value, other_mask in other.patterns
            if not (value ^ other_value) & mask & other_mask
        ]
        return PatternSet(self.width, _merged_patterns(out) if len(out) > 1 else tuple(out))

    def overlaps(self, other: PatternSet) -> bool:
        return any(
            not (value ^ other_value) & mask & other_mask
            for value, mask in self.patterns
            for other_value, other_mask in other.patterns
        )

    def subtract(self, other: PatternSet) -> PatternSet:
        pieces = list(self.patterns)
        for hole in other.patterns:
            pieces = [piece for pattern in pieces for piece in _pattern_minus(pattern, hole)]
            if not pieces:
                break
        return PatternSet(self.width, _merged_patterns(pieces))

    def union(self, other: PatternSet) -> PatternSet:
        return PatternSet(self.width, _merged_patterns(self.patterns + other.subtract(self).patterns))

    def complement(self) -> PatternSet:
        return PatternSet.full(self.width).subtract(self)

    def covers(self, other: PatternSet) -> bool:
        return other.subtract(self).is_empty()

    def __str__(self) -> str:
        return "{" + ",".join(f"{value:#x}/{mask:#x}" for value, mask in self.patterns) + "}"


Constraint = IntervalSet | PatternSet


# ---------------------------------------------------------------------------------------
# Interface names as integers
# ---------------------------------------------------------------------------------------

NAME_MAX_BYTES = 15  # IFNAMSIZ - 1
_ALPHABET = 255  # bytes 1..255; 0 ends a name
# _SUBTREE[d]: how many names extend a prefix of d bytes (itself included).
_SUBTREE = tuple(sum(_ALPHABET**k for k in range(NAME_MAX_BYTES - depth + 1)) for depth in range(NAME_MAX_BYTES + 1))
NAME_INDEX_END = _SUBTREE[0] - 1


def _name_bytes(name: str) -> bytes:
    data = name.encode("utf-8", "surrogateescape")
    if len(data) > NAME_MAX_BYTES or b"\0" in data:
        raise ValueError(f"interface name {name!r} is not 0-{NAME_MAX_BYTES} bytes without NUL")
    return data


def _index_of_bytes(data: bytes) -> int:
    index = 0
    for depth, byte in enumerate(data):
        index += 1 + (byte - 1) * _SUBTREE[depth + 1]
    return index


def name_index(name: str) -> int:
    """The preorder index of `name` among all names: a prefix's extensions follow it contiguously."""
    return _index_of_bytes(_name_bytes(name))


def _bytes_at(index: int) -> bytes:
    out = bytearray()
    while index:
        index -= 1
        rank, index = divmod(index, _SUBTREE[len(out) + 1])
        out.append(rank + 1)
    return bytes(out)


def name_at(index: int) -> str:
    """The name whose `name_index` is `index`."""
    return _bytes_at(index).decode("utf-8", "surrogateescape")


def name_block(prefix: str) -> IntervalSet:
    """Every name starting with `prefix` (itself included): what `prefix+` matches."""
    data = _name_bytes(prefix)
    start = _index_of_bytes(data)
    return IntervalSet.span(start, start + _SUBTREE[len(data)] - 1)


_NICE_BYTES = b"0123456789abcdefghijklmnopqrstuvwxyz"


def _nice_above(byte: int) -> int | None:
    return next((nice for nice in _NICE_BYTES if nice > byte), None)


def _next_nice_name(data: bytes) -> bytes | None:
    """The first non-empty name of lower-case letters and digits at or after `data` in preorder."""
    if not data:
        return _NICE_BYTES[:1]
    for position, byte in enumerate(data):
        if byte in _NICE_BYTES:
            continue
        bigger = _nice_above(byte)
        if bigger is not None:
            return data[:position] + bytes([bigger])
        for earlier in range(position - 1, -1, -1):  # past the whole subtree of data[:position]
            bigger = _nice_above(data[earlier])
            if bigger is not None:
                return data[:earlier] + bytes([bigger])
        return None
    return data


def _nice_name_index(names: IntervalSet) -> int:
    """A member of `names` that reads as a name (`eth2` rather than `eth0\\x01`) when there is one."""
    for lo, _ in names.intervals:  # first a stem and a digit: eth+ minus eth0 and eth1 gives eth2
        data = _bytes_at(lo)
        nice_length = next((i for i, byte in enumerate(data) if byte not in _NICE_BYTES), len(data))
        stem = data[:nice_length].rstrip(b"0123456789")
        if stem and len(stem) < NAME_MAX_BYTES:
            for digit in b"0123456789":
                index = _index_of_bytes(stem + bytes([digit]))
                if index in names:
                    return index
    for lo, hi in names.intervals:
        nice = _next_nice_name(_bytes_at(lo))
        if nice is not None and _index_of_bytes(nice) <= hi:
            return _index_of_bytes(nice)
    return names.first()


# ---------------------------------------------------------------------------------------
# Fields
# ---------------------------------------------------------------------------------------

CT_STATE_NAMES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED")
TCP_FLAG_BITS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20, "ECE": 0x40, "CWR": 0x80}
_IPTABLES_ALL_FLAGS = 0x3F  # iptables' ALL: FIN..URG
ICMP_ANY = 0xFF  # `--icmp-type any` (IPv4 only)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a packet: how its values are encoded and shown."""

    name: str
    kind: str  # "name" | "address" | "number" | "state" | "bool" | "bits"
    size: int = 0  # numbers: the highest value; bits: the width
    label: str = ""  # how describe() introduces it
    preferred: tuple = ()  # values sample() picks first, when allowed


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("in_iface", "name", label="via", preferred=("eth0", "eth1", "docker0", "br0", "lo", "wlan0")),
    FieldSpec("out_iface", "name", label="out via", preferred=("eth1", "eth0", "docker0", "br0", "lo", "wlan0")),
    FieldSpec("src", "address", label="from", preferred=("192.0.2.1", "2001:db8::1")),
    FieldSpec("dst", "address", label="to", preferred=("198.51.100.1", "2001:db8::2")),
    FieldSpec("proto", "number", 0xFF, preferred=(6, 17, 1, 58)),
    FieldSpec("sport", "number", 0xFFFF, label="port", preferred=(40000,)),
    FieldSpec("dport", "number", 0xFFFF, label="port", preferred=(80, 443, 22)),
    FieldSpec("icmp_type", "number", 0xFF, label="icmp-type", preferred=(8, 128)),
    FieldSpec("icmp_code", "number", 0xFF, label="code", preferred=(0,)),
    FieldSpec("tcp_flags", "bits", 8, label="flags", preferred=(TCP_FLAG_BITS["SYN"], TCP_FLAG_BITS["ACK"])),
    FieldSpec("ct_state", "state", len(CT_STATE_NAMES) - 1, label="state", preferred=("NEW", "ESTABLISHED")),
    FieldSpec("ct_snat", "bool", 1, label="snat", preferred=(False,)),
    FieldSpec("ct_dnat", "bool", 1, label="dnat", preferred=(False,)),
    FieldSpec("ct_orig_dst", "address", label="orig-dst", preferred=("198.51.100.1", "2001:db8::2")),
    FieldSpec("ct_orig_dport", "number", 0xFFFF, label="orig-port", preferred=(80, 443, 22)),
    FieldSpec("dst_local", "bool", 1, label="dst-local", preferred=(False,)),
    FieldSpec("src_local", "bool", 1, label="src-local", preferred=(False,)),
    FieldSpec("fragment", "bool", 1, label="fragment", preferred=(False,)),
    FieldSpec("mark", "bits", 32, label="mark", preferred=(0,)),
    FieldSpec("ct_mark", "bits", 32, label="connmark", preferred=(0,)),
)
FIELD_NAMES = tuple(spec.name for spec in FIELDS)
SPECS = {spec.name: spec for spec in FIELDS}
_ORDER = {spec.name: position for position, spec in enumerate(FIELDS)}
_ADDRESS_END = {Family.IPV4: (1 << 32) - 1, Family.IPV6: (1 << 128) - 1}
_ADDRESS_BITS = {Family.IPV4: 32, Family.IPV6: 128}


def _full_constraint(spec: FieldSpec, family: Family) -> Constraint:
    if spec.kind == "bits":
        return PatternSet.full(spec.size)
    if spec.kind == "name":
        return IntervalSet.span(0, NAME_INDEX_END)
    if spec.kind == "address":
        return IntervalSet.span(0, _ADDRESS_END[family])
    return IntervalSet.span(0, spec.size)


FULL: dict[Family, dict[str, Constraint]] = {
    family: {spec.name: _full_constraint(spec, family) for spec in FIELDS} for family in Family
}


def domain(field: str, family: Family) -> Constraint:
    """Every value `field` can take."""
    return FULL[family][_spec(field).name]


def _spec(field: str) -> FieldSpec:
    spec = SPECS.get(field)
    if spec is None:
        raise KeyError(f"unknown packet field {field!r}; fields are {', '.join(FIELD_NAMES)}")
    return spec


def encode(field: str, value: Any, family: Family) -> int:
    """A field's value as the integer the constraints hold (names, addresses, states, booleans)."""
    spec = _spec(field)
    if spec.kind == "name" and isinstance(value, str):
        return name_index(value)
    if spec.kind == "address" and not isinstance(value, int):
        address = ipaddress.ip_address(value) if isinstance(value, str) else value
        if address.version != (4 if family is Family.IPV4 else 6):
            raise ValueError(f"{address} is not an {family} address")
        return int(address)
    if spec.kind == "state" and isinstance(value, str):
        return CT_STATE_NAMES.index(value.upper())
    return int(value)


def decode(field: str, number: int, family: Family) -> Any:
    """The readable value of a field's integer: str, ipaddress, state name, bool or int."""
    kind = _spec(field).kind
    if kind == "name":
        return name_at(number)
    if kind == "address":
        return ipaddress.IPv4Address(number) if family is Family.IPV4 else ipaddress.IPv6Address(number)
    if kind == "state":
        return CT_STATE_NAMES[number]
    if kind == "bool":
        return bool(number)
    return number


def _check_constraint(field: str, constraint: Constraint, family: Family) -> None:
    full = FULL[family][field]
    if isinstance(full, PatternSet):
        if not isinstance(constraint, PatternSet) or constraint.width != full.width:
            raise TypeError(f"{field} takes a PatternSet of width {full.width}, not {constraint!r}")
    elif not isinstance(constraint, IntervalSet) or not full.covers(constraint):
        raise TypeError(f"{field} takes an IntervalSet within {full}, not {constraint!r}")


def _pick(field: str, constraint: Constraint, family: Family) -> int:
    """A member of a non-empty constraint, a readable one when possible."""
    spec = SPECS[field]
    for value in spec.preferred:
        try:
            number = encode(field, value, family)
        except ValueError:
            continue
        if number in constraint:
            return number
    if spec.kind == "name":
        return _nice_name_index(constraint)  # type: ignore[arg-type]
    if spec.kind == "address":
        lo, hi = constraint.intervals[0]  # type: ignore[union-attr]
        return lo + 1 if lo % 256 == 0 and lo < hi else lo  # 10.0.0.1 rather than 10.0.0.0
    return constraint.first()


# ---------------------------------------------------------------------------------------
# Cubes
# ---------------------------------------------------------------------------------------

Item = tuple[str, Constraint]


def _field_order(item: Item) -> int:
    return _ORDER[item[0]]


@dataclass(frozen=True, slots=True)
class Cube:
    """Packets whose every constrained field lies in its constraint; other fields are free.

    `items` holds only the constrained fields, in `FIELDS` order; no constraint is the
    whole domain (that field is left out) and an empty cube is `Cube.empty(family)`.
    Build cubes with `Cube.of`, which checks and normalizes.
    """

    family: Family
    items: tuple[Item, ...] = ()

    @classmethod
    def of(cls, family: Family, constraints: Mapping[str, Constraint] | None = None, **more: Constraint) -> Cube:
        merged = {**(constraints or {}), **more}
        for field, constraint in merged.items():
            _spec(field)
            _check_constraint(field, constraint, family)
        return _cube(family, merged)

    @classmethod
    def empty(cls, family: Family) -> Cube:
        return _EMPTY_CUBES[family]

    @classmethod
    def any(cls, family: Family) -> Cube:
        return cls(family, ())

    # -- reading ---------------------------------------------------------------------

    def get(self, field: str) -> Constraint | None:
        """The field's constraint, None when the field is unconstrained."""
        for name, constraint in self.items:
            if name == field:
                return constraint
        return None

    def constraint(self, field: str) -> Constraint:
        """The field's constraint, its whole domain when unconstrained."""
        found = self.get(field)
        return FULL[self.family][_spec(field).name] if found is None else found

    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.items)

    def is_empty(self) -> bool:
        return any(constraint.is_empty() for _, constraint in self.items)

    def contains(self, packet: Mapping[str, Any]) -> bool:
        """Whether a packet (field -> value, as `sample` gives) is in the cube.

        Fields the cube leaves free may be missing from `packet`; a constrained one may not.
        """
        for field, constraint in self.items:
            if field not in packet:
                raise KeyError(f"the packet has no {field} and the set constrains it")
            if encode(field, packet[field], self.family) not in constraint:
                return False
        return True

    __contains__ = contains

    def sample(self) -> dict[str, Any] | None:
        """A concrete packet of the cube, every field set; None when the cube is empty."""
        if self.is_empty():
            return None
        return {
            field: decode(field, _pick(field, self.constraint(field), self.family), self.family)
            for field in FIELD_NAMES
        }

    # -- algebra ---------------------------------------------------------------------

    def intersect(self, other: Cube) -> Cube:
        _same_family(self.family, other.family)
        mine, theirs = self.items, other.items
        if not theirs:
            return self
        if not mine:
            return other
        out: list[Item] = []
        i = j = 0
        while i < len(mine) and j < len(theirs):
            mine_order, their_order = _ORDER[mine[i][0]], _ORDER[theirs[j][0]]
            if mine_order < their_order:
                out.append(mine[i])
                i += 1
            elif their_order < mine_order:
                out.append(theirs[j])
                j += 1
            else:
                both = mine[i][1].intersect(theirs[j][1])  # type: ignore[arg-type]
                if both.is_empty():
                    return _EMPTY_CUBES[self.family]
                out.append((mine[i][0], both))
                i += 1
                j += 1
        out.extend(mine[i:])
        out.extend(theirs[j:])
        return Cube(self.family, tuple(out))

    def overlaps(self, other: Cube) -> bool:
        """Whether the cubes share a packet (cheaper than intersecting)."""
        _same_family(self.family, other.family)
        return not self.is_empty() and not other.is_empty() and _cubes_overlap(self, other)

    def covers(self, other: Cube) -> bool:
        """Whether every packet of `other` is in this cube."""
        if other.is_empty():
            return True
        theirs = dict(other.items)
        for field, constraint in self.items:
            their_constraint = theirs.get(field)
            if their_constraint is None or not constraint.covers(their_constraint):  # type: ignore[arg-type]
                return False
        return True

    def subtract(self, other: Cube) -> list[Cube]:
        """This cube minus `other`, as disjoint non-empty cubes (see `_cube_minus`)."""
        _same_family(self.family, other.family)
        if self.is_empty():
            return []
        return [self] if other.is_empty() else _cube_minus(self, other)

    def assign(self, field: str, constraint: Constraint | None) -> Cube:
        """The cube with `field` set to `constraint` (None: unconstrained), whatever it was."""
        current = dict(self.items)
        current.pop(field, None)
        if constraint is not None:
            current[field] = constraint
        return _cube(self.family, current)

    def describe(self) -> str:
        return _describe_cube(self)

    def __str__(self) -> str:
        return self.describe()


def _cubes_overlap(first: Cube, second: Cube) -> bool:
    """Whether two non-empty cubes share a packet: every field both constrain overlaps."""
    mine, theirs = first.items, second.items
    i = j = 0
    while i < len(mine) and j < len(theirs):
        mine_order, their_order = _ORDER[mine[i][0]], _ORDER[theirs[j][0]]
        if mine_order < their_order:
            i += 1
        elif their_order < mine_order:
            j += 1
        else:
            if not mine[i][1].overlaps(theirs[j][1]):  # type: ignore[arg-type]
                return False
            i += 1
            j += 1
    return True


def _cube_minus(cube: Cube, hole: Cube) -> list[Cube]:
    """A non-empty cube minus a non-empty one, as disjoint non-empty cubes.

    The standard cube difference: for each field `hole` constrains, one piece that
    agrees with `hole` on the fields before it and lies outside it on this field.
    At most one piece per field `hole` constrains.
    """
    if not _cubes_overlap(cube, hole):
        return [cube]
    full = FULL[cube.family]
    current = dict(cube.items)
    pieces: list[Cube] = []
    for field, theirs in hole.items:
        mine = current.get(field, full[field])
        outside = mine.subtract(theirs)  # type: ignore[arg-type]
        if not outside.is_empty():
            pieces.append(Cube(cube.family, _sorted_items({**current, field: outside})))
        current[field] = mine.intersect(theirs)  # type: ignore[arg-type]
    return pieces


def _sorted_items(constraints: Mapping[str, Constraint]) -> tuple[Item, ...]:
    return tuple(sorted(constraints.items(), key=_field_order))


def _cube(family: Family, constraints: Mapping[str, Constraint]) -> Cube:
    """A normalized cube: whole-domain constraints dropped, any empty one makes it empty."""
    full = FULL[family]
    kept: dict[str, Constraint] = {}
    for field, constraint in constraints.items():
        if constraint.is_empty():
            return _EMPTY_CUBES[family]
        if constraint != full[field]:
            kept[field] = constraint
    return Cube(family, _sorted_items(kept))


_EMPTY_CUBES = {family: Cube(family, (("proto", _NO_INTEGERS),)) for family in Family}


def _same_family(mine: Family, theirs: Family) -> None:
    if mine is not theirs:
        raise ValueError(f"cannot combine {mine} and {theirs} packet sets")


def _merge_cubes(family: Family, cubes: list[Cube]) -> tuple[Cube, ...]:
    """Merge disjoint cubes that differ in one field only, until none do (keeps sets small)."""
    full = FULL[family]
    changed = True
    while changed and len(cubes) > 1:
        changed = False
        present = {field for cube in cubes for field, _ in cube.items}
        for field in sorted(present, key=_ORDER.__getitem__):
            groups: dict[tuple[Item, ...], list[Cube]] = {}
            for cube in cubes:
                rest = tuple(item for item in cube.items if item[0] != field)
                key = rest if len(rest) < len(cube.items) else ((None, id(cube)),)  # a free field: no merge
                groups.setdefault(key, []).append(cube)  # type: ignore[arg-type]
            if len(groups) == len(cubes):
                continue
            merged: list[Cube] = []
            for rest, members in groups.items():
                if len(members) == 1:
                    merged.append(members[0])
                    continue
                union = members[0].get(field)
                for member in members[1:]:
                    union = union.union(member.get(field))  # type: ignore[union-attr,arg-type]
                items = dict(rest)
                if union != full[field]:
                    items[field] = union  # type: ignore[assignment]
                merged.append(Cube(family, _sorted_items(items)))
            cubes = merged
            changed = True
    return tuple(cubes)


def _merge_partner(cube: Cube, others: list[Cube]) -> tuple[int, str] | None:
    """An index in `others` of a cube equal to `cube` but in one field both constrain, and that field."""
    items = cube.items
    for index, other in enumerate(others):
        theirs = other.items
        if len(theirs) != len(items):
            continue
        differing = None
        for (field, constraint), (their_field, their_constraint) in zip(items, theirs, strict=True):
            if field != their_field:
                break
            if constraint is their_constraint or constraint == their_constraint:
                continue
            if differing is not None:
                break
            differing = field
        else:
            if differing is not None:
                return index, differing
    return None


def _merge_into(family: Family, stable: list[Cube], fresh: list[Cube]) -> tuple[Cube, ...]:
    """Add disjoint `fresh` cubes to disjoint, already merged `stable` ones, merging as it goes.

    Cheaper than `_merge_cubes` when few cubes are fresh, as after a subtraction that
    touched a few cubes of a large set.
    """
    if len(fresh) > 64:
        return _merge_cubes(family, stable + fresh)
    full = FULL[family]
    result = list(stable)
    queue = list(fresh)
    while queue:
        cube = queue.pop()
        found = _merge_partner(cube, result)
        if found is None:
            result.append(cube)
            continue
        index, field = found
        partner = result.pop(index)
        union = cube.get(field).union(partner.get(field))  # type: ignore[union-attr,arg-type]
        items = dict(cube.items)
        if union == full[field]:
            del items[field]
        else:
            items[field] = union
        queue.append(Cube(family, _sorted_items(items)))
    return tuple(result)


# ---------------------------------------------------------------------------------------
# Packet sets
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PacketSet:
    """A set of packets of one address family: a union of disjoint, non-empty cubes.

    Immutable; every operation returns a new set.  `==` compares representations; use
    `equivalent` to compare the packets.
    """

    family: Family
    cubes: tuple[Cube, ...] = ()

    # -- constructors ----------------------------------------------------------------

    @classmethod
    def any(cls, family: Family) -> PacketSet:
        return cls(family, (Cube(family, ()),))

    @classmethod
    def none(cls, family: Family) -> PacketSet:
        return cls(family)

    @classmethod
    def of(cls, family: Family, constraints: Mapping[str, Constraint] | None = None, **more: Constraint) -> PacketSet:
        """The packets whose fields lie in the given constraints (one cube)."""
        cube = Cube.of(family, constraints, **more)
        return cls(family) if cube.is_empty() else cls(family, (cube,))

    @classmethod
    def point(cls, family: Family, packet: Mapping[str, Any]) -> PacketSet:
        """One packet (field -> value, as `sample` gives); fields it lacks are left free."""
        items = {}
        for field, value in packet.items():
            number = encode(field, value, family)
            spec = SPECS[field]
            items[field] = PatternSet.point(number, spec.size) if spec.kind == "bits" else IntervalSet.point(number)
        return cls.of(family, items)

    @classmethod
    def from_cubes(cls, family: Family, cubes: Iterable[Cube]) -> PacketSet:
        """The union of any cubes, overlapping or not."""
        disjoint: list[Cube] = []
        for cube in cubes:
            if cube.is_empty():
                continue
            pieces = [cube]
            for earlier in disjoint:
                pieces = [piece for part in pieces for piece in _cube_minus(part, earlier)]
            disjoint.extend(pieces)
        return cls(family, _merge_into(family, [], disjoint))

    # -- questions -------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self.cubes

    def is_any(self) -> bool:
        return (len(self.cubes) == 1 and not self.cubes[0].items) or self.covers(PacketSet.any(self.family))

    def contains(self, packet: Mapping[str, Any]) -> bool:
        return any(cube.contains(packet) for cube in self.cubes)

    __contains__ = contains

    def overlaps(self, other: PacketSet) -> bool:
        _same_family(self.family, other.family)
        return any(_cubes_overlap(mine, theirs) for mine in self.cubes for theirs in other.cubes)

    def covers(self, other: PacketSet) -> bool:
        """Whether every packet of `other` is in this set."""
        _same_family(self.family, other.family)
        for cube in other.cubes:
            if any(mine.covers(cube) for mine in self.cubes):
                continue
            remaining = [cube]
            for mine in self.cubes:
                remaining = [piece for part in remaining for piece in _cube_minus(part, mine)]
                if not remaining:
                    break
            if remaining:
                return False
        return True

    def equivalent(self, other: PacketSet) -> bool:
        return self.covers(other) and other.covers(self)

    def sample(self) -> dict[str, Any] | None:
        """A concrete packet of the set (every field set), None when the set is empty."""
        return self.cubes[0].sample() if self.cubes else None

    def field_values(self, field: str) -> Constraint:
        """The values `field` takes over the set (its projection)."""
        full = domain(field, self.family)
        values: Constraint | None = None
        for cube in self.cubes:
            constraint = cube.get(field)
            if constraint is None:
                return full
            values = constraint if values is None else values.union(constraint)  # type: ignore[arg-type]
        return values if values is not None else full.subtract(full)  # type: ignore[arg-type]

    # -- algebra ---------------------------------------------------------------------

    def intersect(self, other: PacketSet) -> PacketSet:
        _same_family(self.family, other.family)
        pieces = []
        for mine in self.cubes:
            for theirs in other.cubes:
                both = mine.intersect(theirs)
                if not both.is_empty():
                    pieces.append(both)
        return PacketSet(self.family, _merge_into(self.family, [], pieces))

    def union(self, other: PacketSet) -> PacketSet:
        _same_family(self.family, other.family)
        if not other.cubes:
            return self
        if not self.cubes:
            return other
        extra = other.subtract(self)
        return PacketSet(self.family, _merge_into(self.family, list(self.cubes), list(extra.cubes)))

    def subtract(self, other: PacketSet) -> PacketSet:
        _same_family(self.family, other.family)
        if not other.cubes or not self.cubes:
            return self
        stable = list(self.cubes)  # untouched by every hole so far: still merged together
        fresh: list[Cube] = []  # pieces of cubes a hole cut
        for hole in other.cubes:
            untouched: list[Cube] = []
            cut: list[Cube] = []
            for cube in stable:
                (cut if _cubes_overlap(cube, hole) else untouched).append(cube)
            fresh = [piece for cube in cut + fresh for piece in _cube_minus(cube, hole)]
            stable = untouched
            if len(fresh) > 64:
                stable, fresh = list(_merge_into(self.family, stable, fresh)), []
        return PacketSet(self.family, _merge_into(self.family, stable, fresh))

    def complement(self) -> PacketSet:
        return PacketSet.any(self.family).subtract(self)

    def restrict(self, field: str, constraint: Constraint) -> PacketSet:
        """The packets of the set whose `field` lies in `constraint`."""
        return self.intersect(PacketSet.of(self.family, {field: constraint}))

    def assign(self, field: str, constraint: Constraint | None) -> PacketSet:
        """The packets after setting `field` to any value of `constraint` (None: any value).

        What a rewrite does to a set: `--set-mark 1` assigns mark {1}, DNAT assigns dst.
        """
        _spec(field)
        if constraint is not None:
            _check_constraint(field, constraint, self.family)
        return PacketSet.from_cubes(self.family, (cube.assign(field, constraint) for cube in self.cubes))

    def copy_field(self, source: str, target: str) -> PacketSet:
        """Set `target` to the value of `source` (conntrack remembering the destination).

        Exact when `source` is a single value in each cube; otherwise the equality of the
        two fields is lost and `target` ranges over `source`'s constraint (an over-approximation).
        """
        _spec(source)
        _spec(target)
        return PacketSet.from_cubes(self.family, (cube.assign(target, cube.get(source)) for cube in self.cubes))

    __and__ = intersect
    __or__ = union
    __sub__ = subtract

    def __invert__(self) -> PacketSet:
        return self.complement()

    # -- display ---------------------------------------------------------------------

    def describe(self) -> str:
        """A readable summary: `tcp from any via eth0 to 172.17.0.2 port 80`, one clause per cube."""
        if not self.cubes:
            return "no packet"
        return "; ".join(_describe_cube(cube) for cube in self.cubes)

    def __str__(self) -> str:
        return self.describe()


# ---------------------------------------------------------------------------------------
# Over- and under-approximations
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bounds:
    """A set known only between two bounds: `under` ⊆ the real set ⊆ `over`.

    For what iptlint cannot compute (host names, unknown matches, ipsets): a claim that
    holds for both bounds holds for the real set.  Exact when the bounds are equal.
    """

    over: PacketSet
    under: PacketSet

    @classmethod
    def exactly(cls, packets: PacketSet) -> Bounds:
        return cls(packets, packets)

    @classmethod
    def unknown(cls, family: Family) -> Bounds:
        """Any packet might be in the set, none certainly is."""
        return cls(PacketSet.any(family), PacketSet.none(family))

    @property
    def exact(self) -> bool:
        return self.over is self.under or self.under.covers(self.over)

    def _same_bounds(self) -> bool:
        return self.over is self.under

    def intersect(self, other: Bounds) -> Bounds:
        if self._same_bounds() and other._same_bounds():  # exact: compute once
            return Bounds.exactly(self.over & other.over)
        return Bounds(self.over & other.over, self.under & other.under)

    def union(self, other: Bounds) -> Bounds:
        if self._same_bounds() and other._same_bounds():
            return Bounds.exactly(self.over | other.over)
        return Bounds(self.over | other.over, self.under | other.under)

    def subtract(self, other: Bounds) -> Bounds:
        if self._same_bounds() and other._same_bounds():
            return Bounds.exactly(self.over - other.over)
        return Bounds(self.over - other.under, self.under - other.over)

    def complement(self) -> Bounds:
        if self._same_bounds():
            return Bounds.exactly(~self.over)
        return Bounds(~self.under, ~self.over)

    __and__ = intersect
    __or__ = union
    __sub__ = subtract

    def __invert__(self) -> Bounds:
        return self.complement()


# ---------------------------------------------------------------------------------------
# Constructors from the AST's values (one field each; complement = the negated match)
# ---------------------------------------------------------------------------------------


def from_network(
    network: ipaddress.IPv4Network | ipaddress.IPv6Network, family: Family, field: str = "src"
) -> PacketSet:
    """`-s 10.0.0.0/8`: the packets whose `field` (src, dst, ct_orig_dst) is in the network."""
    _check_address_field(field)
    if network.version != (4 if family is Family.IPV4 else 6):
        raise ValueError(f"{network} is not an {family} network")
    lo = int(network.network_address)
    return PacketSet.of(family, {field: IntervalSet.span(lo, lo + network.num_addresses - 1)})


def from_address(address: Address, family: Family, field: str = "src") -> Bounds:
    """`-s`/`-d`/`--ctorigdst`: exact for a network; a host name resolves at load time, so unknown."""
    _check_address_field(field)
    if address.network is None:
        return Bounds.unknown(family)
    return Bounds.exactly(from_network(address.network, family, field))


def from_address_range(addresses: AddressRange, family: Family, field: str = "src") -> PacketSet:
    """`-m iprange --src-range A-B`; a reversed range matches nothing, as in the kernel."""
    _check_address_field(field)
    lo, hi = int(addresses.lo), int(addresses.hi)
    return PacketSet.of(family, {field: IntervalSet.span(lo, hi)})


def _check_address_field(field: str) -> None:
    if _spec(field).kind != "address":
        raise ValueError(f"{field} is not an address field")


def from_interface(interface: Interface | str, family: Family, field: str = "in_iface") -> PacketSet:
    """`-i eth0`, `-o docker+`: an exact name, or every name with the prefix (`+` alone: any)."""
    if _spec(field).kind != "name":
        raise ValueError(f"{field} is not an interface field")
    if isinstance(interface, str):
        interface = Interface(interface)
    names = name_block(interface.prefix) if interface.wildcard else IntervalSet.point(name_index(interface.name))
    return PacketSet.of(family, {field: names})


def from_protocol(protocol: Protocol | int, family: Family) -> PacketSet:
    """`-p tcp`.  Protocol 0 (`all`) is any packet; note the kernel ignores `!` on it too."""
    number = protocol.number if isinstance(protocol, Protocol) else protocol
    if number == 0:
        return PacketSet.any(family)
    return PacketSet.of(family, proto=IntervalSet.point(number))


def from_ports(ports: Range | Iterable[Range], family: Family, field: str = "dport") -> PacketSet:
    """`--dport 80`, `--sport 1024:65535`, `-m multiport --dports 80,443` (a reversed range: none)."""
    if _spec(field).kind != "number":
        raise ValueError(f"{field} is not a numeric field")
    ranges = (ports,) if isinstance(ports, Range) else tuple(ports)
    return PacketSet.of(family, {field: IntervalSet.of(*((r.lo, r.hi) for r in ranges))})


def from_multiport_ports(ports: Iterable[Range], family: Family) -> PacketSet:
    """`-m multiport --ports`: the source or the destination port is in the list."""
    ranges = tuple(ports)
    return from_ports(ranges, family, "sport") | from_ports(ranges, family, "dport")


def from_icmp(icmp_type: int, family: Family, codes: Range | None = None) -> PacketSet:
    """`--icmp-type 8`, `--icmpv6-type 1/4`: a type and a range of codes (default all); IPv4 type 255 is `any`."""
    if family is Family.IPV4 and icmp_type == ICMP_ANY:
        return PacketSet.any(family)
    codes = codes or Range(0, 0xFF)
    return PacketSet.of(family, icmp_type=IntervalSet.point(icmp_type), icmp_code=IntervalSet.span(codes.lo, codes.hi))


def tcp_flag_byte(names: Iterable[str]) -> int:
    return sum({TCP_FLAG_BITS[name.upper()] for name in names})


def from_tcp_flags(flags: TcpFlags, family: Family) -> PacketSet:
    """`--tcp-flags MASK COMP`: flags & MASK == COMP (a COMP flag outside MASK: nothing matches)."""
    return PacketSet.of(family, tcp_flags=PatternSet.of(tcp_flag_byte(flags.set), tcp_flag_byte(flags.mask), 8))


def from_syn(family: Family) -> PacketSet:
    """`--syn`: SYN set, FIN, RST and ACK clear."""
    return from_tcp_flags(TcpFlags(frozenset({"FIN", "SYN", "RST", "ACK"}), frozenset({"SYN"})), family)


def from_states(states: Iterable[str], family: Family) -> PacketSet:
    """`--ctstate`/`--state`: the packet's state is one of them, or SNAT/DNAT and the connection was NATed."""
    wanted = {state.upper() for state in states}
    unknown = wanted - set(CT_STATE_NAMES) - {"SNAT", "DNAT"}
    if unknown:
        raise ValueError(f"unknown conntrack states {sorted(unknown)}")
    own = IntervalSet.of(*((index, index) for index, name in enumerate(CT_STATE_NAMES) if name in wanted))
    result = PacketSet.of(family, ct_state=own)
    if "SNAT" in wanted:
        result |= PacketSet.of(family, ct_snat=IntervalSet.point(1))
    if "DNAT" in wanted:
        result |= PacketSet.of(family, ct_dnat=IntervalSet.point(1))
    return result


def from_mark(mark: Masked, family: Family, field: str = "mark") -> PacketSet:
    """`-m mark --mark 0x4000/0x4000` (field `ct_mark` for connmark): exact for any mask."""
    if _spec(field).kind != "bits" or _spec(field).size != 32:
        raise ValueError(f"{field} is not a mark field")
    return PacketSet.of(family, {field: PatternSet.of(mark.value, mark.mask, 32)})


def from_flag(field: str, value: bool, family: Family) -> PacketSet:
    """A boolean field: `dst_local` (addrtype --dst-type LOCAL), `src_local`, `fragment` (-f), `ct_snat`, `ct_dnat`."""
    if _spec(field).kind != "bool":
        raise ValueError(f"{field} is not a boolean field")
    return PacketSet.of(family, {field: IntervalSet.point(int(value))})


def from_values(field: str, values: Iterable[Any], family: Family) -> PacketSet:
    """The packets whose `field` is one of `values` (typed as `sample` gives them)."""
    spec = _spec(field)
    numbers = [encode(field, value, family) for value in values]
    if spec.kind == "bits":
        constraint: Constraint = PatternSet(spec.size)
        for number in numbers:
            constraint = constraint.union(PatternSet.point(number, spec.size))
    else:
        constraint = IntervalSet.of(*((number, number) for number in numbers))
    return PacketSet.of(family, {field: constraint})


# ---------------------------------------------------------------------------------------
# describe()
# ---------------------------------------------------------------------------------------

_MAX_TERMS = 8


def _describe_cube(cube: Cube) -> str:
    if cube.is_empty():
        return "no packet"
    family = cube.family
    shown = dict(cube.items)

    def text(field: str) -> str | None:
        constraint = shown.pop(field, None)
        return None if constraint is None else _constraint_text(field, constraint, family)

    words = [text("proto") or "all", "from", text("src") or "any"]
    for field in ("sport", "in_iface"):
        value = text(field)
        if value is not None:
            words += [SPECS[field].label, value]
    words += ["to", text("dst") or "any"]
    for field in ("dport", "out_iface"):
        value = text(field)
        if value is not None:
            words += [SPECS[field].label, value]
    for field in list(shown):
        spec = SPECS[field]
        value = text(field)
        if spec.kind == "bool":
            words.append(spec.label if value == "1" else f"not {spec.label}")
        else:
            words += [spec.label, value]  # type: ignore[list-item]
    return " ".join(words)


def _constraint_text(field: str, constraint: Constraint, family: Family) -> str:
    """The shortest of: the members, `not` the non-members, `BLOCK except HOLES`."""
    spec = SPECS[field]
    full = FULL[family][field]
    complement = full.subtract(constraint)  # type: ignore[arg-type]
    if spec.kind == "bool":
        return str(constraint.first())
    positive = _terms(spec, constraint, family)
    negative = _terms(spec, complement, family)
    candidates: list[tuple[int, str]] = []
    if positive is not None:
        candidates.append((len(positive), ",".join(positive)))
    if negative is not None:
        candidates.append((len(negative), "not " + ",".join(negative)))
    hull = _hull(spec, constraint, family)
    if hull is not None and hull != full:
        holes = _terms(spec, hull.subtract(constraint), family)
        hull_terms = _terms(spec, hull, family)
        if holes and hull_terms:
            candidates.append((1 + len(holes), f"{hull_terms[0]} except {','.join(holes)}"))
    if not candidates:  # too many terms either way: the side with fewer pieces, cut short
        if _piece_count(complement) < _piece_count(constraint):
            return "not " + _raw_text(spec, complement, family)
        return _raw_text(spec, constraint, family)
    return min(candidates, key=itemgetter(0))[1]  # the first of the shortest: the members on a tie


def _terms(spec: FieldSpec, constraint: Constraint, family: Family) -> list[str] | None:
    """The set as a short list of readable terms, None when it would be too long."""
    if _piece_count(constraint) > _MAX_TERMS:
        return None
    if spec.kind == "bits":
        terms = [_pattern_text(spec, value, mask) for value, mask in constraint.patterns]  # type: ignore[union-attr]
    elif spec.kind == "address":
        terms = _address_terms(constraint, family)  # type: ignore[arg-type]
    elif spec.kind == "name":
        terms = _name_terms(constraint)  # type: ignore[arg-type]
    elif spec.kind == "state":
        terms = [CT_STATE_NAMES[n] for lo, hi in constraint.intervals for n in range(lo, hi + 1)]  # type: ignore[union-attr]
    else:
        terms = [_number_text(spec, lo, hi) for lo, hi in constraint.intervals]  # type: ignore[union-attr]
    return terms if terms is not None and len(terms) <= _MAX_TERMS else None


def _number_text(spec: FieldSpec, lo: int, hi: int) -> str:
    if spec.kind == "state":
        return ",".join(CT_STATE_NAMES[lo : hi + 1])
    if spec.name == "proto" and lo == hi:
        return PROTOCOL_NAMES.get(lo, str(lo))
    return str(lo) if lo == hi else f"{lo}:{hi}"


def _pattern_text(spec: FieldSpec, value: int, mask: int) -> str:
    if spec.name == "tcp_flags":
        return f"{_flag_names(value)}/{_flag_names(mask)}"
    if mask == (1 << spec.size) - 1:
        return f"{value:#x}"
    return f"{value:#x}/{mask:#x}"


def _flag_names(byte: int) -> str:
    if byte == 0:
        return "NONE"
    if byte == _IPTABLES_ALL_FLAGS:
        return "ALL"
    return ",".join(name for name, bit in TCP_FLAG_BITS.items() if byte & bit)


def _address_terms(addresses: IntervalSet, family: Family) -> list[str] | None:
    bits = _ADDRESS_BITS[family]
    terms: list[str] = []
    for lo, hi in addresses.intervals:
        while lo <= hi:
            size = lo & -lo if lo else 1 << bits
            while size > hi - lo + 1:
                size >>= 1
            prefix = bits - (size.bit_length() - 1)
            host = str(decode("src", lo, family))
            terms.append(host if prefix == bits else f"{host}/{prefix}")
            if len(terms) > _MAX_TERMS:
                return None
            lo += size
    return terms


def _name_terms(names: IntervalSet) -> list[str] | None:
    terms: list[str] = []
    for lo, hi in names.intervals:
        while lo <= hi:
            data = _bytes_at(lo)
            end = lo + _SUBTREE[len(data)] - 1
            shown = _shown_name(data)
            if end <= hi:
                terms.append(shown + "+" if data else "+")
                lo = end + 1
            else:
                terms.append(shown or '""')
                lo += 1
            if len(terms) > _MAX_TERMS:
                return None
    return terms


def _shown_name(data: bytes) -> str:
    text = data.decode("utf-8", "backslashreplace")
    return text if text.isprintable() else repr(text)[1:-1]


def _hull(spec: FieldSpec, constraint: Constraint, family: Family) -> IntervalSet | None:
    """The smallest network / name prefix holding the whole set (for `X except Y`)."""
    if constraint.is_empty() or spec.kind not in ("address", "name"):
        return None
    lo, hi = constraint.intervals[0][0], constraint.intervals[-1][1]  # type: ignore[union-attr]
    if spec.kind == "address":
        host_bits = (lo ^ hi).bit_length()
        start = lo >> host_bits << host_bits
        return IntervalSet.span(start, start + (1 << host_bits) - 1)
    first, last = _bytes_at(lo), _bytes_at(hi)
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    prefix = first[:common]
    start = _index_of_bytes(prefix)
    return IntervalSet.span(start, start + _SUBTREE[len(prefix)] - 1)


def _piece_count(constraint: Constraint) -> int:
    return len(constraint.patterns) if isinstance(constraint, PatternSet) else len(constraint.intervals)


_RAW_LIMIT = 10


def _raw_text(spec: FieldSpec, constraint: Constraint, family: Family) -> str:
    """The fallback: the first intervals or patterns, and how many more there are."""
    if isinstance(constraint, PatternSet):
        pieces = [_pattern_text(spec, value, mask) for value, mask in constraint.patterns[:_RAW_LIMIT]]
    elif spec.kind in ("address", "name"):
        show = (lambda n: str(decode("src", n, family))) if spec.kind == "address" else (lambda n: name_at(n) or '""')
        pieces = [show(lo) if lo == hi else f"{show(lo)}-{show(hi)}" for lo, hi in constraint.intervals[:_RAW_LIMIT]]
    else:
        pieces = [_number_text(spec, lo, hi) for lo, hi in constraint.intervals[:_RAW_LIMIT]]
    more = _piece_count(constraint) - _RAW_LIMIT
    return ",".join(pieces) + (f",... ({more} more)" if more > 0 else "")
