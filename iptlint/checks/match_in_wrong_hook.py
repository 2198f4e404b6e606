"""A match used in a table, or reached from a built-in chain, where the kernel refuses it.

## What it does
Reports a match (`-m owner`, `-m mac`, `-m socket`, `-m rpfilter`...) that is not allowed
in the rule's table, or in a built-in chain (hook) from which the rule's chain is
reached, directly or through user chains; the related locations are the jumps that
lead there.  Examples: `owner` only from `OUTPUT`/`POSTROUTING` (only local packets
have an owner), `mac` only from `PREROUTING`/`INPUT`/`FORWARD` (outgoing packets have no
source MAC yet), `rpfilter` only in raw and mangle `PREROUTING`, `addrtype
--limit-iface-in`, `devgroup --src-group` and `policy --dir in` only for packets with
an input device, not from `OUTPUT`/`POSTROUTING`.  The same check for targets is S204.

## Why it matters
The kernel checks each match against the table and the hooks that reach it when the
table is loaded and refuses the whole table ("Invalid argument"): nothing of it is
applied.  A rule meant to restrict traffic by user, MAC address or socket never exists.

## Example
```
*filter
:INPUT DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SERVICES - [0:0]
-A INPUT -j SERVICES
-A SERVICES -p tcp -m tcp --dport 8080 -m owner --uid-owner 1000 -j ACCEPT
COMMIT
```

## Use instead
```
*filter
:INPUT DROP [0:0]
:OUTPUT ACCEPT [0:0]
:SERVICES - [0:0]
-A OUTPUT -j SERVICES
-A SERVICES -p tcp -m tcp --sport 8080 -m owner --uid-owner 1000 -j ACCEPT
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from iptlint import extensions
from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Severity
from iptlint.syntax.ast import BUILTIN_CHAINS, Match, Rule

CODE = "S208"
NAME = "match-in-wrong-hook"
SEVERITY = Severity.ERROR
DEFAULT = True

_UNKNOWN = object()  # a target or match whose limits are not looked up yet

_IN = ("PREROUTING", "INPUT", "FORWARD")  # packets that have an input device
_OUT = ("FORWARD", "OUTPUT", "POSTROUTING")  # packets that have an output device


def _given(option: str):
    return lambda match: match.get(option) is not None


def _value(option: str, value: str):
    return lambda match: match.get(option) is not None and match.get(option).value == value


def _physdev_out_unbridged(match: Match) -> bool:
    """`--physdev-out`/`--physdev-is-out` without `--physdev-is-bridged`: not for local packets."""
    bridged = match.get("--physdev-is-bridged")
    outgoing = match.get("--physdev-out") is not None or match.get("--physdev-is-out") is not None
    return outgoing and (bridged is None or bridged.negated)


# Restrictions that a match's own check applies to some options (x_tables checkentry):
# match -> (when, how to name it, the only hooks allowed).  iptables-legacy applies them
# through user chains, nf_tables only in built-in chains.
_OPTION_HOOKS = {
    "addrtype": (
        (_given("--limit-iface-in"), "--limit-iface-in", _IN),
        (_given("--limit-iface-out"), "--limit-iface-out", _OUT),
    ),
    "devgroup": (
        (_given("--src-group"), "--src-group", _IN),
        (_given("--dst-group"), "--dst-group", _OUT),
    ),
    "policy": (
        (_value("--dir", "in"), "--dir in", _IN),
        (_value("--dir", "out"), "--dir out", _OUT),
    ),
    "physdev": ((_physdev_out_unbridged, "--physdev-out", ("PREROUTING", "INPUT", "FORWARD", "POSTROUTING")),),
}


@dataclass(frozen=True, slots=True)
class _Limits:
    """Where a match may be used: `what` names it (with the option that narrows it)."""

    what: str
    tables: tuple[str, ...] | None
    hooks: tuple[str, ...] | None


def check(analysis: Analysis) -> Iterator[Finding]:
    by_name: dict[str, _Limits | None] = {}  # match name -> its limits, when its options cannot change them
    by_node: dict[int, _Limits | None] = {}  # id(match) -> its limits, for the others (the parser shares equal matches)
    for table in analysis.ruleset.tables:
        for chain in table.chains:
            for rule in chain.rules:
                for match in rule.matches:
                    limits = by_name.get(match.name, _UNKNOWN)
                    if limits is _UNKNOWN:
                        limits = _limits_of(match, by_name, by_node)
                    if limits is None:
                        continue
                    if limits.tables is not None and rule.table not in limits.tables:
                        yield _wrong_table(analysis, rule, match, limits)
                        continue
                    if limits.hooks is None:
                        continue
                    # remembered by Analysis per table, reaching hooks and limits
                    wrong = analysis.hooks_outside(rule, limits.hooks)
                    if wrong:
                        yield _wrong_hook(analysis, rule, match, limits, wrong)


def _limits_of(match: Match, by_name: dict, by_node: dict) -> _Limits | None:
    """`_limits(match)`, remembered by name when no option of the match narrows them, else by node."""
    if match.name not in _OPTION_HOOKS:
        limits = by_name[match.name] = _limits(match)
        return limits
    limits = by_node.get(id(match), _UNKNOWN)
    if limits is _UNKNOWN:
        limits = by_node[id(match)] = _limits(match)
    return limits


def _limits(match: Match) -> _Limits | None:
    """Where the match may be used, or None when anywhere (or unknown)."""
    extension = extensions.find("match", match.name)
    if extension is None:
        return None
    limits = _Limits(f"-m {match.name}", extension.tables, extension.hooks)
    for applies, label, hooks in _OPTION_HOOKS.get(match.name, ()):
        if applies(match):
            narrowed = hooks if limits.hooks is None else tuple(h for h in limits.hooks if h in hooks)
            limits = _Limits(f"-m {match.name} {label}", limits.tables, narrowed)
    if limits.tables is None and limits.hooks is None:
        return None
    return limits


def _wrong_table(analysis: Analysis, rule: Rule, match: Match, limits: _Limits) -> Finding:
    tables = "table " if len(limits.tables) == 1 else "tables "
    message = (
        f"{limits.what} is valid only in {tables}{_names(limits.tables)}, not in {rule.table}: the kernel refuses it"
    )
    return analysis.at_rule(CODE, rule, message, node=match, severity=SEVERITY)


def _wrong_hook(analysis: Analysis, rule: Rule, match: Match, limits: _Limits, wrong: list[str]) -> Finding:
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
    return analysis.at_rule(CODE, rule, message, node=match, related=related, fix=fix, severity=SEVERITY)


def _fix(rule: Rule, limits: _Limits, wrong: list[str], allowed: list[str]) -> Fix:
    if not allowed:
        return Fix(f"move the rule to a table where {limits.what} is allowed")
    if rule.chain in wrong:
        return Fix(f"move the rule to {_names(allowed).replace(' and ', ' or ')}, or to a chain only they reach")
    return Fix(f"keep {rule.chain} out of {_names(wrong)}, or move the rule to a chain only {_names(allowed)} reach")


def _names(names) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
