"""A jump to a chain that does nothing.

## What it does
Reports a rule that jumps (`-j`) to a user chain that does nothing to any packet: the
chain is empty, or each of its rules only counts (no target), returns (`RETURN`), or
jumps or goes to a chain that does nothing itself.  The packet comes back unchanged
and evaluation goes on after the jump, exactly as without it.  A rule with a target
that acts (`LOG`, `MARK`, `ACCEPT`...) is an effect, so such a chain is not reported.
A goto (`-g`) to such a chain is not reported either: it still ends the calling chain,
as a `RETURN` would.  Jumps that never match are R001's.

Off by default: Docker (`DOCKER-USER`), kube-proxy (`KUBE-NODEPORTS`...) and fail2ban
create such chains on purpose, as places where rules are added at run time; select
`R004` to audit a hand-written ruleset.

## Why it matters
The jump costs a lookup for every packet and suggests that a policy applies where none
does: a chain left empty after a flush, or one whose rules were deleted, hides that
nothing is filtered any more.

## Example
```
*filter
:INPUT DROP [0:0]
:FROM-OFFICE - [0:0]
-A INPUT -s 192.0.2.0/24 -j FROM-OFFICE
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
-A FROM-OFFICE -j RETURN
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:FROM-OFFICE - [0:0]
-A INPUT -s 192.0.2.0/24 -j FROM-OFFICE
-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT
-A FROM-OFFICE -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Severity
from iptlint.syntax.ast import Chain, Table, TargetKind

CODE = "R004"
NAME = "empty-jump"
SEVERITY = Severity.INFO
DEFAULT = False


def check(analysis: Analysis) -> Iterator[Finding]:
    reachability = analysis.reachability
    inert = reachability.inert_chains
    if not inert:
        return
    jumping = _chains_jumping_to(analysis, inert)
    for table in analysis.ruleset.tables:
        candidates = None if jumping is None else jumping.get(table.name, ())
        if candidates is not None and not candidates:
            continue
        for chain in table.chains:
            if candidates is not None and chain.name not in candidates:
                continue
            for rule in chain.rules:
                target = rule.target
                if target is None or target.kind is not TargetKind.CHAIN or target.goto:
                    continue
                if (table.name, target.name) not in inert or reachability.never_matches(rule) is not None:
                    continue
                yield analysis.at_rule(
                    CODE,
                    rule,
                    f"this jump does nothing: chain {target.name} {_what(table, table.chain(target.name))}",
                    node=target,
                    severity=SEVERITY,
                )


def _chains_jumping_to(analysis: Analysis, inert: frozenset[tuple[str, str]]) -> dict[str, set[str]] | None:
    """table -> the chains with a rule that jumps or goes to an inert chain: the only ones to read
    (a kube-proxy dump has tens of thousands of chains and a few inert ones).  None: read
    them all (a table written twice: the graph holds one copy of each chain)."""
    tables = analysis.ruleset.tables
    if len({table.name for table in tables}) < len(tables):
        return None
    targets: dict[str, set[str]] = {}
    for table, name in inert:
        targets.setdefault(table, set()).add(name)
    return {table: analysis.chains_jumping_to(table, names) for table, names in targets.items()}


def _what(table: Table, chain: Chain | None) -> str:
    if chain is None or not chain.rules:
        return "is empty"
    if all(rule.target is not None and rule.target.name == "RETURN" for rule in chain.rules):
        return "only returns"
    return "has no rule that acts on a packet"
