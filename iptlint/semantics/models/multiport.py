"""multiport: up to 15 ports or ranges (`-m multiport --dports 80,443`).

    -A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT
    -A INPUT -p udp -m multiport --ports 53          (source OR destination port 53)

Exact.  The kernel (xt_multiport.c) reads the ports of a TCP, UDP, UDP-Lite, SCTP or
DCCP header, never of a second or later fragment; `--sports` and `--dports` are port
sets, `--ports` is "the source or the destination port is in the list".  `!`
complements the port condition only (`! --ports 53`: neither port is 53).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.tcp import negatable, transport
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Family, Match, Option

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PORT_PROTOCOLS = (6, 17, 136, 132, 33)


def port_list(option: Option, family: Family) -> Bounds:
    if option.name == "--sports":
        return Bounds.exactly(p.from_ports(option.value, family, "sport"))
    if option.name == "--dports":
        return Bounds.exactly(p.from_ports(option.value, family, "dport"))
    return Bounds.exactly(p.from_multiport_ports(option.value, family))


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport(PORT_PROTOCOLS, ctx.family))
    for option in match.options:
        bounds &= negatable(option, port_list(option, ctx.family))
    return bounds
