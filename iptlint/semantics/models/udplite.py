"""udplite: a match iptables does not have (`-m udplite` fails to load).

    -A INPUT -p udplite -m udplite --dport 5000 -j ACCEPT     (refused by iptables-restore)

The dump would not load, so the rule never runs; iptlint still gives it the meaning
its author meant, to keep the other checks going: UDP-Lite (protocol 136), never a
second or later fragment, and `--sport`/`--dport` when they could be read (exact),
any other option unknown (bounds).  `-p udplite -m multiport --dports` is the
spelling that works.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.models.tcp import negatable, ports, transport, unknown_option
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match
from iptlint.syntax.values import Range

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

PROTOCOL_UDPLITE = 136


def model(match: Match, ctx: ModelContext) -> Bounds:
    bounds = Bounds.exactly(transport((PROTOCOL_UDPLITE,), ctx.family))
    for option in match.options:
        readable = option.name in ("--sport", "--dport") and isinstance(option.value, Range)
        option_set = ports(option, ctx.family) if readable else unknown_option(option, ctx.family)
        bounds &= negatable(option, option_set)
    return bounds
