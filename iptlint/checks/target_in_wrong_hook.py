"""A target used in a table, or reached from a built-in chain, where the kernel refuses it.

## What it does
Reports a rule whose target (`-j DNAT`, `-j MASQUERADE`, `-j REJECT`...) is not allowed
in the rule's table, or in a built-in chain (hook) from which the rule's chain is
reached.  A user chain takes the restrictions of every built-in chain that jumps to it,
directly or through other chains: `DNAT` in a chain that `POSTROUTING` jumps to is as
wrong as `DNAT` in `POSTROUTING` itself.  The related locations are the jumps that lead
there.  Examples: `DNAT` and `REDIRECT` only in nat `PREROUTING`/`OUTPUT`, `SNAT` only in
nat `POSTROUTING`/`INPUT`, `MASQUERADE` only in nat `POSTROUTING`, `REJECT` only in
filter `INPUT`/`FORWARD`/`OUTPUT`.

## Why it matters
The kernel checks each target against the table and the hooks that reach it when the
table is loaded, and refuses the whole table ("Invalid argument"): nothing of it is
applied.  iptables-nft checks every rule; iptables-legacy skips rules behind an
unconditional verdict, so a file may load on one backend and fail on the other.

## Example
```
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PORTS - [0:0]
-A POSTROUTING -j PORTS
-A PORTS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
COMMIT
```

## Use instead
```
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:PORTS - [0:0]
-A PREROUTING -j PORTS
-A PORTS -p tcp -m tcp --dport 8080 -j DNAT --to-destination 192.0.2.2:80
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint import extensions
from iptlint.analysis import Analysis
from iptlint.extensions.spec import Extension
from iptlint.findings import Finding, Severity
from iptlint.syntax.ast import BUILTIN_CHAINS, Rule, TargetKind

CODE = "S204"
NAME = "target-in-wrong-hook"
SEVERITY = Severity.ERROR
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    for rule in analysis.ruleset.rules:
        extension = _restricted_target(rule)
        if extension is None:
            continue
        if extension.tables is not None and rule.table not in extension.tables:
            yield _wrong_table(analysis, rule, extension)
            continue
        wrong = _forbidden_hooks(analysis, rule, extension)
        if wrong:
            yield _wrong_hook(analysis, rule, extension, wrong)


def _restricted_target(rule: Rule) -> Extension | None:
    """The target's extension when it limits where it may be used."""
    target = rule.target
    if target is None or target.kind is not TargetKind.EXTENSION:
        return None
    extension = extensions.find("target", target.name)
    if extension is None or (extension.tables is None and extension.hooks is None):
        return None
    return extension


def _forbidden_hooks(analysis: Analysis, rule: Rule, extension: Extension) -> list[str]:
    """The built-in chains reaching the rule's chain that the target does not allow, in kernel order."""
    if extension.hooks is None:
        return []
    reaching = analysis.hooks_reaching.get((rule.table, rule.chain), frozenset())
    return [hook for hook in BUILTIN_CHAINS.get(rule.table, ()) if hook in reaching and hook not in extension.hooks]


def _wrong_table(analysis: Analysis, rule: Rule, extension: Extension) -> Finding:
    tables = "table " if len(extension.tables) == 1 else "tables "
    message = (
        f"{extension.name} is valid only in {tables}{_names(extension.tables)}, not in {rule.table}: "
        "the kernel refuses it"
    )
    return analysis.at_rule(CODE, rule, message, node=rule.target, severity=SEVERITY)


def _wrong_hook(analysis: Analysis, rule: Rule, extension: Extension, wrong: list[str]) -> Finding:
    allowed = _names([hook for hook in extension.hooks if hook in BUILTIN_CHAINS.get(rule.table, ())])
    if rule.chain in wrong:
        where = f"in {rule.chain}"
    else:
        where = f"in chain {rule.chain}, which {_names(wrong)} {'reach' if len(wrong) > 1 else 'reaches'}"
    only = f"only from {allowed}" if allowed else "from no built-in chain of this table"
    message = f"{extension.name} {where}: the kernel allows it {only} in table {rule.table}"
    path = analysis.hook_path(rule.table, wrong[0], rule.chain)
    related = tuple(analysis.related_rule(step, f"{step.chain} jumps to {step.jump} here") for step in path)
    return analysis.at_rule(CODE, rule, message, node=rule.target, related=related, severity=SEVERITY)


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
