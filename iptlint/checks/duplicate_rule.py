"""The same rule twice in one chain.

## What it does
Reports a rule that repeats an earlier rule of the same chain: the same conditions, in
the same order, with the same target and target options.  Comments count: two rules
that differ only in their `-m comment` are not reported.  The related location is the
first copy.

## Why it matters
A repeated terminal rule never matches anything the first one did not already take, and
a repeated non-terminal rule (`LOG`, `MARK`, a jump) runs twice.  Duplicates usually
come from a script that appends its rules again on every run without flushing, and grow
the chain with each run.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import Chain, Rule

CODE = "S205"
NAME = "duplicate-rule"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    for table in analysis.ruleset.tables:
        for chain in table.chains:
            if len(chain.rules) < 2 or _two_targets_differ(chain.rules):
                continue
            for rule, first in _repeats(chain):
                yield analysis.at_rule(
                    CODE,
                    rule,
                    f"this rule repeats rule {analysis.position(first)} of chain {chain.name}",
                    related=(analysis.related_rule(first, "first written here"),),
                    fix=Fix("delete this copy"),
                    severity=SEVERITY,
                )


def _two_targets_differ(rules: tuple[Rule, ...]) -> bool:
    """True for a chain of two rules with different targets (no copy: equal keys have equal
    targets); most chains of a kube-proxy dump (a mark and a DNAT), told without `_repeats`."""
    if len(rules) != 2:
        return False
    first, second = rules[0].target, rules[1].target
    if first is second:
        return False
    return first is None or second is None or first.name != second.name


def _repeats(chain: Chain) -> Iterator[tuple[Rule, Rule]]:
    """Each rule that repeats an earlier one, with the first rule it repeats.

    `Rule.key` is computed only for rules that share their shape with another rule of the
    chain (the target, and how many options and matches the rule has): rules with equal
    keys have equal shapes, and most rules of a large dump (kube-proxy's per-service
    chains) have a shape of their own.
    """
    rules = chain.rules
    if len(rules) < 2:
        return
    targets = [None if rule.target is None else rule.target.name for rule in rules]
    if len(set(targets)) == len(targets):  # equal keys have equal targets
        return
    shapes = [(len(rule.basics), len(rule.matches), target) for rule, target in zip(rules, targets, strict=True)]
    counts: dict[tuple, int] = {}
    for shape in shapes:
        counts[shape] = counts.get(shape, 0) + 1
    if len(counts) == len(rules):
        return
    first_with_key: dict[tuple, Rule] = {}
    for rule, shape in zip(rules, shapes, strict=True):
        if counts[shape] < 2:
            continue
        first = first_with_key.setdefault(rule.key(), rule)
        if first is not rule:
            yield rule, first
