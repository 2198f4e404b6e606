"""A user chain that no packet can enter.

## What it does
Reports a user chain that other chains name in `-j` or `-g`, when none of those rules
can send a packet there: each of them never matches (see R001), or lies in a chain
that is itself never entered.  The related locations are those rules.  A chain that no
other chain names at all is S202's (`unused-chain`).

## Why it matters
Every rule of the chain is dead, although the chain looks used: someone reading the
jump assumes its rules apply.  The jump usually sits below a broader rule that decides
its packets first.

## Example
```
*filter
:INPUT DROP [0:0]
:SSH - [0:0]
-A INPUT -p tcp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j SSH
-A SSH -s 192.0.2.0/24 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:SSH - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j SSH
-A INPUT -p tcp -j ACCEPT
-A SSH -s 192.0.2.0/24 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Severity
from iptlint.semantics.reach import line_list
from iptlint.syntax.ast import Rule

CODE = "R003"
NAME = "unreachable-chain"
SEVERITY = Severity.WARNING
DEFAULT = True

_MAX_RELATED = 8


def check(analysis: Analysis) -> Iterator[Finding]:
    unreachable = analysis.reachability.unreachable_chains
    if not unreachable:
        return
    for table, chain in analysis.chains():
        referrers = unreachable.get((table.name, chain.name))
        if referrers is None:
            continue
        yield analysis.at_chain(
            CODE,
            table,
            chain,
            f"chain {chain.name} is never entered: {_why(referrers, analysis)}",
            related=tuple(
                analysis.related_rule(rule, _related_words(rule, analysis)) for rule in referrers[:_MAX_RELATED]
            ),
            severity=SEVERITY,
        )


def _why(referrers: tuple[Rule, ...], analysis: Analysis) -> str:
    dead = tuple(rule for rule in referrers if analysis.reachability.never_matches(rule) is not None)
    if len(dead) == len(referrers):
        which = "the rule" if len(dead) == 1 else "every rule"
        return f"{which} that jumps to it never matches ({line_list(dead)})"
    return f"every rule that jumps to it never matches or lies in a chain never entered ({line_list(referrers)})"


def _related_words(rule: Rule, analysis: Analysis) -> str:
    if analysis.reachability.never_matches(rule) is not None:
        return "jumps here but never matches"
    return f"jumps here from chain {rule.chain}, which is never entered"
