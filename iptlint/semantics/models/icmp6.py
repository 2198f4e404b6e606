"""icmp6: the ICMPv6 type and code (`-p ipv6-icmp --icmpv6-type echo-request`).

    -A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 1/3 -j ACCEPT

Exact.  Protocol 58 and never a non-first fragment (icmp6_match in ip6_tables.c),
then `type == T and CODE_LO <= code <= CODE_HI`, xor `!`.  Unlike IPv4 there is no
`any`: type 255 is just a type.  Negation complements only the type/code part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.models.icmp import type_and_code
from iptlint.semantics.models.tcp import negatable, transport
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_ICMPV6 = 58


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_ICMPV6,), ctx.family))
    for option in match.options:
        bounds &= negatable(option, type_and_code(option, ctx.family))
    return bounds
