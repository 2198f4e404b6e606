"""Findings: what every stage of iptlint reports, from syntax errors to Docker exposure.

A finding points at a span of a file (1-based lines and columns, end exclusive) and may
carry related locations ("shadowed by line 12") and a suggested fix.  Renderers in
`iptlint/report/` decide how to show them; nothing here formats text for people.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """How bad a finding is; ordered so that `severity >= fail_on` works."""

    INFO = 1
    WARNING = 2
    ERROR = 3

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


@dataclass(frozen=True, slots=True)
class Span:
    """A region of one file: 1-based line and column, end column exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def at_line(cls, line: int, text: str = "") -> Span:
        return cls(line, 1, line, len(text) + 1)


@dataclass(frozen=True, slots=True)
class Related:
    """Another location that explains a finding (the rule that shadows, the first definition)."""

    message: str
    span: Span
    path: str | None = None  # None: the finding's own file


@dataclass(frozen=True, slots=True)
class Fix:
    """A suggested change, in words and, where one line does it, as replacement text."""

    description: str
    replacement: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in one file."""

    code: str
    message: str
    path: str
    span: Span
    severity: Severity = Severity.ERROR
    table: str | None = None
    chain: str | None = None
    rule_index: int | None = None  # 1-based position in its chain, as `iptables -L --line-numbers`
    related: tuple[Related, ...] = ()
    fix: Fix | None = None
    source_line: str | None = field(default=None, compare=False)

    def sort_key(self) -> tuple:
        return (self.path, self.span.line, self.span.column, self.code, self.message)
