"""A jump (`-j`) or goto (`-g`) to a chain that does not exist.

## What it does
Reports a rule whose target is neither an iptables target nor a chain of its table.
iptables-restore looks the chain up when it reads the rule, so the parser reports this
at the jump itself, as soon as it reads a name that no `:CHAIN` or `-N` declared before
that line (a typo, a chain declared further down, a chain of another table).  This
module also reports, when the table is committed, a jump left pointing nowhere by a
later command (with a suggestion of the closest existing chain name).

## Why it matters
iptables-restore refuses the rule (`Couldn't load target`, `Chain '...' does not exist`):
the whole table fails to load and the host keeps its previous rules, or none.

## Example
```
*filter
:INPUT ACCEPT [0:0]
:LOGDROP - [0:0]
-A INPUT -p tcp -m tcp --dport 23 -j LOG_DROP
-A LOGDROP -j DROP
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [0:0]
:LOGDROP - [0:0]
-A INPUT -p tcp -m tcp --dport 23 -j LOGDROP
-A LOGDROP -j DROP
COMMIT
```
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import Rule, Table, TargetKind
from iptlint.syntax.parser import IPTABLES_TARGETS

CODE = "S201"
NAME = "undefined-chain"
SEVERITY = Severity.ERROR
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    unknown = TargetKind.UNKNOWN
    for table in analysis.ruleset.tables:
        for chain in table.chains:
            for rule in chain.rules:
                target = rule.target
                if target is not None and target.kind is unknown and _jumps_nowhere(rule):
                    yield _finding(analysis, table, rule)


def _jumps_nowhere(rule: Rule) -> bool:
    target = rule.target
    return target is not None and target.kind is TargetKind.UNKNOWN and target.name not in IPTABLES_TARGETS


def _finding(analysis: Analysis, table: Table, rule: Rule) -> Finding:
    name = rule.target.name
    closest = _closest_chain(table, name)
    verb = "goes" if rule.target.goto else "jumps"
    message = f"this rule {verb} to chain '{name}', which table '{table.name}' does not have at COMMIT"
    if closest is None:
        fix = Fix(f"declare the chain before the rules that use it: `:{name} - [0:0]`")
    else:
        message += f"; did you mean '{closest}'?"
        fix = Fix(f"jump to '{closest}', or declare the chain: `:{name} - [0:0]`")
    return analysis.at_rule(CODE, rule, message, node=rule.target, fix=fix, severity=SEVERITY)


def _closest_chain(table: Table, name: str) -> str | None:
    user_chains = [chain.name for chain in table.chains if not chain.builtin]
    matches = difflib.get_close_matches(name, user_chains, n=1, cutoff=0.6)
    return matches[0] if matches else None
