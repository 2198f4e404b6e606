"""`iptlint explain`, `iptlint counters` and R005 (rule-never-hit).

The seed (`../shared/seed/understanding-docker-network-through-iptables.txt`) walks a
Docker 20.10 host with `iptables -L -n -v --line-numbers` listings: the host before
`docker run -p 80:80 nginx` (full nat and filter listings), then excerpts after it.
Its listings are cut out of the post as `tests/test_formats.py` does; every rule the
post explains must get an explanation with the same meaning.  The expected meanings
are keywords written here from what the kernel does with each rule, not from our
own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_formats import SEED, seed_listings

from iptlint.checks import rule_never_hit
from iptlint.cli import main
from iptlint.explain import explain, human_count
from iptlint.explain.counters import counter_deltas, render_deltas
from iptlint.linter import Settings, lint
from iptlint.report.explain import render
from iptlint.syntax.formats import parse_input
from iptlint.syntax.parser import parse


@pytest.fixture(scope="module")
def blocks() -> list[str]:
    if not SEED.is_file():
        pytest.skip(f"seed not found at {SEED}")
    return [text for text, _line in seed_listings(SEED.read_text(encoding="utf-8"))]


def sentences(text: str) -> dict[tuple[str, str, int], str]:
    explanation = explain(text, "seed", "listing")
    return {(c.table, c.chain, r.index): r.sentence for c in explanation.chains for r in c.rules}


# (table, chain, rule number in the listing) -> words its explanation must hold
BEFORE_RUN = {
    ("nat", "PREROUTING", 1): ("DOCKER", "local address"),
    ("nat", "OUTPUT", 1): ("DOCKER", "127.0.0.0/8", "host"),
    ("nat", "POSTROUTING", 1): ("172.17.0.0/16", "docker0", "masquerade", "outgoing"),
    ("nat", "DOCKER", 1): ("docker0", "RETURN"),
    ("filter", "FORWARD", 1): ("DOCKER-USER", "first"),
    ("filter", "FORWARD", 2): ("isolation", "apart"),
    ("filter", "FORWARD", 3): ("ESTABLISHED", "docker0", "accepted"),
    ("filter", "FORWARD", 4): ("DOCKER", "docker0", "published"),
    ("filter", "FORWARD", 5): ("docker0", "other interfaces"),
    ("filter", "FORWARD", 6): ("docker0", "each other"),
    ("filter", "DOCKER-USER", 1): ("RETURN", "iptables -I DOCKER-USER", "above"),
    ("filter", "DOCKER-ISOLATION-STAGE-1", 1): ("docker0", "stage 2", "kept apart"),
    ("filter", "DOCKER-ISOLATION-STAGE-1", 2): ("RETURN", "back"),
    ("filter", "DOCKER-ISOLATION-STAGE-2", 1): ("docker0", "dropped", "kept apart"),
    ("filter", "DOCKER-ISOLATION-STAGE-2", 2): ("RETURN", "back"),
}
AFTER_RUN = {
    ("nat", "POSTROUTING", 1): ("hairpin", "MASQUERADE", "itself", "published port"),
    ("nat", "DOCKER", 1): ("DNAT", "172.17.0.2:80", "published", "tcp/80", "docker0"),
    ("filter", "DOCKER", 1): ("172.17.0.2", "tcp/80", "container port", "accepted"),
}


def _assert_meanings(found: dict, expected: dict) -> None:
    for key, words in expected.items():
        assert key in found, key
        for word in words:
            assert word.lower() in found[key].lower(), (key, word, found[key])


def test_seed_walkthrough_before_docker_run(blocks):
    _assert_meanings(sentences(blocks[2] + "\n" + blocks[3]), BEFORE_RUN)


def test_seed_walkthrough_after_docker_run(blocks):
    _assert_meanings(sentences(blocks[4] + "\n" + blocks[5]), AFTER_RUN)


def test_seed_order_policy_and_counters(blocks):
    explanation = explain(blocks[2] + "\n" + blocks[3], "seed", "listing")
    order = [(c.table, c.chain) for c in explanation.chains]
    assert order[:4] == [("nat", "PREROUTING"), ("nat", "INPUT"), ("filter", "INPUT"), ("filter", "FORWARD")]
    assert order.index(("filter", "DOCKER-USER")) < order.index(("filter", "DOCKER-ISOLATION-STAGE-1"))
    assert order.index(("filter", "DOCKER-ISOLATION-STAGE-1")) < order.index(("filter", "DOCKER-ISOLATION-STAGE-2"))
    forward = next(c for c in explanation.chains if c.chain == "FORWARD")
    assert forward.policy == "DROP" and "dropped" in forward.policy_note
    text = render("text", explanation)
    assert "14138 pkts 743K bytes" in text
    assert "PREROUTING 1: every packet to a local address goes through DOCKER" in text


def test_filters_and_formats(blocks):
    explanation = explain(blocks[2] + "\n" + blocks[3], "seed", "listing", chain="FORWARD")
    assert [(c.table, c.chain) for c in explanation.chains] == [("filter", "FORWARD")]
    explanation = explain(blocks[2] + "\n" + blocks[3], "seed", "listing", table="nat")
    assert {c.table for c in explanation.chains} == {"nat"}
    document = json.loads(render("json", explanation))
    assert document["chains"][0]["rules"][0]["counters"] == {"packets": 14138, "bytes": 743000}
    assert "| 1 | 14138 | 743K |" in render("markdown", explanation)


def test_findings_are_attached_to_their_rule():
    explanation = explain(_seed_dump(), "seed.rules", "save")
    dnat = next(c for c in explanation.chains if (c.table, c.chain) == ("nat", "DOCKER")).rules[1]
    assert any(f.startswith("X001") for f in dnat.findings)


def _seed_dump() -> str:
    return (Path(__file__).resolve().parent / "data" / "seed-equivalent.rules").read_text()


def test_generic_rules():
    text = """*filter
