"""dccp: DCCP ports, packet types and options (`-p dccp --dport 5004`).

    -A INPUT -p dccp -m dccp --dport 5004 --dccp-types REQUEST -j ACCEPT

Protocol 33, never a second or later fragment (xt_dccp.c); `--sport`/`--dport`
exact (an inverted range matches nothing), negation within the port field.
`--dccp-types` and `--dccp-option` read header parts the packet model lacks: bounds
(over = every first-fragment DCCP packet, under = none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.models.tcp import negatable, ports, transport, unknown_option
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_DCCP = 33


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_DCCP,), ctx.family))
    for option in match.options:
        known = option.name in ("--sport", "--dport")
        option_set = ports(option, ctx.family) if known else unknown_option(option, ctx.family)
        bounds &= negatable(option, option_set)
    return bounds
