"""mark: the packet's firewall mark (`-m mark --mark 0x4000/0x4000`).

    -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE

Exact for any mask: `(mark & MASK) == VALUE` xor `!` (xt_mark.c) is one bit pattern
of the `mark` field; a VALUE with bits outside MASK matches nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.tcp import negatable
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(PacketSet.any(ctx.family))
    for option in match.options:
        bounds &= negatable(option, Bounds.exactly(p.from_mark(option.value, ctx.family, "mark")))
    return bounds
