"""icmp: ICMP (IPv4) type and code (libipt_icmp).

    -p icmp -m icmp --icmp-type echo-request -j ACCEPT
    -p icmp -m icmp --icmp-type 3/4 -j ACCEPT          (type 3, code 4: fragmentation-needed)

A type is a name (or an unambiguous prefix of one, any case), `any`, a number, or
`TYPE/CODE` and `TYPE/CODE:CODE`.  Loaded implicitly by `-p icmp`; the kernel refuses it
without `-p icmp`.  ICMPv6 is the `icmp6` match of ip6tables.
"""

from __future__ import annotations

from dataclasses import dataclass

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

ANY = 0xFF

# (name, type, lowest code, highest code), in the order of icmp_codes in libxt_icmp.h.
ICMP_TYPES = (
    ("any", ANY, 0, 255), ("echo-reply", 0, 0, 255), ("pong", 0, 0, 255),
    ("destination-unreachable", 3, 0, 255), ("network-unreachable", 3, 0, 0),
    ("host-unreachable", 3, 1, 1), ("protocol-unreachable", 3, 2, 2), ("port-unreachable", 3, 3, 3),
    ("fragmentation-needed", 3, 4, 4), ("source-route-failed", 3, 5, 5), ("network-unknown", 3, 6, 6),
    ("host-unknown", 3, 7, 7), ("network-prohibited", 3, 9, 9), ("host-prohibited", 3, 10, 10),
    ("TOS-network-unreachable", 3, 11, 11), ("TOS-host-unreachable", 3, 12, 12),
    ("communication-prohibited", 3, 13, 13), ("host-precedence-violation", 3, 14, 14),
    ("precedence-cutoff", 3, 15, 15), ("source-quench", 4, 0, 255), ("redirect", 5, 0, 255),
    ("network-redirect", 5, 0, 0), ("host-redirect", 5, 1, 1), ("TOS-network-redirect", 5, 2, 2),
    ("TOS-host-redirect", 5, 3, 3), ("echo-request", 8, 0, 255), ("ping", 8, 0, 255),
    ("router-advertisement", 9, 0, 255), ("router-solicitation", 10, 0, 255),
    ("time-exceeded", 11, 0, 255), ("ttl-exceeded", 11, 0, 255), ("ttl-zero-during-transit", 11, 0, 0),
    ("ttl-zero-during-reassembly", 11, 1, 1), ("parameter-problem", 12, 0, 255),
    ("ip-header-bad", 12, 0, 0), ("required-option-missing", 12, 1, 1), ("timestamp-request", 13, 0, 255),
    ("timestamp-reply", 14, 0, 255), ("address-mask-request", 17, 0, 255), ("address-mask-reply", 18, 0, 255),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class IcmpType:
    """An ICMP type with a range of codes; type 255 (`any`) matches every ICMP packet."""

    type: int
    code_lo: int = 0
    code_hi: int = 255

    @property
    def any(self) -> bool:
        return self.type == ANY

    def __str__(self) -> str:
        if self.any:
            return "any"
        if (self.code_lo, self.code_hi) == (0, 255):
            return str(self.type)
        codes = str(self.code_lo) if self.code_lo == self.code_hi else f"{self.code_lo}:{self.code_hi}"
        return f"{self.type}/{codes}"


def _by_name(text: str, table, what: str) -> IcmpType | None:
    """The entry `text` names or abbreviates (case-insensitive), None if none does."""
    found = [entry for entry in table if entry[0].lower().startswith(text.lower())]
    if len(found) > 1:
        raise ValueError(f"ambiguous {what} type {text!r}: {found[0][0]!r} or {found[1][0]!r}?")
    if not found:
        return None
    _, number, lo, hi = found[0]
    return IcmpType(number, lo, hi)


def _number_range(text: str, what: str) -> tuple[int, int]:
    first, colon, last = text.partition(":")
    lo = v.to_int(first, 0, 255, what)
    return lo, (v.to_int(last, 0, 255, what) if colon else lo)


def parse_icmp_type(text: str, table=ICMP_TYPES, what: str = "ICMP") -> IcmpType:
    """`--icmp-type` as ipt_parse_icmp reads it; shared by icmp and icmp6 tables."""
    named = _by_name(text, table, what)
    if named is not None:
        return named
    type_text, slash, code_text = text.partition("/")
    try:
        type_lo, type_hi = _number_range(type_text, f"{what} type")
    except ValueError:
        raise ValueError(f"unknown {what} type {text!r}") from None
    if type_lo != type_hi:
        raise ValueError(f"{what} type range {type_text} is not supported: give one type")
    if not slash:
        return IcmpType(type_lo)
    try:
        code_lo, code_hi = _number_range(code_text, f"{what} code")
    except ValueError:
        raise ValueError(f"unknown {what} code in {text!r}") from None
    return IcmpType(type_lo, code_lo, code_hi)


def icmp_type(text: str, family) -> IcmpType:
    """`--icmp-type` of iptables (IPv4 names)."""
    return parse_icmp_type(text)


EXTENSION = Extension(
    name="icmp",
    kind="match",
    summary="ICMP type and code",
    family="ipv4",
    protocols=(1,),
    options=(opt("--icmp-type", icmp_type, invert=True, required=True),),
)
