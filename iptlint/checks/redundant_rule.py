"""A rule whose removal would change no verdict.

## What it does
Reports a rule that ends its chain (`ACCEPT`, `DROP`, `REJECT`, `RETURN`...) when every
packet that may reach it and match it would get the same treatment without it: either
later rules with the same target and options certainly take them, with no rule in
between that might do anything to them, or they would fall through to the end of a
built-in chain whose policy is the same verdict.  The related locations are those
later rules.

The claim is sound: the later rules count only for what they *certainly* match, and
any rule in between that *might* match one of those packets (a `LOG`, a `MARK`, a jump,
another verdict) stops it.  Rules that never match are R001's.  A `RETURN` at the end
of a user chain is not reported: tools write RETURNs there on purpose, so that the
rules they append later stay behind them.  Nor are Docker's own `ACCEPT` rules for its
bridges in `FORWARD` when the policy is `ACCEPT`: Docker writes them back at every
start, and the policy is the problem (D007).

## Why it matters
The rule only adds length and doubt: a reader has to check it against the rest of the
chain to see that it changes nothing.  It is often a leftover from an earlier layout,
or a catch-all written out although the policy already says it.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 23 -j DROP
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.semantics.reach import Redundancy, action_words, line_list

CODE = "R002"
NAME = "redundant-rule"
SEVERITY = Severity.INFO
DEFAULT = True

_MAX_RELATED = 8


def check(analysis: Analysis) -> Iterator[Finding]:
    bridges = _docker_bridges(analysis)
    for found in analysis.reachability.redundancies:
        if bridges and _dockers_own_forward_accept(found, bridges):
            continue
        yield analysis.at_rule(
            CODE,
            found.rule,
            f"this rule is redundant: {_why(found)}",
            related=tuple(
                analysis.related_rule(witness, f"{action_words(witness)} here too")
                for witness in found.witnesses[:_MAX_RELATED]
            ),
            fix=Fix("delete this rule"),
            severity=SEVERITY,
        )


def _docker_bridges(analysis: Analysis) -> frozenset[str]:
    docker = analysis.docker
    return frozenset(bridge.name for bridge in docker.bridges) if docker is not None else frozenset()


def _dockers_own_forward_accept(found: Redundancy, bridges: frozenset[str]) -> bool:
    """An ACCEPT of FORWARD, redundant by the policy only, for traffic of a Docker bridge."""
    rule = found.rule
    if rule.chain != "FORWARD" or not found.by_end or found.witnesses or rule.target.name != "ACCEPT":
        return False
    interfaces = (rule.in_interface, rule.out_interface)
    return any(option is not None and str(option.value) in bridges for option in interfaces)


def _why(found: Redundancy) -> str:
    done = action_words(found.rule)
    rule = found.rule
    if found.by_end and found.witnesses:
        return (
            f"without it, its packets would be {done} the same way by {line_list(found.witnesses)} "
            f"or by the policy of {rule.chain}"
        )
    if found.by_end:
        return f"without it, its packets would reach the end of {rule.chain}, whose policy does the same"
    return f"without it, its packets would be {done} the same way by {line_list(found.witnesses)}"
