"""A target used in a table, or reached from a built-in chain, where the kernel refuses it.

## What it does
Reports a rule whose target (`-j DNAT`, `-j MASQUERADE`, `-j REJECT`...) is not allowed
in the rule's table, or in a built-in chain (hook) from which the rule's chain is
reached.  A user chain takes the restrictions of every built-in chain that jumps to it,
directly or through other chains: `DNAT` in a chain that `POSTROUTING` jumps to is as
wrong as `DNAT` in `POSTROUTING` itself.  The related locations are the jumps that lead
there.  Examples: `DNAT` and `REDIRECT` only in nat `PREROUTING`/`OUTPUT`, `SNAT` only in
nat `POSTROUTING`/`INPUT`, `MASQUERADE` only in nat `POSTROUTING`, `REJECT` only in
filter `INPUT`/`FORWARD`/`OUTPUT`, `TCPMSS --clamp-mss-to-pmtu` only from `FORWARD`,
`OUTPUT` and `POSTROUTING`.

## Why it matters
The kernel checks each target against the table and the hooks that reach it when the
table is loaded, and refuses the whole table ("Invalid argument"): nothing of it is
applied.  iptables-nft checks every rule; iptables-legacy skips rules behind an
unconditional verdict, so a file may load on one backend and fail on the other.  (With
iptables-nft, `TRACE` works anywhere and `TCPMSS --clamp-mss-to-pmtu` is checked only in
built-in chains; iptables-legacy refuses both as reported.)

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
from dataclasses import dataclass

from iptlint import extensions
from iptlint.analysis import Analysis
from iptlint.extensions.targets.tcpmss import CLAMP_HOOKS
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import BUILTIN_CHAINS, Rule, TargetKind

CODE = "S204"
NAME = "target-in-wrong-hook"
SEVERITY = Severity.ERROR
DEFAULT = True

_UNKNOWN = object()  # a target or match whose limits are not looked up yet

# (target, option) -> the only hooks from which the target accepts that option.
_OPTION_HOOKS = {("TCPMSS", "--clamp-mss-to-pmtu"): CLAMP_HOOKS}


@dataclass(frozen=True, slots=True)
class _Limits:
    """Where a rule's target may be used: `what` names it (with the option that narrows it)."""

    what: str
    tables: tuple[str, ...] | None
    hooks: tuple[str, ...] | None


def check(analysis: Analysis) -> Iterator[Finding]:
    by_name: dict[str, _Limits | None] = {}  # target name -> its limits, when its options cannot change them
    by_node: dict[int, _Limits | None] = {}  # id(target) -> its limits, for the others (shared by equal rules)
    extension = TargetKind.EXTENSION
    for table in analysis.ruleset.tables:
        for chain in table.chains:
            for rule in chain.rules:
                target = rule.target
                if target is None or target.kind is not extension:
                    continue
                limits = by_name.get(target.name, _UNKNOWN)
                if limits is _UNKNOWN:
                    limits = _limits_of(rule, by_name, by_node)
                if limits is None:
                    continue
                if limits.tables is not None and rule.table not in limits.tables:
                    yield _wrong_table(analysis, rule, limits)
                    continue
                if limits.hooks is None:
                    continue
                # remembered by Analysis per table, reaching hooks and limits
                wrong = analysis.hooks_outside(rule, limits.hooks)
                if wrong:
                    yield _wrong_hook(analysis, rule, limits, wrong)


def _limits_of(rule: Rule, by_name: dict, by_node: dict) -> _Limits | None:
    """`_limits(rule)`, remembered by target name when no option narrows them, else by target node."""
    target = rule.target
    if all(target.name != name for name, _ in _OPTION_HOOKS):
        limits = by_name[target.name] = _limits(rule)
        return limits
    limits = by_node.get(id(target), _UNKNOWN)
    if limits is _UNKNOWN:
        limits = by_node[id(target)] = _limits(rule)
    return limits


def _limits(rule: Rule) -> _Limits | None:
    """Where the rule's target may be used, or None when anywhere (or unknown)."""
    target = rule.target
    if target is None or target.kind is not TargetKind.EXTENSION:
        return None
    extension = extensions.find("target", target.name)
    if extension is None:
        return None
    limits = _Limits(extension.name, extension.tables, extension.hooks)
    for (name, option), hooks in _OPTION_HOOKS.items():
        if extension.name == name and target.get(option) is not None:
            narrowed = hooks if limits.hooks is None else tuple(h for h in limits.hooks if h in hooks)
            limits = _Limits(f"{name} {option}", limits.tables, narrowed)
    if limits.tables is None and limits.hooks is None:
        return None
    return limits


def _wrong_table(analysis: Analysis, rule: Rule, limits: _Limits) -> Finding:
    tables = "table " if len(limits.tables) == 1 else "tables "
    message = (
        f"{limits.what} is valid only in {tables}{_names(limits.tables)}, not in {rule.table}: the kernel refuses it"
    )
    return analysis.at_rule(CODE, rule, message, node=rule.target, severity=SEVERITY)


def _wrong_hook(analysis: Analysis, rule: Rule, limits: _Limits, wrong: list[str]) -> Finding:
    allowed = [hook for hook in limits.hooks if hook in BUILTIN_CHAINS.get(rule.table, ())]
    if rule.chain in wrong:
        where = f"in {rule.chain}"
    else:
        where = f"in chain {rule.chain}, which {_names(wrong)} {'reach' if len(wrong) > 1 else 'reaches'}"
    only = f"only from {_names(allowed)}" if allowed else "from no built-in chain of this table"
    message = f"{limits.what} {where}: the kernel allows it {only} in table {rule.table}"
    path = analysis.hook_path(rule.table, wrong[0], rule.chain)
    related = tuple(analysis.related_rule(step, f"{step.chain} jumps to {step.jump} here") for step in path)
    fix = _fix(rule, limits, wrong, allowed)
    return analysis.at_rule(CODE, rule, message, node=rule.target, related=related, fix=fix, severity=SEVERITY)


def _fix(rule: Rule, limits: _Limits, wrong: list[str], allowed: list[str]) -> Fix:
    if not allowed:
        return Fix(f"move the rule to a table where {limits.what} is allowed")
    if rule.chain in wrong:
        return Fix(f"move the rule to {_names(allowed).replace(' and ', ' or ')}, or to a chain only they reach")
    return Fix(f"keep {rule.chain} out of {_names(wrong)}, or move the rule to a chain only {_names(allowed)} reach")


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
