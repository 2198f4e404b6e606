"""tos: the IPv4 Type of Service / IPv6 traffic class byte (libxt_tos, revision 1).

    -m tos --tos Minimize-Delay -j ACCEPT
    -m tos ! --tos 0x10/0x3f

A value `VALUE[/MASK]` (each 0-255, the mask defaults to 0xff) or a symbolic name
(any case) that compares the low six bits: Minimize-Delay, Maximize-Throughput,
Maximize-Reliability, Minimize-Cost, Normal-Service.  iptables-save prints `0x10/0x3f`.
"""

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

SYMBOLS = {
    "minimize-delay": 0x10,
    "maximize-throughput": 0x08,
    "maximize-reliability": 0x04,
    "minimize-cost": 0x02,
    "normal-service": 0x00,
}
SYMBOL_MASK = 0x3F  # revision 1 compares a symbolic name under this mask
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]+)")


def tos_value(text: str, family) -> v.Masked:
    """`0x10`, `0x10/0x3f`, or a symbolic name, as xtopt_parse_tosmask reads them."""
    if _NUMBER.match(text) is None:
        symbol = SYMBOLS.get(text.lower())
        if symbol is None:
            raise ValueError(f"symbolic TOS name {text!r} is unknown: use {', '.join(SYMBOLS)} or a number")
        return v.Masked(symbol, SYMBOL_MASK)
    value, slash, mask = text.partition("/")
    return v.Masked(v.to_int(value, 0, 255, "TOS value"), v.to_int(mask, 0, 255, "TOS mask") if slash else 0xFF)


EXTENSION = Extension(
    name="tos",
    kind="match",
    summary="TOS / traffic class byte",
    options=(opt("--tos", tos_value, invert=True, required=True),),
)
