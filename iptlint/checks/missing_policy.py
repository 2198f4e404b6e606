"""A built-in chain the file fills with rules but whose policy it leaves to chance.

## What it does
Reports a built-in chain that the file adds rules to, or declares with `-` instead of a
policy, when no `:CHAIN ACCEPT|DROP` line and no `-P` gives it a policy.  A built-in
chain the file does not mention at all is not reported: the file leaves that chain
alone.  Neither is a table that names no built-in chain: a fragment restored with
`--noflush` into chains other files create (ufw's `user.rules`).  Off by default;
enable it for files meant to describe whole tables.

## Why it matters
The chain's policy, what happens to every packet its rules do not decide, then depends
on the backend and on the past, not on the file: iptables-legacy-restore keeps the
policy the chain already had (DROP if an earlier load set it), iptables-nft-restore
resets it to ACCEPT.  The same file can leave a host open on one machine and closed on
another.

## Example
```
*filter
:INPUT DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A FORWARD -i eth1 -o eth0 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -i lo -j ACCEPT
-A FORWARD -i eth1 -o eth0 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import Chain, Table

CODE = "S206"
NAME = "missing-policy"
SEVERITY = Severity.INFO
DEFAULT = False


def check(analysis: Analysis) -> Iterator[Finding]:
    for table in analysis.ruleset.tables:
        if analysis.is_fragment(table):
            continue
        for chain in table.chains:
            if _policy_left_to_chance(chain):
                yield _finding(analysis, table, chain)


def _policy_left_to_chance(chain: Chain) -> bool:
    """A built-in chain without policy that the file declares (with `-`) or adds rules to."""
    return chain.builtin and chain.policy is None and (chain.line > 0 or bool(chain.rules))


def _finding(analysis: Analysis, table: Table, chain: Chain) -> Finding:
    message = (
        f"built-in chain {chain.name} of table {table.name} has no policy: "
        "iptables-legacy-restore keeps the one it already had, iptables-nft-restore sets ACCEPT"
    )
    fix = Fix(f"declare it: `:{chain.name} ACCEPT [0:0]` or `:{chain.name} DROP [0:0]`")
    if chain.line > 0:
        return analysis.at_chain(CODE, table, chain, message, fix=fix, severity=SEVERITY)
    return analysis.at_rule(CODE, chain.rules[0], message, fix=fix, severity=SEVERITY)
