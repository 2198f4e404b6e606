"""sctp: SCTP ports and chunk types (`-p sctp --dport 3868`).

    -A INPUT -p sctp -m sctp --dport 3868 --chunk-types any INIT -j ACCEPT

Protocol 132, never a second or later fragment (xt_sctp.c); `--sport`/`--dport`
exact, negation within the port field.  `--chunk-types` reads chunks the packet
model has no field for: bounds (over = every first-fragment SCTP packet, under = none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.models.tcp import negatable, ports, transport, unknown_option
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_SCTP = 132


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_SCTP,), ctx.family))
    for option in match.options:
        known = option.name in ("--sport", "--dport")
        option_set = ports(option, ctx.family) if known else unknown_option(option, ctx.family)
        bounds &= negatable(option, option_set)
    return bounds
