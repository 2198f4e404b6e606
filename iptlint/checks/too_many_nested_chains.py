"""A jump that nests user chains more than 15 deep below a built-in chain.

## What it does
Reports each jump (`-j` or `-g`) that takes a packet from a chain 15 jumps below a
built-in chain into one more chain, counting along the longest path of jumps.  The
related locations are the jumps of that path, from the built-in chain down.

## Why it matters
nf_tables follows at most 16 levels of jumps from a base chain: iptables-nft-restore,
the default on current distributions, refuses the table ("Too many links") and nothing
of it is loaded.  iptables-legacy accepts the same file, so a rule set that worked for
years stops loading after a distribution upgrade.  Gotos count as jumps here.

## Example
```
*filter
:INPUT ACCEPT [0:0]
:C1 - [0:0]
:C2 - [0:0]
:C3 - [0:0]
:C4 - [0:0]
:C5 - [0:0]
:C6 - [0:0]
:C7 - [0:0]
:C8 - [0:0]
:C9 - [0:0]
:C10 - [0:0]
:C11 - [0:0]
:C12 - [0:0]
:C13 - [0:0]
:C14 - [0:0]
:C15 - [0:0]
:C16 - [0:0]
-A INPUT -j C1
-A C1 -j C2
-A C2 -j C3
-A C3 -j C4
-A C4 -j C5
-A C5 -j C6
-A C6 -j C7
-A C7 -j C8
-A C8 -j C9
-A C9 -j C10
-A C10 -j C11
-A C11 -j C12
-A C12 -j C13
-A C13 -j C14
-A C14 -j C15
-A C15 -j C16
-A C16 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [0:0]
:C1 - [0:0]
:C2 - [0:0]
:C3 - [0:0]
:C4 - [0:0]
:C5 - [0:0]
:C6 - [0:0]
:C7 - [0:0]
:C8 - [0:0]
:C9 - [0:0]
:C10 - [0:0]
:C11 - [0:0]
:C12 - [0:0]
:C13 - [0:0]
:C14 - [0:0]
:C15 - [0:0]
:C16 - [0:0]
-A INPUT -j C1
-A C1 -j C2
-A C2 -j C3
-A C3 -j C4
-A C4 -j C5
-A C5 -j C6
-A C6 -j C7
-A C7 -j C8
-A C8 -j C9
-A C9 -j C10
-A C10 -j C11
-A C11 -j C12
-A C12 -j C13
-A C13 -j C14
-A C14 -j C15
-A INPUT -j C16
-A C16 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import Rule

CODE = "S209"
NAME = "too-many-nested-chains"
SEVERITY = Severity.ERROR
DEFAULT = True

MAX_DEPTH = 15  # nested user chains below a base chain that nf_tables accepts (NFT_JUMP_STACK_SIZE 16)


def check(analysis: Analysis) -> Iterator[Finding]:
    for (table, chain), (depth, _jump) in analysis.jump_depths.items():
        if depth == MAX_DEPTH:
            for callee, rule in analysis.callees(table, chain):
                yield _finding(analysis, rule, callee)


def _finding(analysis: Analysis, rule: Rule, callee: str) -> Finding:
    path = analysis.deepest_path(rule.table, rule.chain)
    hook = path[0].chain if path else rule.chain
    message = (
        f"this jump nests chain {callee} {MAX_DEPTH + 1} levels below built-in chain {hook}: "
        f"iptables-nft refuses more than {MAX_DEPTH} (iptables-legacy accepts it)"
    )
    related = tuple(
        analysis.related_rule(step, f"level {level}: {step.chain} jumps to {step.jump}")
        for level, step in enumerate(path, 1)
    )
    fix = Fix(f"jump to {callee} from a chain nearer {hook}, or merge chains of this path")
    return analysis.at_rule(CODE, rule, message, node=rule.target, related=related, fix=fix, severity=SEVERITY)
