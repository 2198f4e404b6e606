"""icmp6: ICMPv6 type and code (libip6t_icmp6).

    -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation -j ACCEPT
    -p ipv6-icmp -m icmp6 --icmpv6-type 1/3 -j ACCEPT        (type 1, code 3: address-unreachable)

`--icmpv6-type` (required, may be negated) is a name (or an unambiguous prefix of one,
any case), a number, or `TYPE/CODE` and `TYPE/CODE:CODE`.  Loaded implicitly by
`-p ipv6-icmp`; `-m icmpv6` and `-m ipv6-icmp` name it too.  The kernel refuses it
without that protocol.  The names are those of iptables 1.8.9: the mld-listener-* names
came in 1.8.10, so write 130, 131 and 132.
"""

from iptlint.extensions.matches.icmp import IcmpType, parse_icmp_type
from iptlint.extensions.spec import Extension, opt

PROTOCOL_ICMPV6 = 58

# (name, type, lowest code, highest code), in the order of icmpv6_codes in libxt_icmp.h.
ICMPV6_TYPES = (
    ("destination-unreachable", 1, 0, 255), ("no-route", 1, 0, 0), ("communication-prohibited", 1, 1, 1),
    ("beyond-scope", 1, 2, 2), ("address-unreachable", 1, 3, 3), ("port-unreachable", 1, 4, 4),
    ("failed-policy", 1, 5, 5), ("reject-route", 1, 6, 6), ("packet-too-big", 2, 0, 255),
    ("time-exceeded", 3, 0, 255), ("ttl-exceeded", 3, 0, 255), ("ttl-zero-during-transit", 3, 0, 0),
    ("ttl-zero-during-reassembly", 3, 1, 1), ("parameter-problem", 4, 0, 255), ("bad-header", 4, 0, 0),
    ("unknown-header-type", 4, 1, 1), ("unknown-option", 4, 2, 2), ("echo-request", 128, 0, 255),
    ("ping", 128, 0, 255), ("echo-reply", 129, 0, 255), ("pong", 129, 0, 255),
    ("router-solicitation", 133, 0, 255), ("router-advertisement", 134, 0, 255),
    ("neighbour-solicitation", 135, 0, 255), ("neighbor-solicitation", 135, 0, 255),
    ("neighbour-advertisement", 136, 0, 255), ("neighbor-advertisement", 136, 0, 255),
    ("redirect", 137, 0, 255),
)  # fmt: skip


# Names iptables 1.8.10 added; 1.8.9 refuses them.
NEWER_NAMES = {"mld-listener-query": 130, "mld-listener-report": 131, "mld-listener-done": 132,
               "mld-listener-reduction": 132}  # fmt: skip


def icmpv6_type(text: str, family) -> IcmpType:
    newer = NEWER_NAMES.get(text.lower())
    if newer is not None:
        raise ValueError(f"iptables before 1.8.10 does not know the name {text!r}: write {newer}")
    return parse_icmp_type(text, ICMPV6_TYPES, "ICMPv6")


EXTENSION = Extension(
    name="icmp6",
    kind="match",
    summary="ICMPv6 type and code",
    family="ipv6",
    protocols=(PROTOCOL_ICMPV6,),
    options=(opt("--icmpv6-type", icmpv6_type, invert=True, required=True),),
)
