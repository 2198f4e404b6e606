"""The rule's own options (iptables' `struct ipt_entry`): -s, -d, -i, -o, -p, -f.

    -A FORWARD -s 10.0.0.0/8 ! -o docker0 -p tcp -j ACCEPT

`-s`/`-d` with a host name are known only within bounds (iptables resolves the name
when it loads the rules).  `-f` matches second and later fragments (IPv4 only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Option, Rule

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext


def option_bounds(option: Option, ctx: ModelContext) -> Bounds:
    family = ctx.family
    name = option.name
    if name in ("-s", "-d"):
        bounds = p.from_address(option.value, family, "src" if name == "-s" else "dst")
    elif name in ("-i", "-o"):
        bounds = Bounds.exactly(p.from_interface(option.value, family, "in_iface" if name == "-i" else "out_iface"))
    elif name == "-p":
        if option.value.number == 0:  # `-p all`
            bounds = Bounds.exactly(p.PacketSet.any(family))
        else:
            bounds = Bounds.exactly(p.from_protocol(option.value, family))
    elif name == "-f":
        bounds = Bounds.exactly(p.from_flag("fragment", True, family))
    else:
        return Bounds.exactly(p.PacketSet.any(family))
    return bounds.complement() if option.negated else bounds


def model(rule: Rule, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(p.PacketSet.any(ctx.family))
    for option in rule.basics:
        bounds = bounds.intersect(option_bounds(option, ctx))
    return bounds
