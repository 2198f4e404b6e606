"""comment: a note kept with the rule (`-m comment --comment "..."`): matches every packet.

    -A INPUT -p tcp --dport 22 -m comment --comment "ssh from the office" -j ACCEPT

Exact: the kernel's comment match (xt_comment.c) always returns true.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext


def model(match: Match, ctx: ModelContext) -> Bounds:
    return Bounds.exactly(PacketSet.any(ctx.family))
