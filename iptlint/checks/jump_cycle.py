"""Chains that jump to each other in a loop.

## What it does
Reports each loop of `-j`/`-g` jumps between user chains once, on the jump that closes
it, with the path of chains (`A -> B -> A`) and the other jumps of the loop as related
locations.  A chain that jumps to itself is a loop of one.

## Why it matters
The kernel refuses a table in which a built-in chain leads into a loop ("Too many
links", ELOOP): iptables-restore fails and nothing of the table is loaded.  Every jump
counts, even one behind a condition that never matches.  A loop that no built-in chain
reaches still loads, but the first rule that jumps into it will be refused; it is
reported as a warning.

## Example
```
*filter
:INPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
-A INPUT -j A
-A A -p tcp -j B
-A B -s 10.0.0.0/8 -j A
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [0:0]
:A - [0:0]
:B - [0:0]
-A INPUT -j A
-A A -p tcp -j B
-A B -s 10.0.0.0/8 -j RETURN
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis, JumpCycle
from iptlint.findings import Finding, Fix, Severity

CODE = "S203"
NAME = "jump-cycle"
SEVERITY = Severity.ERROR
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    for cycle in analysis.jump_cycles:
        yield _finding(analysis, cycle)


def _finding(analysis: Analysis, cycle: JumpCycle) -> Finding:
    path = " -> ".join(cycle.chains)
    if cycle.others:
        path += f" (and through {', '.join(cycle.others)})"
    closing = cycle.rules[-1]
    related = tuple(analysis.related_rule(rule, f"{rule.chain} jumps to {rule.jump} here") for rule in cycle.rules[:-1])
    if cycle.reached:
        message = f"jump cycle {path}: the kernel refuses the table (Too many links)"
        severity = SEVERITY
    else:
        message = f"jump cycle {path}: it loads only while no built-in chain leads into it"
        severity = Severity.WARNING
    fix = Fix(f"end {closing.chain} with RETURN instead of jumping back to {closing.jump}")
    return analysis.at_rule(CODE, closing, message, node=closing.target, related=related, fix=fix, severity=severity)
