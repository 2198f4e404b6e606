"""The AST as JSON (`iptlint parse --format json`): a documented, stable shape for other tools.

See docs/ast-json.md.  Version 1:

    {"version": 1, "path": ..., "family": "ipv4"|"ipv6",
     "tables": [{"name", "line", "commit_line",
                 "chains": [{"name", "policy", "builtin", "line", "counters",
                             "rules": [{"line", "column", "end_column", "command", "text", "counters",
                                        "basics": [OPTION], "matches": [MATCH], "target": TARGET|null}]}]}],
     "findings": [{"code", "severity", "message", "line", "column", "end_line", "end_column"}]}
    OPTION = {"name", "negated", "words", "value", "column", "end_column"}
    MATCH  = {"name", "implicit", "typed", "options": [OPTION], "column"}
    TARGET = {"name", "kind", "goto", "options": [OPTION], "column"}

`value` is the typed value as JSON: numbers, strings, lists, or objects for ranges
(`{"lo", "hi"}`), addresses (`{"network"}` / `{"hostname"}`), masked values
(`{"value", "mask"}`), rates (`{"count", "seconds", "unit"}`), endpoints...
"""

from __future__ import annotations

import dataclasses
import enum
import ipaddress
from typing import Any

from iptlint.syntax.ast import Match, Option, Rule, Target

VERSION = 1


def value_to_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, frozenset | set):
        return sorted(value_to_json(v) for v in value)
    if isinstance(value, tuple | list):
        return [value_to_json(v) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: value_to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


def _option(rule: Rule, option: Option) -> dict:
    span = rule.span_of(option)
    return {
        "name": option.name,
        "negated": option.negated,
        "words": list(option.raw),
        "value": value_to_json(option.value),
        "column": span.column,
        "end_column": span.end_column,
    }


def _match(rule: Rule, match: Match) -> dict:
    return {
        "name": match.name,
        "implicit": match.implicit,
        "typed": match.known,
        "options": [_option(rule, o) for o in match.options],
        "column": rule.span_of(match).column if match.token >= 0 else None,
    }


def _target(rule: Rule, target: Target | None) -> dict | None:
    if target is None:
        return None
    return {
        "name": target.name,
        "kind": target.kind.value,
        "goto": target.goto,
        "options": [_option(rule, o) for o in target.options],
        "column": rule.span_of(target).column,
    }


def _counters(counters) -> dict | None:
    return None if counters is None else {"packets": counters.packets, "bytes": counters.bytes}


def to_json(result) -> dict:
    ruleset = result.ruleset
    return {
        "version": VERSION,
        "path": ruleset.path,
        "family": ruleset.family.value,
        "tables": [
            {
                "name": table.name,
                "line": table.line,
                "commit_line": table.commit_line,
                "chains": [
                    {
                        "name": chain.name,
                        "policy": chain.policy,
                        "builtin": chain.builtin,
                        "line": chain.line,
                        "counters": _counters(chain.counters),
                        "rules": [
                            {
                                "line": rule.line,
                                "column": rule.span.column,
                                "end_column": rule.span.end_column,
                                "command": rule.command,
                                "text": rule.source_text,
                                "counters": _counters(rule.counters),
                                "basics": [_option(rule, o) for o in rule.basics],
                                "matches": [_match(rule, m) for m in rule.matches],
                                "target": _target(rule, rule.target),
                            }
                            for rule in chain.rules
                        ],
                    }
                    for chain in table.chains
                ],
            }
            for table in ruleset.tables
        ],
        "input_format": ruleset.input_format,
        "uncertain": [{"line": u.line, "kind": u.kind, "detail": u.detail} for u in ruleset.uncertain],
        "findings": [
            {
                "code": f.code,
                "severity": str(f.severity),
                "message": f.message,
                "line": f.span.line,
                "column": f.span.column,
                "end_line": f.span.end_line,
                "end_column": f.span.end_column,
            }
            for f in result.findings
        ],
    }