:INPUT DROP [10:600]
-A INPUT -s 10.0.0.0/8 -i eth0 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m comment --comment ssh -j ACCEPT
-A INPUT -p udp -j REJECT --reject-with icmp-port-unreachable
-A INPUT -j LOG --log-prefix "in: "
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i eth1 -j MARK --set-xmark 0x1/0xffffffff
COMMIT
"""
    explanation = explain(text, "t.rules", "save")
    found = {(c.table, c.chain, r.index): r.sentence for c in explanation.chains for r in c.rules}
    assert [(c.table, c.chain) for c in explanation.chains] == [("mangle", "PREROUTING"), ("filter", "INPUT")]
    first = found[("filter", "INPUT", 1)]
    for word in ("from 10.0.0.0/8", "arriving on eth0", "tcp", "port 22", "NEW", "accepted", "'ssh'"):
        assert word in first, (word, first)
    assert "rejected with icmp-port-unreachable" in found[("filter", "INPUT", 2)]
    assert "logged with prefix 'in: '" in found[("filter", "INPUT", 3)]
    assert "mark" in found[("mangle", "PREROUTING", 1)] and "0x1" in found[("mangle", "PREROUTING", 1)]
    policy = next(c for c in explanation.chains if c.chain == "INPUT")
    assert "has dropped 10 packets" in policy.policy_note


def test_human_count_like_iptables():
    assert [human_count(n) for n in (0, 99999, 100000, 743000, 12_345_678, 5_000_000_000)] == [
        "0",
        "99999",
        "100K",
        "743K",
        "12M",
        "5000M",
    ]


# ---------------------------------------------------------------------------------------
# counters: two snapshots of one ruleset
# ---------------------------------------------------------------------------------------

OLD = """*filter
:INPUT ACCEPT [100:8000]
:FORWARD DROP [0:0]
[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
[7:700] -A FORWARD -j ACCEPT
COMMIT
"""
NEW = """*filter
:INPUT ACCEPT [150:9000]
:FORWARD DROP [0:0]
[1:60] -A INPUT -p udp -m udp --dport 53 -j ACCEPT
[5:300] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
[12:900] -A INPUT -p tcp -m tcp --dport 80 -j ACCEPT
[7:700] -A FORWARD -j ACCEPT
COMMIT
"""


def test_counter_deltas_match_rules_by_content():
    deltas = counter_deltas(parse(OLD).ruleset, parse(NEW).ruleset)
    assert [(d.chain, d.index, d.packets, d.bytes, d.new) for d in deltas] == [
        ("INPUT", 1, 1, 60, True),
        ("INPUT", 3, 12, 900, False),
    ]
    table = render_deltas(deltas)
    assert "--dport 80" in table and "+12" in table and "--dport 22" not in table


def test_counters_on_the_seed_watch(blocks):
    """The seed's exercise: the nat listing before `docker run`, then after a client came."""
    old = parse_input(blocks[2], input_format="listing").ruleset
    new = parse_input(blocks[4], input_format="listing").ruleset
    deltas = counter_deltas(old, new)
    assert any(d.chain == "DOCKER" and d.packets == 136 and "DNAT" in d.rule for d in deltas)


def test_counters_cli(tmp_path, capsys):
    (tmp_path / "old").write_text(OLD)
    (tmp_path / "new").write_text(NEW)
    assert main(["counters", str(tmp_path / "old"), str(tmp_path / "new")]) == 0
    assert "+900" in capsys.readouterr().out


def test_explain_cli(tmp_path, capsys):
    (tmp_path / "seed.rules").write_text(_seed_dump())
    assert main(["explain", str(tmp_path / "seed.rules"), "--chain", "DOCKER-USER"]) == 0
    assert "iptables -I DOCKER-USER" in capsys.readouterr().out
    assert main(["explain", str(tmp_path / "seed.rules"), "--format", "json", "--table", "nat"]) == 0
    assert json.loads(capsys.readouterr().out)["chains"][0]["chain"] == "PREROUTING"


# ---------------------------------------------------------------------------------------
# R005 rule-never-hit
# ---------------------------------------------------------------------------------------


def _r005(text: str) -> list:
    return [f for f in lint(text, "t.rules", Settings()).findings if f.code == "R005"]


def test_r005_zero_rule_in_a_chain_with_traffic():
    found = _r005(OLD)
    assert [(f.chain, f.rule_index) for f in found] == [("INPUT", 2)]
    assert rule_never_hit.SEVERITY.name == "INFO"


def test_r005_quiet_without_counters_or_traffic():
    assert (
        _r005("*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -p tcp -j ACCEPT\n[0:0] -A INPUT -j DROP\nCOMMIT\n") == []
    )
    assert _r005("*filter\n:INPUT ACCEPT\n-A INPUT -p tcp -j ACCEPT\nCOMMIT\n") == []


def test_r005_leaves_never_matching_rules_to_r001_and_s207():
    text = """*filter
:INPUT ACCEPT [9:900]
[3:180] -A INPUT -p tcp -j ACCEPT
[0:0] -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
[4:400] -A INPUT -j DROP
[0:0] -A INPUT -p udp -j ACCEPT
COMMIT
"""
    assert _r005(text) == []


def test_r005_policy_counters_count_as_traffic():
    text = "*filter\n:INPUT DROP [5:300]\n[0:0] -A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n"
    assert [f.rule_index for f in _r005(text)] == [1]
