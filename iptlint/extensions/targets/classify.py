"""CLASSIFY: put the packet in a traffic control class (skb->priority) (libxt_CLASSIFY).

    -A POSTROUTING -o eth0 -p tcp -m tcp --sport 80 -j CLASSIFY --set-class 1:10

`--set-class MAJOR:MINOR` (required), two hexadecimal numbers as `sscanf("%x:%x")` reads
them: text after the second number is ignored.  Not terminal.  Valid from FORWARD,
OUTPUT and POSTROUTING, in any table.
"""

# Sources: iptables 1.8.9 extensions/libxt_CLASSIFY.c (CLASSIFY_string_to_priority);
# kernel net/netfilter/xt_CLASSIFY.c (.hooks = LOCAL_OUT | FORWARD | POST_ROUTING, no
# .table), checked by loading in a namespace.

import re
from dataclasses import dataclass

from iptlint.extensions.spec import Extension, opt

_HEX = r"\s*[+-]?(?:0[xX])?[0-9a-fA-F]+"
_CLASS = re.compile(rf"({_HEX}):({_HEX})")


@dataclass(frozen=True, slots=True)
class TcClass:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major:x}:{self.minor:x}"


def tc_class(text: str, family) -> TcClass:
    """`1:10`, `0000:ffff` (TC_H_MAKE keeps 16 bits of each)."""
    found = _CLASS.match(text)
    if found is None:
        raise ValueError(f"bad class value {text!r}: give MAJOR:MINOR in hexadecimal, as 1:10")
    major, minor = (int(part.strip().replace("0x", "").replace("0X", ""), 16) for part in found.groups())
    return TcClass(major & 0xFFFF, minor & 0xFFFF)


EXTENSION = Extension(
    name="CLASSIFY",
    kind="target",
    summary="set the traffic control class",
    hooks=("FORWARD", "OUTPUT", "POSTROUTING"),
    options=(opt("--set-class", tc_class, required=True),),
)
