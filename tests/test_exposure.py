"""Exposure of published ports (X001-X003) and the Docker mistakes around them (D003, D004, D006)."""

import json
from pathlib import Path

import pytest

from iptlint.cli import main
from iptlint.linter import Settings, lint
from iptlint.policy.load import load_policy

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "docker-host.rules"
MOBY = ROOT.parent / "shared" / "corpus" / "real" / "moby-docker"


def findings(text: str, **options):
    return lint(text, "host.rules", Settings(check_options=options)).findings


def codes_at(text: str, **options) -> set[tuple[str, int]]:
    return {(f.code, f.span.line) for f in findings(text, **options)}


def test_the_example_says_everything_wrong_with_it():
    found = {(code, line) for code, line in codes_at(EXAMPLE.read_text()) if code[0] in "DX"}
    assert found == {("X001", 19), ("X003", 19), ("D006", 34), ("D003", 47), ("D004", 47)}


def test_fix_with_ctorigdstport_closes_the_port():
    text = EXAMPLE.read_text().replace(
        "-A DOCKER-USER -j RETURN\n-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP\n",
        "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP\n-A DOCKER-USER -j RETURN\n",
    )
    found = codes_at(text)
    assert ("X001", 19) not in found and ("D003", 46) not in found and ("D004", 46) not in found
    # Still reachable from interfaces other than eth0: not "any interface", but not closed either.


def test_insert_matching_the_host_port_does_not_close_it():
    text = EXAMPLE.read_text().replace(
        "-A DOCKER-USER -j RETURN\n-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP\n",
        "-A DOCKER-USER -p tcp -m tcp --dport 8080 -j DROP\n-A DOCKER-USER -j RETURN\n",
    )
    found = codes_at(text)
    assert ("X001", 19) in found and ("D004", 46) in found


def test_source_restriction_in_docker_user_limits_the_exposure():
    text = EXAMPLE.read_text().replace(
        "-A DOCKER-USER -j RETURN\n",
        "-A DOCKER-USER ! -s 10.0.0.0/8 -p tcp -m conntrack --ctorigdstport 8080 -j DROP\n-A DOCKER-USER -j RETURN\n",
    )
    assert not [f for f in findings(text) if f.code == "X001"]


def test_policy_allow_list(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("id: p\nexposure:\n  allow:\n    - {port: 8080/tcp, from: [10.0.0.0/8]}\n")
    found = [f for f in findings(EXAMPLE.read_text(), policies=(load_policy(policy),)) if f.code == "X001"]
    assert len(found) == 1 and found[0].severity.name == "WARNING"
    assert "more sources than the policy allows" in found[0].message and "0.0.0.0/5" in found[0].message
    policy.write_text("id: p\nexposure:\n  allow:\n    - {port: 8080/tcp, from: [0.0.0.0/0]}\n")
    assert not [f for f in findings(EXAMPLE.read_text(), policies=(load_policy(policy),)) if f.code == "X001"]


def _moby(name: str) -> str:
    path = MOBY / name
    if not path.exists():
        pytest.skip("../shared is missing")
    return path.read_text()


def test_loopback_binding_is_not_exposed():
    assert not [f for f in findings(_moby("v28.5.2__iptablesdoc__usernet-portmap-lo.rules")) if f.code[0] == "X"]


def test_dockers_own_ipset_is_known_from_its_bridges():
    found = {f.code for f in findings(_moby("v28.0.0__iptablesdoc__usernet-portmap.rules"))}
    assert "X001" in found and "X002" not in found


def test_a_user_ipset_makes_it_possible_until_its_members_are_given(tmp_path):
    text = EXAMPLE.read_text().replace(
        "-A DOCKER-USER -j RETURN\n",
        "-A DOCKER-USER -m set ! --match-set office src -j DROP\n-A DOCKER-USER -j RETURN\n",
    )
    assert "X002" in {f.code for f in findings(text)}
    from iptlint.semantics.ipset import parse_ipset_save

    ipsets = parse_ipset_save("create office hash:net family inet\nadd office 198.51.100.0/24\n")
    found = [f for f in findings(text, ipsets=ipsets) if f.code[0] == "X" and f.code != "X003"]
    assert [f.code for f in found] == []  # only the office reaches it: not exposed to every source


def test_direct_routing_only_before_28():
    assert "X003" in {f.code for f in findings(_moby("first-2024-10-10__iptablesdoc__usernet-portmap.rules"))}
    assert "X003" not in {f.code for f in findings(_moby("v28.5.2__iptablesdoc__usernet-portmap.rules"))}


def test_exposure_command(capsys):
    assert main(["exposure", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "*:8080/tcp" in out and "EXPOSED" in out and "0.0.0.0/0" in out
    assert main(["exposure", str(EXAMPLE), "--format", "json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["ports"]
    assert row["status"] == "exposed" and row["decided_by"].endswith(":41") and row["direct"]["reachable"]
