"""tcp: the TCP header's ports and flags (`-p tcp --dport 22 --syn`).

    -A INPUT -p tcp -m tcp --dport 22 --tcp-flags FIN,SYN,RST,ACK SYN -j ACCEPT

The kernel's tcp match (xt_tcpudp.c) reads the TCP header, so it never matches a
second or later fragment (`fragment` is false) and it means protocol 6; both are part
of the model, so the match stands alone.  Exact: `--sport`/`--dport` (port ranges),
`--tcp-flags MASK COMP` and `--syn` (flag patterns), each negation being the
complement within the field's domain (the protocol and fragment conditions are never
negated: `! --dport 80` still needs a TCP header).  Bounds: `--tcp-option` (no field
for TCP options: over = every first-fragment TCP packet, under = none).

The helpers here (`transport`, `negatable`, `ports`, `unknown_option`) are shared by
the other port matches (udp, udplite, sctp, dccp, multiport).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Family, Match, Option

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_TCP = 6
PORT_FIELDS = {"--sport": "sport", "--dport": "dport"}


def transport(protocols: tuple[int, ...], family: Family) -> PacketSet:
    """A header the match can read: one of `protocols`, and not a second or later fragment."""
    protocol_set = PacketSet.none(family)
    for number in protocols:
        protocol_set |= p.from_protocol(number, family)
    return protocol_set & p.from_flag("fragment", False, family)


def negatable(option: Option, bounds: Bounds) -> Bounds:
    """The option's set, complemented when it is written with `!`."""
    return bounds.complement() if option.negated else bounds


def ports(option: Option, family: Family) -> Bounds:
    """`--sport`/`--dport` RANGE: exact (an inverted range matches nothing)."""
    return Bounds.exactly(p.from_ports(option.value, family, PORT_FIELDS[option.name]))


def unknown_option(option: Option, family: Family) -> Bounds:
    """An option whose field the packet model lacks: any packet might match it, none surely does."""
    return Bounds.unknown(family)


def option_bounds(option: Option, family: Family) -> Bounds:
    if option.name in PORT_FIELDS:
        return ports(option, family)
    if option.name == "--syn":
        return Bounds.exactly(p.from_syn(family))
    if option.name == "--tcp-flags":
        return Bounds.exactly(p.from_tcp_flags(option.value, family))
    return unknown_option(option, family)


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_TCP,), ctx.family))
    for option in match.options:
        bounds &= negatable(option, option_bounds(option, ctx.family))
    return bounds
