"""addrtype: the routing type of the source or destination address (`--dst-type LOCAL`).

    -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
    -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER

The kernel looks the address up in the routing tables: it has exactly one type, and
`--dst-type A,B` matches when it is one of them, xor `!` (xt_addrtype.c).  The packet
model knows one thing about types: whether the address is the host's own
(`dst_local`, `src_local`: type LOCAL).  Hence:

- `LOCAL` alone: exact (`dst_local`/`src_local` true).
- `LOCAL` with other types: under = local addresses, over = every packet (a
  non-local address may be UNICAST, BROADCAST...).
- types without `LOCAL`: over = non-local addresses, under = none (only `ip route`
  could tell UNICAST from BROADCAST or MULTICAST).
- `--limit-iface-in`/`--limit-iface-out` count an address as LOCAL only on that
  interface, which the model cannot tell: LOCAL then moves to `over` only (under
  loses it).
- `!` complements the bounds (over and under swap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.tcp import negatable
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Family, Match, Option

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

LOCAL_FIELDS = {"--src-type": "src_local", "--dst-type": "dst_local"}


def address_types(option: Option, family: Family, limited: bool) -> Bounds:
    """The packets whose address (source or destination) has one of the option's types."""
    local = p.from_flag(LOCAL_FIELDS[option.name], True, family)
    types = option.value
    if "LOCAL" not in types:
        return Bounds(over=~local, under=PacketSet.none(family))
    over = local if types == {"LOCAL"} else PacketSet.any(family)
    under = PacketSet.none(family) if limited else local
    return Bounds(over=over, under=under)


def model(match: Match, ctx: ModelContext) -> Bounds:
    limited = match.get("--limit-iface-in") is not None or match.get("--limit-iface-out") is not None
    bounds = Bounds.exactly(PacketSet.any(ctx.family))
    for option in match.options:
        if option.name in LOCAL_FIELDS:
            bounds &= negatable(option, address_types(option, ctx.family, limited))
    return bounds
