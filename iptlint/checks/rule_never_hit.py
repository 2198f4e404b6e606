"""A rule that could match but has counted no packet while its chain saw traffic.

## What it does
On a dump saved with counters (`iptables-save -c`, or an `iptables -L -v` listing),
reports each rule with zero packets in a chain where traffic was seen: another rule
of the chain, or its policy, counted packets.  Rules that can never match (R001), that
follow an unconditional end of the chain (S207) or that repeat an earlier rule (S205)
are left to those checks.  Dumps without counters, or chains that saw nothing, are
not judged.

## Why it matters
Counters are what the host really did.  A rule that traffic went past without ever
matching is either waiting for traffic that has not come yet (a fallback, a rare
protocol), or written for traffic that never takes this path: a wrong interface,
a port that was changed, a rule shadowed in practice.  Worth a look before trusting
it; nothing is wrong by itself, hence info.

## Example
```
*filter
:INPUT ACCEPT [120:9000]
[500:40000] -A INPUT -i lo -j ACCEPT
[0:0] -A INPUT -i eht0 -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [120:9000]
[500:40000] -A INPUT -i lo -j ACCEPT
[35:2100] -A INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.checks import duplicate_rule, unreachable_rule
from iptlint.findings import Finding, Severity
from iptlint.syntax.ast import Chain, Rule

CODE = "R005"
NAME = "rule-never-hit"
SEVERITY = Severity.INFO
DEFAULT = True


def chain_saw_traffic(chain: Chain) -> bool:
    """True when a rule of the chain, or its policy, counted packets."""
    policy = chain.counters is not None and chain.policy is not None and chain.counters.packets > 0
    return policy or any(rule.counters is not None and rule.counters.packets > 0 for rule in chain.rules)


def never_hit(chain: Chain) -> list[Rule]:
    """The rules of a chain with counters of zero packets, when the chain saw traffic."""
    if not chain_saw_traffic(chain):
        return []
    return [rule for rule in chain.rules if rule.counters is not None and rule.counters.packets == 0]


def _left_to_others(chain: Chain, analysis: Analysis, table: str) -> set[int]:
    """Ids of the rules R001, S207 and S205 report."""
    ids: set[int] = set()
    stop = unreachable_rule.first_end(chain)
    if stop is not None:
        ids.update(id(rule) for rule in chain.rules[chain.rules.index(stop) + 1 :])
    ids.update(id(rule) for rule, _first in duplicate_rule._repeats(chain))
    try:
        reach = analysis.reachability.chain(table, chain.name)
    except Exception:
        reach = None
    if reach is not None and reach.never:
        ids.update(id(found.rule) for found in reach.never.values())
    return ids


def check(analysis: Analysis) -> Iterator[Finding]:
    for table, chain in analysis.chains():
        candidates = never_hit(chain)
        if not candidates:
            continue
        skipped = _left_to_others(chain, analysis, table.name)
        for rule in candidates:
            if id(rule) in skipped:
                continue
            yield analysis.at_rule(
                CODE,
                rule,
                f"this rule has matched no packet while chain {chain.name} saw traffic: "
                "check it is written for traffic that really takes this path",
                severity=SEVERITY,
            )
