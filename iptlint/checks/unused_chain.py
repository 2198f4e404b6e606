"""A user chain that no rule jumps or goes to.

## What it does
Reports a user chain with rules that no rule of another chain of its table names in
`-j` or `-g`: its rules never see a packet.  Empty chains are not reported: tools such
as Docker and kube-proxy keep empty chains they may fill later, and an empty chain
loses nothing.  Nor are the chains of a table that names no built-in chain at all: such
a file (ufw's `user.rules`) is restored with `--noflush` into chains that other files
jump to.

## Why it matters
A chain nothing jumps to is dead configuration: usually a jump that was lost in an
edit, a chain renamed on one side only, or a leftover of a tool that no longer manages
the host.  Readers assume its rules protect something; they do not.

## Example
```
*filter
:INPUT DROP [0:0]
:SSH - [0:0]
-A SSH -s 192.0.2.0/24 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:SSH - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j SSH
-A SSH -s 192.0.2.0/24 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import Chain

CODE = "S202"
NAME = "unused-chain"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    for table in analysis.ruleset.tables:
        if analysis.is_fragment(table):
            continue
        entered = analysis.entered_by_table.get(table.name, frozenset())
        for chain in table.chains:
            if chain.builtin or not chain.rules or chain.name in entered:
                continue
            yield analysis.at_chain(
                CODE,
                table,
                chain,
                f"chain '{chain.name}' is never jumped to: {_what_is_lost(chain)}",
                fix=Fix(f"add the missing `-j {chain.name}` rule, or delete the chain"),
                severity=SEVERITY,
            )


def _what_is_lost(chain: Chain) -> str:
    count = len(chain.rules)
    return "its rule never runs" if count == 1 else f"its {count} rules never run"
