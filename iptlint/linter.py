"""The engine: parse, analyse, run the selected checks, apply suppressions.

Checks only yield findings; the engine decides which codes run, which findings the
user silenced, and reports suppressions that silence nothing (yamllint's split).
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from iptlint import checks, collector
from iptlint.analysis import Analysis
from iptlint.findings import Finding, Severity, Span
from iptlint.rules import UNUSED_SUPPRESSION, all_rules
from iptlint.syntax.ast import Family, Ruleset
from iptlint.syntax.formats import InputFormat, detect_format, on_listing_lines, parse_input, parse_input_bytes
from iptlint.syntax.parser import ParseResult, parse, parse_bytes


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


def lint(
    data: bytes | str, path: str = "-", settings: Settings | None = None, parsed: ParseResult | None = None
) -> LintResult:
    """Lint one file's content.

    `parsed`: what `parse(data, path)` returned, when the caller has it already
    (`iptlint diff` parses both sides for the behaviour comparison): it is used instead
    of a second parse whenever the settings would parse `data` the same way (a save
    dump, no forced family or table); otherwise `data` is parsed as usual.
    """
    settings = settings or Settings()
    halves = _family_halves(data, settings)
    if halves is not None:
        return _lint_both_families(halves, path, settings)
    result = parsed if _reusable(parsed, data, path, settings) else _parse(data, path, settings)
    ruleset = result.ruleset
    findings = list(result.findings)
    if not any(f.code in ("S101", "S122") for f in result.findings):
        with collector.paused():
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


def _reusable(parsed: ParseResult | None, data: bytes | str, path: str, settings: Settings) -> bool:
    """Whether `parsed` is exactly what `_parse(data, path, settings)` would return: `parse(data, path)`
    of a save dump (text, not bytes: those may hold the NUL and UTF-8 errors of S101)."""
    if parsed is None or not isinstance(data, str) or parsed.ruleset.path != path:
        return False
    if settings.family is not None or settings.table is not None or settings.input_format not in ("auto", "save"):
        return False
    return settings.input_format == "save" or detect_format(data) is InputFormat.SAVE


@dataclass(frozen=True)
class LintJob:
    """The arguments of one `lint` call, to run with others (`start_lints`)."""

    data: bytes | str
    path: str = "-"
    settings: Settings | None = None
    parsed: ParseResult | None = None

    def findings(self) -> tuple[Finding, ...]:
        return lint(self.data, self.path, self.settings, self.parsed).findings


# Below this many rules in all, a lint takes less time than a fork and a pickle are worth.
PARALLEL_MIN_RULES = 20_000


class PendingLints:
    """Lints started by `start_lints`: call it for their findings, or `cancel` it."""

    def __init__(self, jobs: tuple[LintJob, ...], children: dict[int, tuple[int, int]]) -> None:
        self._jobs = jobs
        self._children = children  # job index -> (pid, read end of its pipe)
        self._done: tuple[tuple[Finding, ...], ...] | None = None

    def __call__(self) -> tuple[tuple[Finding, ...], ...]:
        """The findings of each job, in job order; a job whose child failed is linted here."""
        if self._done is None:
            sent = {index: _collect(*child) for index, child in self._children.items()}
            self._children = {}
            found = [sent.get(index) for index in range(len(self._jobs))]
            self._done = tuple(job.findings() if f is None else f for job, f in zip(self._jobs, found, strict=True))
        return self._done

    def cancel(self) -> None:
        """Stop and reap the children (the caller failed before it needed their findings)."""
        children, self._children = self._children, {}
        for pid, read_end in children.values():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.close(read_end)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


def start_lints(jobs: Sequence[LintJob], parallel: bool = True) -> PendingLints:
    """Start the lints of `jobs`, each in a child process when that pays; calling the
    result waits for them and returns the findings of each job, in the order of `jobs`,
    exactly as `job.findings()` would (a child sends them back pickled).

    `iptlint diff` lints both sides of a 100,000-rule change, and each side is seconds
    of work on one core: forked, they run beside each other and beside the caller, which
    goes on parsing and comparing behaviour.  Without `os.fork`, with threads running (a
    fork would copy their locks), for small inputs, or when a child fails in any way (it
    crashed, was killed, sent nothing that unpickles), that job runs in this process:
    the result is the same, only later.  Call the result (or its `cancel`) to reap the
    children.
    """
    jobs = tuple(jobs)
    children: dict[int, tuple[int, int]] = {}
    if parallel and _worth_forking(jobs):
        for index, job in enumerate(jobs):
            child = _fork_lint(job)
            if child is not None:
                children[index] = child
    return PendingLints(jobs, children)


def _worth_forking(jobs: Sequence[LintJob]) -> bool:
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return False
    return sum(map(_size, jobs)) >= PARALLEL_MIN_RULES


def _size(job: LintJob) -> int:
    """The rules of a parsed job; of one still to parse, its lines (an upper bound, read fast)."""
    if job.parsed is not None:
        return sum(len(chain.rules) for table in job.parsed.ruleset.tables for chain in table.chains)
    newline = b"\n" if isinstance(job.data, bytes) else "\n"
    return job.data.count(newline)


def _fork_lint(job: LintJob) -> tuple[int, int] | None:
    """(child pid, read end of its pipe), or None when no child could be started."""
    try:
        read_end, write_end = os.pipe()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:  # the child: lint, send the findings, leave without running the parent's exit handlers
        status = 1
        try:
            # No collection in a short-lived child: one would touch every object of the
            # parent's AST and copy all its pages (the fork shares them until written).
            gc.disable()
            os.close(read_end)
            import pickle

            payload = pickle.dumps(job.findings(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(payload)
            status = 0
        except BaseException:  # the parent redoes the job; nothing may escape a child
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _collect(pid: int, read_end: int) -> tuple[Finding, ...] | None:
    """The findings a child sent, or None when it failed (the caller then lints itself)."""
    payload = b""
    try:
        with os.fdopen(read_end, "rb") as pipe:
            payload = pipe.read()
    except OSError:
        payload = b""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        status = 1
    if status != 0 or not payload:
        return None
    try:
        import pickle  # here: a check that forks nothing need not import it

        found = pickle.loads(payload)
    except Exception:  # a truncated or foreign payload: lint here instead
        return None
    if not isinstance(found, tuple) or not all(isinstance(f, Finding) for f in found):
        return None
    return found


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
