"""The table of compiled dataclass methods (iptlint/classcode.py) gives the classes `@dataclass`
itself makes: the same code for the same text, other modules' classes untouched, a foreign
or damaged entry ignored.  Its speed is measured by benchmarks/startup.py."""

from __future__ import annotations

import builtins
import dataclasses
import marshal
import os
import subprocess
import sys
from pathlib import Path

from iptlint import classcode

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "docker-host.rules"


def test_a_text_runs_the_code_exec_would_compile():
    text = "def __create_fn__():\n def __init__(self, a): self.a = a\n return __init__"
    namespace: dict = {}
    classcode._exec(text, {"__name__": "iptlint.example"}, namespace)
    assert classcode._table[text] == compile(text, "<string>", "exec", dont_inherit=True)
    assert "__create_fn__" in namespace


def test_no_future_flag_of_iptlint_leaks_into_the_classes():
    """classcode.py has `from __future__ import annotations`; the classes' methods must not inherit it."""
    text = "def __create_fn__():\n def __init__(self, a: int): pass\n return __init__"
    namespace: dict = {}
    classcode._exec(text, {"__name__": "iptlint.example", "int": int}, namespace)
    assert namespace["__create_fn__"]().__annotations__ == {"a": int}


def test_classes_of_other_modules_are_passed_on(monkeypatch):
    seen = []
    monkeypatch.setattr(builtins, "exec", lambda *args: seen.append(args))
    text = "x = 1"
    classcode._exec(text, {"__name__": "someone.else"}, {})
    assert seen and seen[0][0] == text and text not in classcode._table


def test_iptlint_classes_behave_as_dataclasses_make_them():
    from iptlint.syntax.values import Range

    assert dataclasses.is_dataclass(Range)
    made = Range(1, 2)
    assert made == Range(1, 2) and hash(made) == hash(Range(1, 2)) and repr(made) == "Range(lo=1, hi=2)"
    try:
        made.lo = 5
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("a frozen class took an assignment")


def _run(cache_dir: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "IPTLINT_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    env.pop("IPTLINT_NO_CACHE", None)
    return subprocess.run([sys.executable, "-m", "iptlint", *args], capture_output=True, env=env, cwd=ROOT, check=False)


def test_the_table_is_written_once_and_read_after(tmp_path):
    cache_dir = tmp_path / "cache"
    first = _run(cache_dir, "check", "--no-config", str(EXAMPLE))
    (entry,) = cache_dir.glob("classcode-*.marshal")
    table = marshal.loads(entry.read_bytes())
    assert len(table) > 100 and all(isinstance(text, str) for text in table)
    written = entry.stat().st_mtime_ns
    again = _run(cache_dir, "check", "--no-config", str(EXAMPLE))
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout)
    assert entry.stat().st_mtime_ns == written  # nothing new learned: not rewritten


def test_no_cache_neither_reads_nor_writes_it(tmp_path):
    cache_dir = tmp_path / "cache"
    _run(cache_dir, "check", "--no-config", "--no-cache", str(EXAMPLE))
    assert not list(cache_dir.glob("classcode-*"))


def test_texts_no_run_asks_for_are_dropped_when_they_pile_up(monkeypatch):
    code = compile("pass", "<string>", "exec", dont_inherit=True)
    used = {f"used {n}" for n in range(10)}
    monkeypatch.setattr(classcode, "_used", set(used))
    monkeypatch.setattr(classcode, "_table", {text: code for text in used} | {"stale 1": code, "stale 2": code})
    assert set(classcode.kept()) == used | {"stale 1", "stale 2"}  # a few others: kept for other commands
    monkeypatch.setattr(classcode, "_table", {text: code for text in used} | {f"stale {n}": code for n in range(9)})
    assert set(classcode.kept()) == used
