"""Baselines: recorded findings are ignored, matched by rule content, not line number."""

import json

from iptlint.cli import main

OLD = """*filter
:INPUT ACCEPT [10:200]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
"""


def test_write_then_check_with_baseline(tmp_path, capsys):
    dump = tmp_path / "rules.v4"
    dump.write_text(OLD)
    recorded = tmp_path / "baseline.json"
    assert main(["check", "--no-config", "--select", "S", "--fail-on", "info", str(dump)]) == 1
    assert main(["check", "--no-config", "--select", "S", "--write-baseline", str(recorded), str(dump)]) == 0
    assert "S205" in {entry["code"] for entry in json.loads(recorded.read_text())["findings"]}
    assert (
        main(["check", "--no-config", "--select", "S", "--fail-on", "info", "--baseline", str(recorded), str(dump)])
        == 0
    )

    # Rules inserted above and counters changed: the old finding is still the same finding.
    moved = OLD.replace("[10:200]", "[99:9999]").replace(
        "-A INPUT -p tcp", "-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp", 1
    )
    dump.write_text(moved)
    assert (
        main(["check", "--no-config", "--select", "S", "--fail-on", "info", "--baseline", str(recorded), str(dump)])
        == 0
    )

    # A new problem is reported.
    dump.write_text(moved.replace("COMMIT", "-A INPUT -i lo -j ACCEPT\nCOMMIT"))
    capsys.readouterr()
    assert (
        main(["check", "--no-config", "--select", "S", "--format", "concise", "--baseline", str(recorded), str(dump)])
        == 1
    )
    assert "S205" in capsys.readouterr().out


def test_a_bad_baseline_is_a_usage_error(tmp_path, capsys):
    dump = tmp_path / "rules.v4"
    dump.write_text(OLD)
    broken = tmp_path / "baseline.json"
    broken.write_text("{not json")
    assert main(["check", "--no-config", "--baseline", str(broken), str(dump)]) == 2
    assert "baseline.json:1:2" in capsys.readouterr().err
