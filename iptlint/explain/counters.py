"""Which rules the traffic between two snapshots of one ruleset hit (`iptlint counters OLD NEW`).

The seed's `watch iptables -L -n -v` exercise done by a tool: rules are matched by
content (table, chain, `Rule.key()`, and the how-many-th rule of that content in its
chain), never by position, so a rule inserted between the snapshots does not shift
the others.  Chains, and rules within a chain, come in the order a packet meets them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iptlint.explain.order import chain_order
from iptlint.syntax.ast import Rule, Ruleset

_COUNTER_PREFIX = re.compile(r"^\[\d+:\d+\]\s*")


@dataclass(frozen=True)
class CounterDelta:
    table: str
    chain: str
    index: int  # in the new snapshot
    rule: str
    packets: int
    bytes: int
    new: bool = False  # the rule is not in the old snapshot (delta from zero)


def _keys(rules) -> list[tuple]:
    seen: dict[tuple, int] = {}
    keys = []
    for rule in rules:
        key = rule.key()
        seen[key] = seen.get(key, 0) + 1
        keys.append((key, seen[key]))
    return keys


def _old_counters(old: Ruleset) -> dict[tuple, Rule]:
    found = {}
    for table in old.tables:
        for chain in table.chains:
            for rule, key in zip(chain.rules, _keys(chain.rules), strict=True):
                found[(table.name, chain.name, key)] = rule
    return found


def counter_deltas(old: Ruleset, new: Ruleset) -> tuple[CounterDelta, ...]:
    """The rules whose counters moved between `old` and `new`, in chain order."""
    before = _old_counters(old)
    deltas = []
    for table, chain in chain_order(new):
        for index, (rule, key) in enumerate(zip(chain.rules, _keys(chain.rules), strict=True), 1):
            if rule.counters is None:
                continue
            previous = before.get((table.name, chain.name, key))
            base = previous.counters if previous is not None else None
            packets = rule.counters.packets - (base.packets if base else 0)
            size = rule.counters.bytes - (base.bytes if base else 0)
            if packets or size:
                deltas.append(
                    CounterDelta(
                        table.name,
                        chain.name,
                        index,
                        _COUNTER_PREFIX.sub("", rule.source_text),
                        packets,
                        size,
                        previous is None,
                    )
                )
    return tuple(deltas)


def render_deltas(deltas: tuple[CounterDelta, ...]) -> str:
    """A text table: table, chain, rule number, packet and byte deltas, the rule."""
    if not deltas:
        return "no counter moved between the two snapshots\n"
    header = f"{'table':<8} {'chain':<26} {'#':>3} {'+packets':>10} {'+bytes':>12}  rule"
    lines = [header]
    for delta in deltas:
        mark = " (new rule)" if delta.new else ""
        lines.append(
            f"{delta.table:<8} {delta.chain:<26} {delta.index:>3} {delta.packets:>+10} {delta.bytes:>+12}  "
            f"{delta.rule}{mark}"
        )
    return "\n".join(lines) + "\n"
