"""The facts about one ruleset that checks read: computed once, on first use, never changed.

Checks never walk chains themselves (ShellCheck's `Parameters`, ruff's semantic model):
they ask the `Analysis` for the reference graph, and later for packet semantics, the
Docker model and the active policies.  Each fact is computed the first time a check
asks for it and then shared by every check.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

from iptlint.findings import Finding, Fix, Related, Severity, Span
from iptlint.syntax.ast import Chain, Match, Option, Rule, Ruleset, Table, Target, TargetKind


@dataclass(frozen=True, slots=True)
class Reference:
    """A rule that jumps (`-j`) or goes (`-g`) to a chain."""

    table: str
    rule: Rule
    target: str
    goto: bool


class Analysis:
    """Everything checks may read about one parsed file."""

    def __init__(self, ruleset: Ruleset, options: dict | None = None) -> None:
        self.ruleset = ruleset
        self.path = ruleset.path
        self.options = options or {}

    # -- the chain graph ------------------------------------------------------------------

    @functools.cached_property
    def references(self) -> dict[tuple[str, str], tuple[Reference, ...]]:
        """(table, chain) -> the rules that jump or go to it."""
        found: dict[tuple[str, str], list[Reference]] = {}
        for table in self.ruleset.tables:
            for rule in table.rules:
                target = rule.target
                if target is not None and target.kind is TargetKind.CHAIN:
                    found.setdefault((table.name, target.name), []).append(
                        Reference(table.name, rule, target.name, target.goto)
                    )
        return {key: tuple(refs) for key, refs in found.items()}

    def referrers(self, table: str, chain: str) -> tuple[Reference, ...]:
        return self.references.get((table, chain), ())

    def chains(self) -> Iterator[tuple[Table, Chain]]:
        for table in self.ruleset.tables:
            for chain in table.chains:
                yield table, chain

    @functools.cached_property
    def rule_index(self) -> dict[int, int]:
        """id(rule) -> its 1-based position in its chain (`iptables -L --line-numbers`)."""
        index = {}
        for table in self.ruleset.tables:
            for chain in table.chains:
                for position, rule in enumerate(chain.rules, 1):
                    index[id(rule)] = position
        return index

    # -- making findings --------------------------------------------------------------------

    def at_rule(
        self,
        code: str,
        rule: Rule,
        message: str,
        node: Option | Match | Target | None = None,
        related: tuple[Related, ...] = (),
        fix: Fix | None = None,
        severity: Severity = Severity.WARNING,
    ) -> Finding:
        """A finding on a rule, or on one of its options, matches or target."""
        span = rule.span if node is None else rule.span_of(node)
        return Finding(
            code=code,
            message=message,
            path=self.path,
            span=span,
            severity=severity,
            table=rule.table,
            chain=rule.chain,
            rule_index=self.rule_index.get(id(rule)),
            related=related,
            fix=fix,
        )

    def at_chain(
        self,
        code: str,
        table: Table,
        chain: Chain,
        message: str,
        related: tuple[Related, ...] = (),
        fix: Fix | None = None,
        severity: Severity = Severity.WARNING,
    ) -> Finding:
        """A finding on a chain's declaration (or its table's header when it was never declared)."""
        span = chain.span if chain.line else Span.at_line(table.line, f"*{table.name}")
        return Finding(code, message, self.path, span, severity, table.name, chain.name, None, related, fix)

    def related_rule(self, rule: Rule, message: str) -> Related:
        return Related(message, rule.span)
