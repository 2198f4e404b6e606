"""icmp: the ICMP (IPv4) type and code (`-p icmp --icmp-type echo-request`).

    -A INPUT -p icmp -m icmp --icmp-type 3/4 -j ACCEPT

Exact.  Protocol 1 and never a second or later fragment (xt_icmp in ip_tables.c),
then `(type == T and CODE_LO <= code <= CODE_HI) or T == any`, xor `!`.  So
`--icmp-type any` is every first-fragment ICMP packet and `! --icmp-type any` none;
negation complements only the type/code part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.tcp import negatable, transport
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Family, Match, Option
from iptlint.syntax.values import Range

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_ICMP = 1


def type_and_code(option: Option, family: Family) -> Bounds:
    """`--icmp-type T[/C[:C]]` (or `--icmpv6-type`): one type, a range of codes."""
    icmp_type = option.value
    codes = Range(icmp_type.code_lo, icmp_type.code_hi)
    return Bounds.exactly(p.from_icmp(icmp_type.type, family, codes))


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_ICMP,), ctx.family))
    for option in match.options:
        bounds &= negatable(option, type_and_code(option, ctx.family))
    return bounds
