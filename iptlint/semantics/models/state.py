"""state: the packet's conntrack state, the older `--ctstate` (`-m state --state NEW`).

    -A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT

Exact: the `ct_state` field (INVALID, NEW, ESTABLISHED, RELATED, UNTRACKED; xt_state.c
tests the packet's state bit against the mask, which iptables inverts for `!`), so
negation is the complement among the five states.  No SNAT/DNAT here.
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
        bounds &= negatable(option, Bounds.exactly(p.from_states(option.value, ctx.family)))
    return bounds
