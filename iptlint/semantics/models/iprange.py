"""iprange: a source or destination address within `FIRST-LAST` (`-m iprange`).

    -A INPUT -m iprange --src-range 192.168.1.100-192.168.1.200 -j ACCEPT

Exact: an interval of the `src` or `dst` field (xt_iprange.c), complemented by `!`.
A reversed range, which iptables loads with a warning, matches nothing (negated: every
packet), as in the kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.tcp import negatable
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

RANGE_FIELDS = {"--src-range": "src", "--dst-range": "dst"}


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(PacketSet.any(ctx.family))
    for option in match.options:
        field = RANGE_FIELDS[option.name]
        bounds &= negatable(option, Bounds.exactly(p.from_address_range(option.value, ctx.family, field)))
    return bounds
