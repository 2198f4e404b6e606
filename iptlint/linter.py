"""The engine: parse, analyse, run the selected checks, apply suppressions.

Checks only yield findings; the engine decides which codes run, which findings the
user silenced, and reports suppressions that silence nothing (yamllint's split).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from iptlint import checks
from iptlint.analysis import Analysis
from iptlint.findings import Finding, Severity, Span
from iptlint.rules import UNUSED_SUPPRESSION, all_rules
from iptlint.syntax.ast import Family, Ruleset
from iptlint.syntax.formats import on_listing_lines, parse_input, parse_input_bytes
from iptlint.syntax.parser import parse, parse_bytes


@dataclass(frozen=True)
class Settings:
    """What to report: codes or prefixes as in ruff (`S2`, `R001`, `ALL`)."""

    select: tuple[str, ...] | None = None  # None: every code enabled by default
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    family: Family | None = None
    check_options: dict = field(default_factory=dict)
    input_format: str = "auto"  # auto, save, rules (iptables -S) or listing (iptables -L)
    table: str | None = None  # the table of a rules or listing input that does not name it

    def enabled(self, code: str, default: bool = True) -> bool:
        """The most specific selector wins, as in ruff: `--select S2 --ignore S205`."""
        chosen = _specificity(code, self.select) if self.select is not None else (0 if default else -1)
        chosen = max(chosen, _specificity(code, self.extend_select))
        return chosen >= 0 and chosen > _specificity(code, self.ignore)


def _specificity(code: str, selectors: Iterable[str]) -> int:
    """How closely the best selector names `code`: -1 none, 0 `ALL`, else the prefix length."""
    best = -1
    for selector in selectors:
        selector = selector.upper()
        if selector == "ALL":
            best = max(best, 0)
        elif code.startswith(selector):
            best = max(best, len(selector))
    return best


@dataclass(frozen=True)
class LintResult:
    path: str
    ruleset: Ruleset
    findings: tuple[Finding, ...]


# `# iptlint: disable=S201,S203` / `# iptlint: disable-file=S205` / in a rule comment.
_SUPPRESSION = re.compile(r"iptlint:\s*(disable|disable-file|disable-next-line)\s*=\s*([A-Za-z0-9_, ]+)")


@dataclass
class _Suppression:
    codes: tuple[str, ...]
    line: int  # where the suppression is written
    target_line: int | None  # the rule line it covers; None: the whole file
    used: set[str] = field(default_factory=set)


def lint(data: bytes | str, path: str = "-", settings: Settings | None = None) -> LintResult:
    settings = settings or Settings()
    halves = _family_halves(data, settings)
    if halves is not None:
        return _lint_both_families(halves, path, settings)
    result = _parse(data, path, settings)
    ruleset = result.ruleset
    findings = list(result.findings)
    if not any(f.code in ("S101", "S122") for f in result.findings):
        analysis = Analysis(ruleset, settings.check_options)
        registered = checks.modules()
        for code, module in registered.items():
            if settings.enabled(code, getattr(module, "DEFAULT", True)):
                findings.extend(module.check(analysis))
        # Codes of the user's own policies (P001...) have no check module: report them as written.
        if analysis.options.get("policies"):
            findings.extend(f for f in analysis.policy_findings if f.code not in registered)
    defaults = {info.code: info.default for info in all_rules()}
    findings = [f for f in findings if settings.enabled(f.code, defaults.get(f.code, True))]
    findings = _apply_suppressions(ruleset, findings, settings, defaults)
    findings = on_listing_lines(findings, ruleset)
    text_lines = ruleset.lines
    findings = [
        replace(f, source_line=text_lines[f.span.line - 1] if 0 < f.span.line <= len(text_lines) else None)
        for f in findings
    ]
    return LintResult(path, ruleset, tuple(sorted(set(findings), key=Finding.sort_key)))


# A `*table` line and its name; two with the same name are the least a save of both families holds.
_TABLE_NAME = re.compile(r"^\s*\*(\S*)", re.MULTILINE)


def _family_halves(data: bytes | str, settings: Settings) -> tuple[str, str] | None:
    """The IPv4 and IPv6 halves of a save holding both families (`iptlint.parity.split_families`)."""
    if settings.family is not None or settings.table is not None or settings.input_format not in ("auto", "save"):
        return None
    if "pair" in settings.check_options:
        return None
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    names = _TABLE_NAME.findall(data)
    if len(set(names)) == len(names):  # no table twice: one family (and no need to import parity)
        return None
    from iptlint.parity import split_families

    return split_families(data)


def _lint_both_families(halves: tuple[str, str], path: str, settings: Settings) -> LintResult:
    """Lint each family's half of one file, each paired with the other (X010), findings merged."""
    v4_text, v6_text = halves
    v4 = parse(v4_text, path, Family.IPV4).ruleset
    v6 = parse(v6_text, path, Family.IPV6).ruleset
    findings: list[Finding] = []
    results = []
    for text, family, partner in ((v4_text, Family.IPV4, v6), (v6_text, Family.IPV6, v4)):
        options = {**settings.check_options, "pair": partner}
        result = lint(text, path, replace(settings, family=family, check_options=options))
        results.append(result)
        findings.extend(result.findings)
    return LintResult(path, results[0].ruleset, tuple(sorted(set(findings), key=Finding.sort_key)))


