"""The catalogue of every code iptlint reports: parser diagnostics and checks alike."""

from __future__ import annotations

import inspect
from dataclasses import dataclass

from iptlint import checks
from iptlint.findings import Severity
from iptlint.syntax.diagnostics import DIAGNOSTICS

# Reported by the engine itself.
UNUSED_SUPPRESSION = "S301"
_ENGINE_DOC = """A `# iptlint: disable=CODE` comment that silences nothing.

## What it does
Reports a suppression comment (a `# iptlint: disable=...` line, a `disable-file`, or an
`iptlint: disable=...` rule comment) for which no finding of that code was silenced.

## Why it matters
A stale suppression hides the next real problem of that code on that rule, and tells
readers of the file something that is no longer true.

## Example
```
*filter
:INPUT ACCEPT [0:0]
# iptlint: disable=S205
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
```
"""


@dataclass(frozen=True, slots=True)
class RuleInfo:
    code: str
    name: str
    severity: Severity
    default: bool
    doc: str

    @property
    def summary(self) -> str:
        return self.doc.strip().splitlines()[0] if self.doc.strip() else self.name


def all_rules() -> list[RuleInfo]:
    found = [RuleInfo(d.code, d.name, d.severity, True, d.doc) for d in DIAGNOSTICS.values()]
    found.append(RuleInfo(UNUSED_SUPPRESSION, "unused-suppression", Severity.WARNING, True, _ENGINE_DOC))
    for code, module in checks.modules().items():
        found.append(
            RuleInfo(code, module.NAME, module.SEVERITY, getattr(module, "DEFAULT", True), inspect.getdoc(module) or "")
        )
    return sorted(found, key=lambda r: r.code)


def rule(code: str) -> RuleInfo | None:
    for info in all_rules():
        if info.code == code.upper():
            return info
    return None
