"""Match models: which packets a match selects, as `Bounds(over, under)` of packet sets.

One module per match extension with packet meaning, `iptlint/semantics/models/<name>.py`,
defining

    def model(match: Match, ctx: ModelContext) -> Bounds

(`basics.py` models the rule's own options: -s -d -i -o -p -f).  A match whose result
depends on state the dump lacks (limit, recent, statistic, quota, time, owner, `-m set`
without `--ipset`...) returns an over-approximation (every packet it *might* match)
and an under-approximation (packets it *certainly* matches): every claim built on
them stays sound.  A match without a model module is `Bounds.unknown` (over = any
packet, under = none).  Negated options are the complement of their set within the
field's domain (`Bounds.complement` swaps over and under).

The same model answers a single packet: it matches when it is in `under`, does not when
it is outside `over`, and is unknown in between (`evaluate`).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from iptlint.semantics.packets import Bounds
from iptlint.syntax.ast import Family, Match, Rule


@dataclass(frozen=True)
class ModelContext:
    """What a model may need beyond the match itself."""

    family: Family
    table: str = "filter"
    chain: str = ""
    ipsets: Mapping[str, Any] = field(default_factory=dict)  # name -> ipset contents (from `ipset save`)


@functools.cache
def _model_function(name: str):
    if not name.isidentifier():
        return None
    try:
        module = importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError:
        return None
    return getattr(module, "model", None)


def match_bounds(match: Match, ctx: ModelContext) -> Bounds:
    """The packets `match` selects; unknown when iptlint has no model for it."""
    function = _model_function(match.name) if match.known else None
    if function is None:
        return Bounds.unknown(ctx.family)
    return function(match, ctx)


def rule_bounds(rule: Rule, ctx: ModelContext) -> Bounds:
    """The packets a rule's conditions select: its basic options and every match, intersected."""
    from iptlint.semantics.models import basics

    bounds = basics.model(rule, ctx)
    for match in rule.matches:
        bounds = bounds.intersect(match_bounds(match, ctx))
    return bounds


def evaluate(bounds: Bounds, packet: Mapping[str, Any]) -> bool | None:
    """True if the packet certainly matches, False if it certainly does not, None if unknown."""
    if bounds.under.contains(packet):
        return True
    if not bounds.over.contains(packet):
        return False
    return None