def _parse(data: bytes | str, path: str, settings: Settings):
    """Parse in the input format of the settings (see iptlint/syntax/formats.py)."""
    if settings.input_format == "save" and settings.table is None:
        return (
            parse_bytes(data, path, settings.family) if isinstance(data, bytes) else parse(data, path, settings.family)
        )
    if isinstance(data, bytes):
        return parse_input_bytes(data, path, settings.family, settings.input_format, settings.table)
    return parse_input(data, path, settings.family, settings.input_format, settings.table)


def _suppressed_codes(listed: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in listed.split(",") if c.strip())


def _suppressions(ruleset: Ruleset) -> list[_Suppression]:
    found = []
    lines = ruleset.lines
    for comment in ruleset.comments:
        match = _SUPPRESSION.search(comment.text)
        if not match:
            continue
        codes = _suppressed_codes(match.group(2))
        if match.group(1) == "disable-file":
            found.append(_Suppression(codes, comment.line, None))
            continue
        target = comment.line + 1
        while target <= len(lines) and (not lines[target - 1].strip() or lines[target - 1].startswith("#")):
            target += 1
        found.append(_Suppression(codes, comment.line, target))
    for rule in ruleset.rules:
        for match in rule.matches:
            if match.name != "comment":
                continue
            for option in match.options:
                found_in = _SUPPRESSION.search(option.text)
                if found_in:
                    found.append(_Suppression(_suppressed_codes(found_in.group(2)), rule.line, rule.line))
    return found


def _apply_suppressions(ruleset: Ruleset, findings: list[Finding], settings: Settings, defaults) -> list[Finding]:
    suppressions = _suppressions(ruleset)
    if not suppressions:
        return findings
    kept = []
    for finding in findings:
        silenced = False
        for suppression in suppressions:
            covers_line = suppression.target_line is None or suppression.target_line == finding.span.line
            matching = [c for c in suppression.codes if finding.code.startswith(c) or c == "ALL"]
            if covers_line and matching:
                suppression.used.update(matching)
                silenced = True
        if not silenced:
            kept.append(finding)
    if settings.enabled(UNUSED_SUPPRESSION, defaults.get(UNUSED_SUPPRESSION, True)):
        for suppression in suppressions:
            unused = [c for c in suppression.codes if c not in suppression.used]
            if unused:
                text = ruleset.line_text(suppression.line)
                column = text.find("iptlint:") + 1 or 1
                kept.append(
                    Finding(
                        UNUSED_SUPPRESSION,
                        f"suppression of {', '.join(unused)} silences nothing here",
                        ruleset.path,
                        Span(suppression.line, column, suppression.line, len(text) + 1),
                        Severity.WARNING,
                    )
                )
    return kept
