"""udp: the UDP header's ports (`-p udp --dport 53`).

    -A INPUT -p udp -m udp --sport 67:68 --dport 67:68 -j ACCEPT

Like tcp (xt_tcpudp.c): protocol 17, never a second or later fragment, ports exact,
negation the complement of the port set within the field (the protocol and fragment
conditions are never negated).  An inverted range `4:3`, which iptables 1.8.9 loads,
matches nothing (and negated, every UDP first fragment).  Fully exact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.models.tcp import negatable, ports, transport, unknown_option
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_UDP = 17


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_UDP,), ctx.family))
    for option in match.options:
        known = option.name in ("--sport", "--dport") and option.value is not None
        option_set = ports(option, ctx.family) if known else unknown_option(option, ctx.family)
        bounds &= negatable(option, option_set)
    return bounds
