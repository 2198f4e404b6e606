"""The command line: exit codes 0/1/2, file discovery, stdin, config, and no traceback ever."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from iptlint.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLEAN = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
BROKEN = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT\nCOMMIT\n"


@pytest.fixture
def files(tmp_path):
    (tmp_path / "clean.rules").write_text(CLEAN)
    (tmp_path / "broken.v4").write_text(BROKEN)
    (tmp_path / "notes.txt").write_text("not a dump")
    return tmp_path


def run(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "iptlint", *args], capture_output=True, text=True, input=stdin, cwd=ROOT
    )


def test_exit_0_on_a_clean_file(files, capsys):
    assert main(["check", "--no-config", str(files / "clean.rules")]) == 0


def test_exit_1_on_findings_with_location(files, capsys):
    assert main(["check", "--no-config", "--format", "concise", str(files / "broken.v4")]) == 1
    out = capsys.readouterr().out
    assert f"{files / 'broken.v4'}:3:" in out and "S108" in out


def test_exit_zero_and_fail_on(files, capsys):
    assert main(["check", "--no-config", "--exit-zero", str(files / "broken.v4")]) == 0
    warning_only = files / "warn.rules"
    warning_only.write_text("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m quota2 --name q -j ACCEPT\nCOMMIT\n")
    assert main(["check", "--no-config", "--fail-on", "error", str(warning_only)]) == 0
    assert main(["check", "--no-config", "--fail-on", "warning", str(warning_only)]) == 1


def test_exit_2_on_usage_and_io_errors(files, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["check", "--format", "nonsense"])
    assert usage.value.code == 2
    assert main(["check", "--no-config", str(files / "missing.rules")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_one_bad_file_does_not_hide_the_others(files, capsys):
    code = main(["check", "--no-config", "--format", "concise", str(files / "missing.rules"), str(files)])
    captured = capsys.readouterr()
    assert code == 2
    assert "broken.v4:3:" in captured.out
    assert "missing.rules" in captured.err


def test_directories_are_searched_for_dumps_only(files, capsys):
    main(["check", "--no-config", "--format", "json", str(files)])
    paths = {f["path"] for f in json.loads(capsys.readouterr().out)}
    assert paths == {str(files / "broken.v4")}


def test_stdin_with_a_name():
    result = run("check", "--no-config", "--format", "concise", "-", "--stdin-filename", "host.rules", stdin=BROKEN)
    assert result.returncode == 1
    assert result.stdout.startswith("host.rules:3:")


def test_select_and_ignore(files, capsys):
    assert main(["check", "--no-config", "--ignore", "S1", str(files / "broken.v4")]) == 0
    assert main(["check", "--no-config", "--select", "S2", str(files / "broken.v4")]) == 0
    assert main(["check", "--no-config", "--select", "S2", "--extend-select", "S108", str(files / "broken.v4")]) == 1


def test_config_file_is_found_upwards_and_validated(files, capsys):
    nested = files / "hosts" / "web"
    nested.mkdir(parents=True)
    (nested / "rules.v4").write_text(BROKEN)
    (files / ".iptlint.yaml").write_text("ignore: [S108]\n")
    assert main(["check", str(nested / "rules.v4")]) == 0
    (files / ".iptlint.yaml").write_text("select: [S108]\nfail-on: sometimes\n")
    assert main(["check", str(nested / "rules.v4")]) == 2
    err = capsys.readouterr().err
    assert ".iptlint.yaml:2:1: key 'fail-on'" in err


def test_pyproject_config(files, capsys):
    (files / "pyproject.toml").write_text('[tool.iptlint]\nignore = ["S108"]\n')
    assert main(["check", str(files / "broken.v4")]) == 0
    (files / "pyproject.toml").write_text('[tool.iptlint]\nselct = ["S108"]\n')
    assert main(["check", str(files / "broken.v4")]) == 2
    assert "key 'tool.iptlint': unknown key" in capsys.readouterr().err


def test_rules_and_rule(capsys):
    assert main(["rules"]) == 0
    listing = capsys.readouterr().out
    assert "S108" in listing and "invalid-value" in listing
    assert main(["rule", "S108"]) == 0
    assert "## Why it matters" in capsys.readouterr().out
    assert main(["rule", "Z999"]) == 2


def test_parse_prints_the_ast_as_json():
    result = run("parse", "examples/docker-host.rules")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    nat = document["tables"][0]
    assert nat["name"] == "nat"
    dnat = nat["chains"][4]["rules"][1]
    assert dnat["target"]["name"] == "DNAT"
    assert dnat["target"]["options"][0]["value"]["ports"]["lo"] == 80


@pytest.mark.parametrize(
    "content",
    [b"\x00\x01\x02binary", b"\xff\xfe*filter\n", b"iptables -A INPUT -j DROP\n", b"", b"-A " + b"x" * 100000 + b"\n"],
    ids=["binary", "bad-utf8", "shell-script", "empty", "huge-line"],
)
def test_bad_input_never_gives_a_traceback(tmp_path, content):
    path = tmp_path / "weird.rules"
    path.write_bytes(content)
    result = run("check", "--no-config", str(path))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_shell_script_is_recognised(tmp_path, capsys):
    path = tmp_path / "firewall.rules"
    path.write_text("#!/bin/sh\niptables -A INPUT -p tcp --dport 22 -j ACCEPT\n")
    main(["check", "--no-config", "--format", "concise", str(path)])
    assert "S122" in capsys.readouterr().out


def test_counters_from_shows_the_rules_traffic_hit(tmp_path, capsys):
    old = "*filter\n:INPUT DROP [10:1000]\n[5:500] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
    old += "[0:0] -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT\nCOMMIT\n"
    (tmp_path / "old.rules").write_text(old)
    (tmp_path / "new.rules").write_text(old.replace("[0:0] -A INPUT", "[7:420] -A INPUT"))
    main(["check", "--no-config", "--counters-from", str(tmp_path / "old.rules"), str(tmp_path / "new.rules")])
    out = capsys.readouterr().out
    assert "+7" in out and "+420" in out and "--dport 80" in out
    assert "--dport 22" not in out.split("since")[1]


@pytest.mark.parametrize("command", ["check", "exposure", "report", "graph", "trace", "diff"])
def test_local_address_is_checked_when_read(command, capsys):
    example = str(ROOT / "examples" / "docker-host.rules")
    paths = [example, example] if command == "diff" else [example]
    assert main([command, *paths, "--local-address", "nope"]) == 2
    err = capsys.readouterr().err
    assert err == "iptlint: --local-address: local address 'nope' is not ADDR[/PREFIX][@IFACE]\n"
    code = main([command, *paths, "--local-address", "203.0.113.10/24@eth0"])
    assert code in (0, 1)
    assert "Traceback" not in capsys.readouterr().err
