"""connmark: the mark of the packet's connection (`-m connmark --mark 0x1/0xff`).

    -A PREROUTING -m connmark --mark 0x1 -j ACCEPT

Exact.  xt_connmark.c returns false for a packet without a connection (INVALID or
UNTRACKED), then tests `(ctmark & MASK) == VALUE` xor `!`: the `ct_mark` pattern,
negated or not, within the tracked states (NEW, ESTABLISHED, RELATED).  So
`! --mark 0x1` does not match an untracked packet either.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.conntrack import tracked
from iptlint.semantics.models.tcp import negatable
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(tracked(ctx.family))
    for option in match.options:
        bounds &= negatable(option, Bounds.exactly(p.from_mark(option.value, ctx.family, "ct_mark")))
    return bounds
