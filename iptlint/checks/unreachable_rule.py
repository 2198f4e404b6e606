"""A rule after an unconditional rule that ends the chain.

## What it does
Reports each rule that follows, in the same chain, a rule with no condition at all (no
address, interface, protocol or match; a `-m comment` is not a condition) whose target
always ends the chain: `ACCEPT`, `DROP`, `RETURN`, `QUEUE`, a goto (`-g`), or a target
that always decides (`REJECT`, `DNAT`, `MASQUERADE`...).  The related location is that
rule.  Rules hidden by conditions of earlier rules are the business of semantic
checks; this one needs no packet model.

## Why it matters
No packet ever gets past the unconditional rule, so the rules after it never run.  Most
often a catch-all `-j DROP` or `-j ACCEPT` was appended above rules added later with
`-A` instead of `-I`.

## Example
```
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -j DROP
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint import extensions
from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import Chain, Rule, TargetKind

CODE = "S207"
NAME = "unreachable-rule"
SEVERITY = Severity.WARNING
DEFAULT = True

_NOT_CONDITIONS = frozenset({"comment"})  # matches that every packet passes


def check(analysis: Analysis) -> Iterator[Finding]:
    for _table, chain in analysis.chains():
        if chain.name == "DOCKER-USER" and analysis.docker is not None:
            continue  # D003 reports these, with where to insert the rule instead
        stop = first_end(chain)
        if stop is None:
            continue
        why = analysis.related_rule(stop, f"{ending(stop)} here")
        for rule in chain.rules[chain.rules.index(stop) + 1 :]:
            yield analysis.at_rule(
                CODE,
                rule,
                f"this rule never runs: rule {analysis.position(stop)} of chain {chain.name} {ending(stop)} before it",
                related=(why,),
                fix=Fix(f"move it above rule {analysis.position(stop)}, or delete it"),
                severity=SEVERITY,
            )


def first_end(chain: Chain) -> Rule | None:
    """The first rule of the chain that every packet reaches and none gets past."""
    for rule in chain.rules:
        if not rule.basics and _without_condition(rule) and _ends_chain(rule):  # most rules have a basic option
            return rule
    return None


def _without_condition(rule: Rule) -> bool:
    return not rule.basics and all(match.name in _NOT_CONDITIONS for match in rule.matches)


def _ends_chain(rule: Rule) -> bool:
    target = rule.target
    if target is None:
        return False
    if target.goto or target.kind is TargetKind.VERDICT:
        return True
    if target.kind is TargetKind.EXTENSION:
        extension = extensions.find("target", target.name)
        return extension is not None and extension.terminal
    return False


def ending(rule: Rule) -> str:
    """What the rule does to every packet: `drops every packet`."""
    target = rule.target
    if target.goto:
        return f"sends every packet to {target.name} for good (-g)"
    verb = {"ACCEPT": "accepts", "DROP": "drops", "RETURN": "returns", "QUEUE": "queues"}.get(target.name)
    return f"{verb} every packet" if verb else f"ends the chain for every packet with {target.name}"
