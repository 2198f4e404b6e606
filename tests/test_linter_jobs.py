"""`lint(parsed=...)` and `start_lints`: the same findings as plain `lint`, parsed once, forked or not.

`iptlint diff` lints both sides from the rulesets it parsed already, in child processes
when the dumps are large; the findings must not depend on either shortcut.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from iptlint import linter
from iptlint.linter import LintJob, Settings, lint, start_lints
from iptlint.syntax.parser import parse

DATA = Path(__file__).parent / "data" / "diff"


def _texts() -> list[tuple[str, str]]:
    return [(str(path), path.read_text(encoding="utf-8")) for path in sorted(DATA.glob("*.rules"))]


def test_there_are_dumps_to_lint():
    assert len(_texts()) >= 2


@pytest.mark.parametrize("path,text", _texts())
def test_lint_of_a_parsed_dump_finds_what_lint_finds(path, text):
    assert lint(text, path, parsed=parse(text, path)).findings == lint(text, path).findings


def test_a_parse_of_another_format_or_family_is_not_reused():
    text = "-P INPUT DROP\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"  # iptables -S: no *table line
    as_save = parse(text, "x")
    assert lint(text, "x", parsed=as_save).findings == lint(text, "x").findings
    save = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    settings = Settings(table="filter", input_format="rules")
    assert lint(save, "x", settings, parsed=parse(save, "x")).findings == lint(save, "x", settings).findings


def _jobs() -> list[LintJob]:
    return [LintJob(text, path, Settings(), parse(text, path)) for path, text in _texts()]


def test_forked_lints_send_back_the_findings_in_order(monkeypatch):
    monkeypatch.setattr(linter, "PARALLEL_MIN_RULES", 0)
    jobs = _jobs()
    expected = tuple(job.findings() for job in jobs)
    assert any(expected)
    assert start_lints(jobs)() == expected
    assert start_lints(jobs, parallel=False)() == expected


def test_lints_run_here_when_no_child_can_be_started(monkeypatch):
    monkeypatch.setattr(linter, "PARALLEL_MIN_RULES", 0)

    def no_fork():
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", no_fork)
    jobs = _jobs()
    assert start_lints(jobs)() == tuple(job.findings() for job in jobs)


def test_a_child_that_sends_nothing_is_replaced_by_a_lint_here(monkeypatch):
    monkeypatch.setattr(linter, "PARALLEL_MIN_RULES", 0)
    jobs = _jobs()
    expected = tuple(job.findings() for job in jobs)
    import pickle  # the linter imports it when it forks

    monkeypatch.setattr(pickle, "dumps", lambda *args, **kwargs: b"")  # the children send nothing
    assert start_lints(jobs)() == expected


def test_small_inputs_are_not_forked(monkeypatch):
    def fork_fails():
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", fork_fails)
    jobs = _jobs()
    assert start_lints(jobs)() == tuple(job.findings() for job in jobs)


def test_one_large_job_is_forked_and_a_cancel_reaps_it(monkeypatch):
    monkeypatch.setattr(linter, "PARALLEL_MIN_RULES", 0)
    job = _jobs()[0]
    assert start_lints([job])() == (job.findings(),)
    pending = start_lints([job])
    pending.cancel()
    assert pending() == (job.findings(),)  # nothing left to collect: linted here
