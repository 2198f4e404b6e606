"""A rule that no packet can match where it stands.

## What it does
Reports a rule when every packet it could match is already decided by earlier rules of
its chain (rules whose target ends the chain: `ACCEPT`, `DROP`, `REJECT`, `RETURN`, a
goto...), or when its own conditions contradict each other (`-m conntrack --ctstate NEW
-m conntrack --ctstate ESTABLISHED`).  The related locations are the earlier rules that
decide its packets.

The claim is sound: it uses what earlier rules *certainly* match (a match iptlint
cannot evaluate, such as `-m limit` or `-m set`, certainly matches nothing) and what
this rule *might* match (such a match might match anything), so a rule is reported
only when it truly never matches, whichever chain jumps to it.  Rules that S207
(`unreachable-rule`, after an unconditional end) or S205 (`duplicate-rule`) already
report are left to them.

## Why it matters
The rule is dead: its target never runs.  Usually a broader rule was written above a
narrower one with a different verdict (the exception after the rule), so the rule the
author meant to apply is silently ignored.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 10.0.0.0/8 -j ACCEPT
-A INPUT -s 10.1.2.0/24 -p tcp -m tcp --dport 22 -j DROP
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -s 10.1.2.0/24 -p tcp -m tcp --dport 22 -j DROP
-A INPUT -s 10.0.0.0/8 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.checks import duplicate_rule, unreachable_rule
from iptlint.findings import Finding, Severity
from iptlint.semantics.reach import NeverMatches, action_words, common_action_words, line_list
from iptlint.syntax.ast import Chain, Rule

CODE = "R001"
NAME = "rule-never-matches"
SEVERITY = Severity.WARNING
DEFAULT = True

_MAX_RELATED = 8


def check(analysis: Analysis) -> Iterator[Finding]:
    reachability = analysis.reachability
    for table, chain in analysis.chains():
        reach = reachability.chain(table.name, chain.name)
        if reach is None or not reach.never:
            continue
        left_to_others = _reported_elsewhere(chain)
        for position in sorted(reach.never):
            found = reach.never[position]
            if id(found.rule) in left_to_others:
                continue
            yield analysis.at_rule(
                CODE,
                found.rule,
                f"this rule never matches: {_why(found)}",
                related=tuple(
                    analysis.related_rule(decider, f"{action_words(decider)} here first")
                    for decider in found.deciders[:_MAX_RELATED]
                ),
                severity=SEVERITY,
            )


def _why(found: NeverMatches) -> str:
    if found.contradicts_itself:
        parts = [f"`{text}`" for text in found.conflict]
        if len(parts) == 1:
            return f"its own conditions contradict: {parts[0]} matches no packet"
        return f"its own conditions contradict: {', '.join(parts[:-1])} and {parts[-1]} match no packet together"
    return f"every packet it matches is {common_action_words(found.deciders)} earlier by {line_list(found.deciders)}"


def _reported_elsewhere(chain: Chain) -> set[int]:
    """Ids of the rules S207 (after an unconditional end) and S205 (a repeat) report."""
    ids: set[int] = set()
    stop: Rule | None = unreachable_rule.first_end(chain)
    if stop is not None:
        ids.update(id(rule) for rule in chain.rules[chain.rules.index(stop) + 1 :])
    ids.update(id(rule) for rule, _first in duplicate_rule._repeats(chain))
    return ids
