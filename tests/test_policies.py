"""Policies: schema errors at file:line:col, extends, placeholders, and Docker's built-in layouts."""

from pathlib import Path

import pytest

from iptlint.cli import main
from iptlint.docker.model import read
from iptlint.linter import Settings, lint
from iptlint.policy.evaluate import Context, evaluate, meaning, pattern_rule
from iptlint.policy.load import PolicyError, builtin_paths, load_policy
from iptlint.syntax.ast import Family
from iptlint.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[1]
MOBY = ROOT.parent / "shared" / "corpus" / "real" / "moby-docker"
EXAMPLE = ROOT / "examples" / "docker-host.rules"


def codes(text: str, **options) -> list[str]:
    return [f.code for f in lint(text, "t.rules", Settings(check_options=options)).findings]


def test_schema_error_names_file_line_column_and_exits_2(tmp_path, capsys):
    policy = tmp_path / "bad.yaml"
    policy.write_text("id: bad\nexpect:\n  - code: P001\n    chain: filter/INPUT\n    polcy: DROP\n    message: m\n")
    assert main(["check", "--no-config", "--policy", str(policy), str(EXAMPLE)]) == 2
    err = capsys.readouterr().err
    assert f"{policy}:3:5: expect.0: unknown key ('polcy' was unexpected)" in err


def test_yaml_syntax_error_has_a_position(tmp_path):
    policy = tmp_path / "bad.yaml"
    policy.write_text("id: bad\nexpect: [\n")
    with pytest.raises(PolicyError, match=r"bad.yaml:3:1: invalid YAML"):
        load_policy(policy)


def test_bad_rule_pattern_is_reported_at_its_expectation(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "id: p\nexpect:\n  - code: P001\n    chain: filter/INPUT\n    contains: ['-p tcp --dport 99999']\n    message: m\n"
    )
    ruleset = parse(EXAMPLE.read_text(), str(EXAMPLE)).ruleset
    with pytest.raises(PolicyError, match=r"p.yaml:3:5: rule pattern"):
        list(evaluate([load_policy(policy)], Context(ruleset, read(ruleset))))


def test_patterns_compare_by_meaning():
    short = pattern_rule("filter", "DOCKER", "-d 192.0.2.2 -p tcp --dport 80 -j ACCEPT", Family.IPV4)
    long = pattern_rule(
        "filter", "DOCKER", "-d 192.0.2.2/32 -p tcp -m tcp --destination-port 80 -j ACCEPT", Family.IPV4
    )
    assert meaning(short) == meaning(long)


def test_extends_and_user_codes(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "id: base\nexpect:\n  - code: P001\n    chain: filter/INPUT\n    policy: DROP\n    message: INPUT must drop\n"
    )
    (tmp_path / "host.yaml").write_text(
        "id: host\nextends: [base.yaml]\nexpect:\n  - code: P002\n    chain: filter/DOCKER-USER\n"
        "    begins_with: ['-i eth0 -j DROP']\n    message: 'DOCKER-USER: {detail}'\n"
    )
    found = codes(EXAMPLE.read_text(), policies=(load_policy(tmp_path / "host.yaml"),))
    assert "P001" in found and "P002" in found


def test_for_each_bridge_binds_placeholders():
    text = EXAMPLE.read_text().replace("-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP\n", "")
    findings = [f for f in lint(text, "t.rules").findings if f.code == "D005"]
    assert len(findings) == 1 and "bridge docker0" in findings[0].message


def test_docker_off_and_forced_generation():
    text = EXAMPLE.read_text().replace("-A FORWARD -j DOCKER-USER\n", "")
    assert "D001" in codes(text)
    assert "D001" not in codes(text, docker="off")


def test_no_docker_no_docker_findings():
    text = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    assert not [c for c in codes(text) if c.startswith("D")]


def test_every_builtin_policy_loads():
    for policy_id, path in builtin_paths().items():
        assert load_policy(path).id == policy_id


def _layouts():
    if not MOBY.is_dir():
        return []
    return sorted(MOBY.glob("*iptablesdoc*.rules"))


@pytest.mark.parametrize("path", _layouts(), ids=lambda p: p.name)
def test_untouched_docker_layouts_get_no_docker_finding(path):
    """Every recorded layout of every generation has no layout (D) finding, but for one real exposure.

    (Exposure findings, X, say what is published: tests/test_exposure.py.)

    Moby recorded the pre-28 layouts (iptablesdoc, 2024-10) on a test host whose FORWARD
    policy was ACCEPT (../shared/docker/LAYOUTS.md §11).  Before engine 28 that leaves every
    container port open to routed neighbours, which D007 reports; it is the only finding.
    """
    result = lint(path.read_text(), str(path))
    docker = [f.code for f in result.findings if f.code[0] == "D"]
    ruleset = result.ruleset
    forward = ruleset.chain("filter", "FORWARD")
    if read(ruleset).generation in ("v17", "v18-27") and forward.policy == "ACCEPT":
        assert docker == ["D007"]
    else:
        assert docker == []


def test_packet_assertions_are_walked(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "id: p\nassert:\n"
        "  - name: ssh to containers is closed\n    code: P010\n"
        "    packet: {in: eth0, src: 203.0.113.50, dst: 172.17.0.2, proto: tcp, dport: 22, state: NEW}\n"
        "    verdict: DENY\n"
        "  - name: 8080 is closed\n    code: P011\n"
        "    packet: {in: eth0, src: 203.0.113.50, dst: 198.51.100.10, proto: tcp, dport: 8080, local: true}\n"
        "    verdict: DENY\n"
    )
    found = [
        f
        for f in lint(
            EXAMPLE.read_text(), "t.rules", Settings(check_options={"policies": (load_policy(policy),)})
        ).findings
        if f.code.startswith("P")
    ]
    assert [(f.code, f.span.line) for f in found] == [("P011", 41)]
    assert "gets ACCEPT (line 41), expected DENY" in found[0].message
