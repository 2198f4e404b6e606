"""set: `-m set --match-set NAME src[,dst]` — exact when the set's members are known.

    -A DOCKER-USER -m set ! --match-set office src -j DROP

Members come from `--ipset FILE` (`ipset save` output) and, for Docker 28.0.0's
`docker-ext-bridges-v4/v6`, from the Docker bridges of the dump.  Without them the
match is known only within bounds.  Counter conditions (`--packets-gt`...) make it
unknown, and `--return-nomatch` changes nothing about which packets match.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics.ipset import members
from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Match

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

_COUNTERS = ("--packets-eq", "--packets-lt", "--packets-gt", "--bytes-eq", "--bytes-lt", "--bytes-gt")


def model(match: Match, ctx: ModelContext) -> Bounds:
    option = match.get("--match-set")
    if option is None or any(match.get(name) is not None for name in _COUNTERS):
        return Bounds.unknown(ctx.family)
    ipset = ctx.ipsets.get(option.value.name)
    if ipset is None:
        return Bounds.unknown(ctx.family)
    bounds = members(ipset, option.value.directions, ctx.family)
    return bounds.complement() if option.negated else bounds
