"""A table whose section is followed by another section of the same table.

## What it does
Reports a `*table` section with rules when a later `*table` line of the same file
names the same table.  The related location is that later header.

## Why it matters
iptables-restore flushes a table when its section starts (unless run with
`--noflush`): the second `*filter` throws away every rule the first one loaded, and
only the last section takes effect.  Usually two files were concatenated, or a
section was pasted twice; the rules of the earlier section silently never apply.

## Example
```
*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 203.0.113.7/32 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [0:0]
-A INPUT -s 203.0.113.7/32 -j DROP
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Related, Severity, Span
from iptlint.syntax.ast import Table

CODE = "S210"
NAME = "duplicate-table"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    tables = analysis.ruleset.tables
    for position, table in enumerate(tables):
        later = next((other for other in tables[position + 1 :] if other.name == table.name), None)
        if later is not None and any(True for _ in table.rules):
            yield _finding(analysis, table, later)


def _finding(analysis: Analysis, table: Table, later: Table) -> Finding:
    count = sum(1 for _ in table.rules)
    lost = "its rule never takes effect" if count == 1 else f"its {count} rules never take effect"
    return Finding(
        CODE,
        f"table {table.name} starts again on line {later.line}, which flushes it: {lost}",
        analysis.path,
        _header(table),
        SEVERITY,
        table.name,
        related=(Related(f"table {table.name} flushed and loaded again here", _header(later)),),
        fix=Fix(f"merge the two *{table.name} sections into one"),
    )


def _header(table: Table) -> Span:
    return Span.at_line(table.line, f"*{table.name}")
