"""iptlint's cache (iptlint/cache.py) never changes a result: cold, warm and --no-cache runs print
the same bytes, a corrupt or foreign entry is ignored and written anew, and an edited
configuration file is validated again.  Its speed is measured by benchmarks/startup.py."""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
from pathlib import Path

import pytest

from iptlint import cache
from iptlint.policy import load
from iptlint.syntax import grammar

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "docker-host.rules"
# Errors on purpose: an unknown table, a bad value, a line lark rejects, a chain line of an unusual shape.
BROKEN = (
    "*filter\n:INPUT DROP [0:0]\n:FORWARD  ACCEPT [0:0]\n-A INPUT -p tcp --dport 70000 -j ACCEPT\n"
    '-A INPUT -m comment --comment "open -j ACCEPT\n-A INPUT ! ! -s 10.0.0.1 -j DROP\nCOMMIT\n*filtr\nCOMMIT\n'
)
IPV6 = "*filter\n:INPUT DROP [0:0]\n-A INPUT -s 2001:db8::/32 -p ipv6-icmp -j ACCEPT\n-A INPUT -j DROP\nCOMMIT\n"


def iptlint(cache_dir: Path, *args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python -m iptlint ARGS` in a fresh process whose cache is `cache_dir`."""
    env = {**os.environ, "IPTLINT_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    env.pop("IPTLINT_NO_CACHE", None)
    return subprocess.run([sys.executable, "-m", "iptlint", *args], capture_output=True, env=env, cwd=cwd, check=False)


@pytest.fixture
def dumps(tmp_path) -> list[Path]:
    (tmp_path / "broken.rules").write_text(BROKEN)
    (tmp_path / "v6.rules").write_text(IPV6)
    return [EXAMPLE, tmp_path / "broken.rules", tmp_path / "v6.rules"]


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.marshal"))


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_cold_warm_and_no_cache_runs_print_the_same_bytes(tmp_path, dumps, output_format):
    cache_dir = tmp_path / "cache"
    args = ("check", "--no-config", "--format", output_format, *map(str, dumps))
    cold = iptlint(cache_dir, *args)
    assert cold.returncode == 1, cold.stderr
    assert {p.name.split("-")[0] for p in entries(cache_dir)} == {"classcode", "grammar", "policies"}
    warm = iptlint(cache_dir, *args)
    uncached = iptlint(tmp_path / "unused", *args, "--no-cache")
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert (uncached.returncode, uncached.stdout, uncached.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    assert b"S102" in cold.stdout and b"S104" in cold.stdout and b"X001" in cold.stdout
    assert not (tmp_path / "unused").exists() or not any((tmp_path / "unused").iterdir())


def test_a_corrupt_entry_is_ignored_and_written_anew(tmp_path):
    cache_dir = tmp_path / "cache"
    first = iptlint(cache_dir, "check", "--no-config", str(EXAMPLE))
    written = entries(cache_dir)
    assert [path.name.split("-")[0] for path in written] == ["classcode", "grammar", "policies"]
    good = [marshal.loads(path.read_bytes()) for path in written]
    # unreadable; readable but foreign; a table of text -> code holding no code
    garbage = (b"\x00garbage", marshal.dumps(["not", "an", "entry"]), marshal.dumps({"def f(): pass": "not code"}))
    for path, bad in zip(written, garbage, strict=True):
        path.write_bytes(bad)
    again = iptlint(cache_dir, "check", "--no-config", str(EXAMPLE))
    assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, first.stderr)
    assert entries(cache_dir) == written
    assert [marshal.loads(path.read_bytes()) for path in written] == good  # rewritten whole


def test_a_warm_run_of_known_shapes_never_imports_lark(tmp_path):
    cache_dir = tmp_path / "cache"
    iptlint(cache_dir, "check", "--no-config", str(EXAMPLE))
    probe = (
        "import sys; from iptlint.cli import main; code = main(['check', '--no-config', sys.argv[1]]); "
        "print('lark' in sys.modules, 'jsonschema' in sys.modules, 'yaml' in sys.modules, file=sys.stderr)"
    )
    env = {**os.environ, "IPTLINT_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", probe, str(EXAMPLE)], capture_output=True, text=True, env=env, cwd=ROOT, check=False
    )
    assert done.stderr.split() == ["False", "False", "False"]


def test_an_unusable_cache_directory_changes_nothing(tmp_path):
    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("")
    blocked = iptlint(not_a_directory / "cache", "check", "--no-config", str(EXAMPLE))
    normal = iptlint(tmp_path / "cache", "check", "--no-config", str(EXAMPLE))
    assert (blocked.returncode, blocked.stdout, blocked.stderr) == (normal.returncode, normal.stdout, normal.stderr)


def test_an_edited_configuration_is_validated_again(tmp_path):
    cache_dir = tmp_path / "cache"
    dump = tmp_path / "host.rules"
    dump.write_text(EXAMPLE.read_text())
    config = tmp_path / ".iptlint.yaml"
    config.write_text("ignore: [X001]\n")
    valid = iptlint(cache_dir, "check", str(dump), cwd=tmp_path)
    assert valid.returncode == 1 and b"X001" not in valid.stdout and b"X003" in valid.stdout
    assert iptlint(cache_dir, "check", str(dump), cwd=tmp_path).stdout == valid.stdout  # from the cache
    config.write_text("ignore: [X001]\nselcet: [S1]\n")
    invalid = iptlint(cache_dir, "check", str(dump), cwd=tmp_path)
    assert invalid.returncode == 2
    assert b".iptlint.yaml:1:1: key '(top level)': unknown key ('selcet' was unexpected)" in invalid.stderr
    assert len(list(cache_dir.glob("config-*.marshal"))) == 1


def test_builtin_policies_from_the_cache_equal_those_read_from_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("IPTLINT_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("IPTLINT_NO_CACHE", raising=False)
    load.builtin_policies.cache_clear()
    try:
        from_yaml = load.builtin_policies()
        assert len(entries(tmp_path)) == 1
        load.builtin_policies.cache_clear()
        from_cache = load.builtin_policies()
    finally:
        load.builtin_policies.cache_clear()
    assert from_cache == from_yaml and list(from_cache) == list(from_yaml)
    assert all(load._decode(load._encode(policy)) == policy for policy in from_yaml.values())


def test_plans_survive_their_encoding():
    grammar.parser()  # makes sure some shapes are known in this process
    from iptlint.syntax.parser import parse

    parse("*filter\n-A INPUT ! -s 10.0.0.0/8 -p tcp -m multiport --dports 1,2 -j LOG --log-prefix x\nCOMMIT\n")
    plans = [(len(shape), plan) for shape, plan in grammar._plans.items() if isinstance(plan, grammar.Plan)]
    assert plans
    for words, plan in plans:
        assert grammar._plan_of(marshal.loads(marshal.dumps(grammar._row_of(plan))), words) == plan
        with pytest.raises(ValueError):
            grammar._plan_of(grammar._row_of(plan), 0)  # indices beyond the line: a damaged entry


def test_a_damaged_but_readable_grammar_entry_is_relearned(tmp_path):
    cache_dir = tmp_path / "cache"
    first = iptlint(cache_dir, "check", "--no-config", str(EXAMPLE))
    [entry] = cache_dir.glob("grammar-*.marshal")
    terminals, lines, rows = marshal.loads(entry.read_bytes())
    damaged = (
        dict.fromkeys(terminals, "("),  # not a regular expression
        [(start, text, (1, 2)) for start, text, _ in lines],  # words that are not text
        {shape: (None, "append", (99,), ()) for shape in rows},  # a word past the end of the line
    )
    for entry_value in (damaged, (terminals, lines, {shape: (None, "append", (99,), ()) for shape in rows})):
        entry.write_bytes(marshal.dumps(entry_value))
        again = iptlint(cache_dir, "check", "--no-config", str(EXAMPLE))
        assert (again.returncode, again.stdout, again.stderr) == (first.returncode, first.stdout, first.stderr)


def test_keys_change_with_every_part():
    assert cache.key("a", "b") != cache.key("ab")
    assert cache.key("a", "b") != cache.key("b", "a")
    assert cache.key(b"x") == cache.key("x")
