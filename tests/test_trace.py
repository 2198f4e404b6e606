"""The concrete walk (`iptlint.semantics.walk`) and `iptlint trace`.

The main example is `examples/nginx-published.rules`, a Docker 20.10 host publishing
nginx with `-p 80:80` on 172.17.0.2: a client on eth0 connecting to the host's port 80
goes nat PREROUTING -> DOCKER (DNAT to 172.17.0.2:80) -> filter FORWARD -> DOCKER-USER
-> DOCKER-ISOLATION-STAGE-1 -> DOCKER ACCEPT -> nat POSTROUTING.  docs/trace.md shows
the same commands; `test_docs_show_the_real_output` keeps it honest.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptlint.cli import main
from iptlint.report.trace import render_json, render_text
from iptlint.semantics.walk import LocalAddress, Trace, packet_from_words, walk
from iptlint.syntax.ast import Family, Rule, Ruleset
from iptlint.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "examples/nginx-published.rules"
HOST = "203.0.113.10"
CLIENT = {"in_iface": "eth0", "src": "198.51.100.7", "sport": 40000, "dst": HOST, "proto": 6, "dport": 80}


def load(path: str = EXAMPLE) -> Ruleset:
    return parse((ROOT / path).read_text(), path).ruleset


def dump(text: str, path: str = "test.rules") -> Ruleset:
    result = parse(text, path, Family.IPV4)
    assert result.ok, [f.message for f in result.findings]
    return result.ruleset


def rule_at(ruleset: Ruleset, text: str) -> Rule:
    """The rule whose source is exactly `text`."""
    found = [rule for rule in ruleset.rules if rule.source_text == text]
    assert len(found) == 1, text
    return found[0]


def visited_chains(trace: Trace) -> list[str]:
    """`table CHAIN` of each counted rule step, consecutive repeats collapsed."""
    chains: list[str] = []
    for step in trace.steps:
        if step.kind == "rule" and step.counted:
            name = f"{step.table} {step.chain}"
            if not chains or chains[-1] != name:
                chains.append(name)
    return chains


# ---------------------------------------------------------------------------------------
# The published nginx
# ---------------------------------------------------------------------------------------


def test_new_connection_to_the_published_port_is_accepted_by_docker():
    ruleset = load()
    trace = walk(ruleset, CLIENT, local_addresses=[HOST])
    assert trace.verdict == "ACCEPT"
    assert trace.arrived_at == "forwarded"
    accept = rule_at(ruleset, "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT")
    assert trace.decided_by == accept
    assert visited_chains(trace) == [
        "nat PREROUTING",
        "nat DOCKER",
        "filter FORWARD",
        "filter DOCKER-USER",
        "filter FORWARD",
        "filter DOCKER-ISOLATION-STAGE-1",
        "filter FORWARD",
        "filter DOCKER",
        "nat POSTROUTING",
    ]
    assert trace.steps[-1].kind == "policy" and trace.steps[-1].chain == "POSTROUTING"


def test_dnat_happens_before_forward_and_conntrack_keeps_the_original():
    ruleset = load()
    trace = walk(ruleset, CLIENT, local_addresses=[HOST])
    dnat = rule_at(ruleset, "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.17.0.2:80")
    assert [(r.field, r.before, r.after) for r in trace.rewrites if r.rule == dnat and r.field == "dst"] == [
        ("dst", HOST, "172.17.0.2")
    ]
    forward = [s for s in trace.steps if s.hook == "FORWARD"]
    assert forward and all(s.kind != "rule" or s.rule.table == "filter" for s in forward)
    final = trace.final_packet
    assert (final["dst"], final["dport"], final["out_iface"]) == ("172.17.0.2", 80, "docker0")
    assert (final["ct_orig_dst"], final["ct_orig_dport"], final["ct_dnat"]) == (HOST, 80, True)


def test_the_host_address_drop_in_docker_user_never_matches():
    ruleset = load()
    trace = walk(ruleset, CLIENT, local_addresses=[HOST])
    drop = rule_at(ruleset, "-A DOCKER-USER -d 203.0.113.10/32 -p tcp -m tcp --dport 80 -j DROP")
    (step,) = [s for s in trace.steps if s.rule == drop]
    assert step.matched is False
    assert drop not in trace.matched


def test_matched_lists_every_rule_whose_counter_grows_in_order():
    ruleset = load()
    trace = walk(ruleset, CLIENT, local_addresses=[HOST])
    assert [rule.line for rule in trace.matched] == [17, 22, 38, 50, 39, 46, 41, 44]


def test_established_packets_take_the_forward_conntrack_accept():
    ruleset = load()
    trace = walk(ruleset, {**CLIENT, "ct_state": "ESTABLISHED"}, local_addresses=[HOST])
    assert trace.verdict == "ACCEPT"
    accept = rule_at(ruleset, "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    assert trace.decided_by == accept
    assert trace.final_packet["dst"] == "172.17.0.2"  # the connection's DNAT, without the nat chains
    assert all(rule.table == "filter" for rule in trace.matched)
    assert not [s for s in trace.steps if s.table == "nat" and s.kind == "rule"]  # nat is not traversed
    dnat = rule_at(ruleset, "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 80 -j DNAT --to-destination 172.17.0.2:80")
    skip = next(s for s in trace.steps if s.kind == "skip" and s.hook == "PREROUTING")
    assert "the connection's NAT from its first packet: DNAT --to-destination 172.17.0.2:80 (line 22)" in skip.action
    assert trace.connection is not None and trace.connection.at("PREROUTING").rule == dnat
    assert trace.input_packet["ct_dnat"] is True  # --ctstate DNAT holds from the start


def test_a_port_docker_did_not_publish_is_dropped_by_the_forward_policy():
    ruleset = load()
    trace = walk(ruleset, {**CLIENT, "dst": "172.17.0.2", "dport": 22}, local_addresses=[HOST])
    assert trace.verdict == "DROP"
    assert trace.arrived_at == "forwarded"
    assert trace.decided_by is None
    assert trace.decision is not None
    assert (trace.decision.kind, trace.decision.table, trace.decision.chain) == ("policy", "filter", "FORWARD")


def test_an_unpublished_host_port_goes_to_input():
    ruleset = load()
    trace = walk(ruleset, {**CLIENT, "dport": 8080}, local_addresses=[HOST])
    assert trace.arrived_at == "local"
    assert (trace.verdict, trace.decision.chain) == ("DROP", "INPUT")
    ssh = walk(ruleset, {**CLIENT, "dport": 22}, local_addresses=[HOST])
    assert ssh.verdict == "ACCEPT"
    assert ssh.decided_by == rule_at(ruleset, "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")


def test_local_output_to_the_published_port():
    ruleset = load()
    trace = walk(ruleset, {"dst": HOST, "proto": 6, "dport": 80}, local_addresses=[HOST])
    assert trace.origin == "output"
    assert trace.arrived_at is None
    assert trace.verdict == "ACCEPT"
    hooks = [s.hook for s in trace.steps]
    assert hooks.index("OUTPUT") < hooks.index("POSTROUTING")
    assert trace.final_packet["dst"] == "172.17.0.2"
    assert trace.final_packet["out_iface"] == "docker0"


def test_without_local_addresses_the_docker_jump_is_undetermined():
    trace = walk(load(), CLIENT)
    assert trace.verdict == "UNKNOWN"
    assert trace.undetermined is not None
    assert "addrtype" in trace.undetermined.unknown
    assert "--local-address" in trace.reason


def test_dst_local_given_without_addresses():
    trace = walk(load(), {**CLIENT, "dst_local": True})
    assert trace.verdict == "ACCEPT"
    assert trace.final_packet["dst_local"] is False  # 172.17.0.2: a container, from the MASQUERADE rule


def test_container_to_the_internet_is_masqueraded():
    ruleset = load()
    packet = {"in_iface": "docker0", "src": "172.17.0.2", "dst": "8.8.8.8", "proto": 17, "dport": 53}
    trace = walk(ruleset, packet, local_addresses=[HOST])
    assert trace.verdict == "ACCEPT"
    assert trace.decided_by == rule_at(ruleset, "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT")
    assert any(r.field == "src" and "address of" in str(r.after) for r in trace.rewrites)
    assert "src" not in trace.final_packet  # the out interface's address: unknown


# ---------------------------------------------------------------------------------------
# Docker's port-mapping pitfall: DNAT changed the port before DOCKER-USER
# ---------------------------------------------------------------------------------------

PUBLISHED_8080 = """\
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP
{fix}-A DOCKER-USER -j RETURN
COMMIT
"""


def test_the_host_port_drop_never_matches_because_dnat_changed_the_port():
    ruleset = dump(PUBLISHED_8080.format(fix=""))
    trace = walk(ruleset, {**CLIENT, "dport": 8080}, local_addresses=[HOST])
    drop = rule_at(ruleset, "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP")
    assert [s.matched for s in trace.steps if s.rule == drop] == [False]
    assert trace.verdict == "ACCEPT"


def test_ctorigdstport_sees_the_port_before_dnat():
    fix = "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP\n"
    ruleset = dump(PUBLISHED_8080.format(fix=fix))
    trace = walk(ruleset, {**CLIENT, "dport": 8080}, local_addresses=[HOST])
    assert trace.verdict == "DROP"
    assert trace.decided_by == rule_at(ruleset, fix.strip())


# ---------------------------------------------------------------------------------------
# Chains: jumps, gotos, returns, policies, targets
# ---------------------------------------------------------------------------------------

GOTO = """\
*filter
:INPUT DROP [0:0]
:A - [0:0]
:B - [0:0]
-A INPUT -p tcp -m tcp --dport 1 -g B
-A INPUT -j A
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A A -g B
-A A -j ACCEPT
-A B -p tcp -m tcp --dport 80 -j RETURN
-A B -j LOG --log-prefix "in B "
COMMIT
"""

LOCAL = {"in_iface": "eth0", "src": "192.0.2.1", "dst": "192.0.2.2", "proto": 6, "dst_local": True}


def test_goto_returns_to_the_caller_of_the_chain_that_went():
    ruleset = dump(GOTO)
    trace = walk(ruleset, {**LOCAL, "dport": 22})
    assert trace.verdict == "ACCEPT"
    assert trace.decided_by == rule_at(ruleset, "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT")
    never = rule_at(ruleset, "-A A -j ACCEPT")
    assert never not in [s.rule for s in trace.steps]
    returns = [s.action for s in trace.steps if s.kind == "return"]
    assert returns == ["end of B, back to INPUT"]


def test_return_from_a_goto_chain_goes_back_past_it():
    trace = walk(dump(GOTO), {**LOCAL, "dport": 80})
    assert trace.verdict == "DROP"  # B returns to INPUT, whose --dport 22 rule does not match
    assert trace.decision.kind == "policy"


def test_goto_from_a_builtin_chain_ends_in_its_policy():
    trace = walk(dump(GOTO), {**LOCAL, "dport": 1})
    assert trace.verdict == "DROP"
    assert trace.decision.kind == "policy"
    assert [s.rule.line for s in trace.steps if s.kind == "rule"] == [5, 10, 11]  # B, then the policy


def test_log_goes_on_and_return_from_a_builtin_chain_applies_the_policy():
    ruleset = dump("*filter\n:INPUT DROP [0:0]\n-A INPUT -j LOG\n-A INPUT -j RETURN\n-A INPUT -j ACCEPT\nCOMMIT\n")
    trace = walk(ruleset, {**LOCAL, "dport": 5})
    assert trace.verdict == "DROP"
    assert [rule.line for rule in trace.matched] == [3, 4]


def test_missing_tables_and_chains_accept():
    trace = walk(dump("*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"), {**LOCAL, "dport": 5})
    assert trace.verdict == "ACCEPT"
    assert trace.decided_by is None


def test_reject_and_mark():
    text = """\
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -j MARK --set-xmark 0x4/0xff
COMMIT
*filter
:INPUT ACCEPT [0:0]
-A INPUT -m mark --mark 0x4/0x4 -p tcp -j REJECT --reject-with tcp-reset
COMMIT
"""
    trace = walk(dump(text), {**LOCAL, "dport": 5})
    assert trace.verdict == "REJECT"
    assert trace.final_packet["mark"] == 4
    assert [r.field for r in trace.rewrites] == ["mark"]


def test_connmark_save_and_restore():
    text = """\
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
-A PREROUTING -j CONNMARK --set-xmark 0x7/0xffffffff
-A PREROUTING -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
-A INPUT -m connmark --mark 0x7 -j DROP
COMMIT
"""
    trace = walk(dump(text), {**LOCAL, "dport": 5})
    assert (trace.final_packet["ct_mark"], trace.final_packet["mark"]) == (7, 7)
    assert trace.verdict == "DROP"


def test_notrack_skips_nat():
    text = """\
*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -j CT --notrack
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -j DNAT --to-destination 192.0.2.9
COMMIT
"""
    trace = walk(dump(text), {**LOCAL, "dport": 5})
    assert trace.final_packet["ct_state"] == "UNTRACKED"
    assert trace.final_packet["dst"] == "192.0.2.2"
    assert any(s.kind == "skip" and s.table == "nat" for s in trace.steps)


def test_an_unmodelled_match_makes_the_trace_undetermined_and_says_which():
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m limit --limit 3/min -j DROP\nCOMMIT\n"
    trace = walk(dump(text), {**LOCAL, "dport": 5})
    assert trace.verdict == "UNKNOWN"
    assert trace.undetermined is not None and trace.undetermined.unknown.startswith("-m limit")
    assert trace.decided_by.line == 3


def test_a_failing_condition_decides_even_after_an_unknown_one():
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -m limit --limit 3/min -p udp -j DROP\nCOMMIT\n"
    trace = walk(dump(text), {**LOCAL, "dport": 5})
    assert trace.verdict == "ACCEPT"  # a TCP packet: -p udp fails whatever limit says


def test_terminal_targets_iptlint_does_not_follow_end_as_unknown():
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j NFQUEUE --queue-num 1\nCOMMIT\n"
    trace = walk(dump(text), {**LOCAL, "dport": 5})
    assert trace.verdict == "UNKNOWN"
    assert "NFQUEUE" in trace.reason


def test_redirect_makes_the_packet_local():
    text = """\
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -i eth0 -p tcp -m tcp --dport 80 -j REDIRECT --to-ports 3128
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A INPUT -p tcp -m tcp --dport 3128 -j ACCEPT
COMMIT
"""
    trace = walk(dump(text), {**LOCAL, "dst": "198.51.100.1", "dst_local": False, "dport": 80})
    assert trace.arrived_at == "local"
    assert trace.verdict == "ACCEPT"
    assert trace.final_packet["dport"] == 3128


def test_bad_packets_raise_value_error():
    with pytest.raises(ValueError):
        walk(load(), {"colour": "red"})
    with pytest.raises(ValueError):
        walk(load(), {"dport": 70000})
    with pytest.raises(ValueError):
        walk(load(), CLIENT, local_addresses=["2001:db8::1"])


def test_packet_from_words():
    packet = packet_from_words({"in": "eth0", "dport": "http", "state": "established", "mark": "0x10"}, Family.IPV4)
    assert packet == {"in_iface": "eth0", "dport": 80, "ct_state": "ESTABLISHED", "mark": 16, "proto": 6}
    for bad in ({"src": "::1"}, {"dport": "70000"}, {"state": "OPEN"}, {"in": "eth+"}, {"dst_local": "maybe"}):
        with pytest.raises(ValueError):
            packet_from_words(bad, Family.IPV4)


def test_ipv6_walk():
    text = """\
*filter
:INPUT DROP [0:0]
-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type echo-request -j ACCEPT
COMMIT
"""
    ruleset = parse(text, "v6.rules", Family.IPV6).ruleset
    packet = {"in_iface": "eth0", "src": "2001:db8::1", "dst": "2001:db8::2", "proto": 58, "icmp_type": 128}
    trace = walk(ruleset, packet, local_addresses=["2001:db8::2"])
    assert (trace.verdict, trace.arrived_at) == ("ACCEPT", "local")


# ---------------------------------------------------------------------------------------
# Renderers and the command line
# ---------------------------------------------------------------------------------------


def test_text_names_every_rule_by_file_and_line():
    trace = walk(load(), CLIENT, local_addresses=[HOST])
    text = render_text(trace)
    for step in trace.steps:
        if step.rule is not None:
            assert f"{EXAMPLE}:{step.rule.line}" in text
    assert "dst 203.0.113.10 -> 172.17.0.2" in text
    assert f"Verdict: ACCEPT, by {EXAMPLE}:44 (filter DOCKER)" in text
    assert text.endswith("\n")


def test_json_names_rules_by_file_and_line():
    trace = walk(load(), CLIENT, local_addresses=[HOST])
    data = json.loads(render_json(trace))
    assert data["verdict"] == "ACCEPT"
    assert data["decided_by"] == f"{EXAMPLE}:44"
    assert data["arrived_at"] == "forwarded"
    assert data["matched"] == [f"{EXAMPLE}:{line}" for line in (17, 22, 38, 50, 39, 46, 41, 44)]
    rules = [step["rule"] for step in data["steps"] if step["kind"] == "rule"]
    assert all(re.fullmatch(re.escape(EXAMPLE) + r":\d+", rule) for rule in rules)
    (dnat,) = [r for r in data["rewrites"] if r["field"] == "dst"]
    assert dnat == {"hook": "PREROUTING", "table": "nat", "chain": "DOCKER", "rule": f"{EXAMPLE}:22",
                    "field": "dst", "before": HOST, "after": "172.17.0.2"}  # fmt: skip


def test_cli_trace(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["trace", EXAMPLE, "--in", "eth0", "--src", "198.51.100.7", "--dst", HOST, "--dport", "80"]
    assert main([*args, "--local-address", HOST]) == 0
    assert "Verdict: ACCEPT" in capsys.readouterr().out
    assert main([*args, "--local-address", HOST, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["decided_by"] == f"{EXAMPLE}:44"


@pytest.mark.parametrize(
    "extra",
    [
        ["--dport", "70000"],
        ["--src", "2001:db8::1"],
        ["--state", "OPEN"],
        ["--local-address", "nope"],
        ["--local-address", "10.0.0.1/33"],
        ["--local-address", "10.0.0.1/24@eth+"],
        ["--local-address", "10.0.0.1/24@"],
        ["--mark", "x"],
    ],
)
def test_cli_trace_bad_arguments_exit_2_with_one_line(capsys, monkeypatch, extra):
    monkeypatch.chdir(ROOT)
    assert main(["trace", EXAMPLE, "--in", "eth0", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("iptlint: ") and err.count("\n") == 1


def test_cli_trace_local_address_with_prefix_and_interface(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["trace", EXAMPLE, "--in", "eth0", "--src", "198.51.100.7", "--dst", HOST, "--dport", "80"]
    assert main([*args, "--local-address", f"{HOST}/24@eth0", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["decided_by"] == f"{EXAMPLE}:44"


def test_cli_trace_unreadable_file(capsys):
    assert main(["trace", "/nonexistent/dump.rules"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_docs_show_the_real_output(capsys, monkeypatch):
    """Every `$ iptlint trace ...` block of docs/trace.md is followed by what the command prints."""
    monkeypatch.chdir(ROOT)
    doc = (ROOT / "docs" / "trace.md").read_text()
    blocks = re.findall(r"```console\n\$ (iptlint trace (?:[^\n]*\\\n)*[^\n]*)\n(.*?)```", doc, re.S)
    assert len(blocks) >= 2
    for command, shown in blocks:
        words = shlex.split(command.replace("\\\n", " "))
        assert main(words[1:]) == 0
        assert capsys.readouterr().out == shown, command


# ---------------------------------------------------------------------------------------
# Chain semantics against a second, recursive interpreter
# ---------------------------------------------------------------------------------------

CONDITIONS = ("", "-p tcp", "-p udp", "-p tcp -m tcp --dport 1", "-p tcp -m tcp ! --dport 1", "-s 10.0.0.0/31")
TARGETS = ("ACCEPT", "DROP", "RETURN", "LOG", "", "jump", "goto")


def _condition_holds(condition: str, pkt: dict) -> bool:
    return {
        "": True,
        "-p tcp": pkt["proto"] == 6,
        "-p udp": pkt["proto"] == 17,
        "-p tcp -m tcp --dport 1": pkt["proto"] == 6 and pkt["dport"] == 1,
        "-p tcp -m tcp ! --dport 1": pkt["proto"] == 6 and pkt["dport"] != 1,
        "-s 10.0.0.0/31": pkt["src"] in ("10.0.0.0", "10.0.0.1"),
    }[condition]


def _interpret(chains: dict[str, list[tuple[str, str, int]]], policy: str, pkt: dict) -> tuple[str, list[int]]:
    """A recursive reading of the kernel's rules: jump = call, goto = tail call, RETURN/end = return."""
    matched: list[int] = []

    def run(name: str) -> str | None:
        for condition, target, line in chains[name]:
            if not _condition_holds(condition, pkt):
                continue
            matched.append(line)
            if target in ("ACCEPT", "DROP"):
                return target
            if target == "RETURN":
                return None
            if target.startswith(("-j ", "-g ")):
                verdict = run(target[3:])
                if verdict is not None:
                    return verdict
                if target.startswith("-g "):
                    return None  # the goto'd chain returned: so does this one, to its caller
        return None

    return run("INPUT") or policy, matched


@st.composite
def small_rulesets(draw) -> tuple[str, dict[str, list[tuple[str, str, int]]], str]:
    names = ["INPUT", "C1", "C2", "C3"]
    policy = draw(st.sampled_from(["ACCEPT", "DROP"]))
    lines = ["*filter", f":INPUT {policy} [0:0]", ":C1 - [0:0]", ":C2 - [0:0]", ":C3 - [0:0]"]
    chains: dict[str, list[tuple[str, str, int]]] = {name: [] for name in names}
    for index, name in enumerate(names):
        later = names[index + 1 :]
        for _ in range(draw(st.integers(0, 4))):
            condition = draw(st.sampled_from(CONDITIONS))
            target = draw(st.sampled_from(TARGETS if later else TARGETS[:5]))
            if target in ("jump", "goto"):
                word = "-j " if target == "jump" else "-g "
                target = word + draw(st.sampled_from(later))
                written = target
            else:
                written = f"-j {target}" if target else ""
            lines.append(" ".join(part for part in (f"-A {name}", condition, written) if part))
            chains[name].append((condition, target, len(lines)))
    lines.append("COMMIT")
    return "\n".join(lines) + "\n", chains, policy


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    small_rulesets(),
    st.sampled_from([6, 17]),
    st.sampled_from([1, 2]),
    st.sampled_from(["10.0.0.1", "10.0.0.5"]),
)
def test_walk_agrees_with_a_recursive_interpreter(ruleset, proto, dport, src):
    text, chains, policy = ruleset
    pkt = {"in_iface": "eth0", "src": src, "dst": "192.0.2.2", "proto": proto, "dport": dport, "dst_local": True}
    expected_verdict, expected_matched = _interpret(chains, policy, pkt)
    trace = walk(dump(text), pkt)
    assert (trace.verdict, [rule.line for rule in trace.matched]) == (expected_verdict, expected_matched), text


def test_counters_are_shown_next_to_each_rule():
    from iptlint.report.trace import render_json, render_text
    from iptlint.semantics.walk import walk
    from iptlint.syntax.parser import parse

    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -c 7 420 -j ACCEPT\nCOMMIT\n"
    ruleset = parse(text, "c.rules").ruleset
    trace = walk(
        ruleset,
        {"in_iface": "eth0", "src": "198.51.100.7", "dst": "203.0.113.10", "proto": 6, "dport": 22},
        local_addresses=("203.0.113.10",),
    )
    assert "[7 pkts 420 bytes]" in render_text(trace)
    assert '"packets": 7' in render_json(trace)


# ---------------------------------------------------------------------------------------
# Local addresses with prefixes and interfaces: broadcasts, REDIRECT
# ---------------------------------------------------------------------------------------

INPUT_DROP = """\
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m addrtype --dst-type LOCAL -j ACCEPT
COMMIT
"""
TO_BROADCAST = {"in_iface": "eth1", "src": "203.0.113.7", "dst": "10.0.0.255", "proto": 17, "dport": 9}


def test_local_address_forms():
    assert LocalAddress.parse("10.0.0.1") == LocalAddress(ipaddress.ip_address("10.0.0.1"))
    parsed = LocalAddress.parse("10.0.0.1/24@eth0")
    assert (str(parsed.address), parsed.prefix, parsed.interface) == ("10.0.0.1", 24, "eth0")
    assert str(parsed.broadcast) == "10.0.0.255" and str(parsed) == "10.0.0.1/24@eth0"
    assert LocalAddress.parse("10.0.0.1/31").broadcast is None
    assert LocalAddress.parse("2001:db8::1/64@eth0").broadcast is None
    for bad in ("nope", "10.0.0.1/33", "10.0.0.1@", "10.0.0.1@eth+", "10.0.0.1@a-name-far-too-long"):
        with pytest.raises(ValueError):
            LocalAddress.parse(bad)


def test_a_subnet_broadcast_is_delivered_locally_but_is_not_addrtype_local():
    trace = walk(dump(INPUT_DROP), TO_BROADCAST, local_addresses=["10.0.0.1/24@eth0", "203.0.113.1/24@eth1"])
    assert (trace.verdict, trace.arrived_at) == ("DROP", "local")  # INPUT's policy: addrtype says BROADCAST
    assert trace.final_packet["dst_local"] is False
    assert any("broadcast address of 10.0.0.0/24 on eth0" in note for note in trace.notes)
    limited = walk(dump(INPUT_DROP), {**TO_BROADCAST, "dst": "255.255.255.255"}, local_addresses=["10.0.0.1/24"])
    assert limited.arrived_at == "local"


def test_without_its_prefix_a_broadcast_cannot_be_told():
    trace = walk(dump(INPUT_DROP), TO_BROADCAST, local_addresses=["10.0.0.1", "203.0.113.1"])
    assert trace.verdict == "UNKNOWN" and trace.arrived_at is None
    assert "--local-address 10.0.0.1/PREFIX" in trace.reason
    other = walk(dump(INPUT_DROP), {**TO_BROADCAST, "dst": "10.0.0.77"}, local_addresses=["10.0.0.1"])
    assert other.arrived_at == "forwarded"  # no prefix makes 10.0.0.77 a broadcast of 10.0.0.1's


def test_a_docker_bridge_broadcast_is_local():
    trace = walk(load(), {**CLIENT, "proto": 17, "dst": "172.17.255.255", "dport": 9}, local_addresses=[HOST])
    assert trace.arrived_at == "local"


REDIRECT_TO_PROXY = """\
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -p tcp -m tcp --dport 3128 -j REDIRECT --to-ports 8080
COMMIT
"""


@pytest.mark.parametrize(
    ("local", "destination"),
    [
        (["10.0.0.1/24@eth0", "203.0.113.1/24@eth1", "203.0.113.9/24@eth1"], "203.0.113.1"),
        (["203.0.113.1"], "203.0.113.1"),  # the only one: taken, with a note
        (["10.0.0.1", "203.0.113.1"], None),  # which is eth1's? unknown
        ([], None),
    ],
)
def test_redirect_goes_to_the_primary_address_of_the_in_interface(local, destination):
    packet = {"in_iface": "eth1", "src": "198.51.100.7", "dst": "8.8.8.8", "proto": 6, "sport": 4000, "dport": 3128}
    trace = walk(dump(REDIRECT_TO_PROXY), packet, local_addresses=local)
    assert trace.arrived_at == "local" and trace.final_packet["dport"] == 8080
    assert trace.final_packet.get("dst") == destination
    if destination is None:
        assert any("--local-address ADDR@eth1" in note for note in trace.notes)


def test_ipv6_redirect_takes_the_first_address_of_the_destination_scope():
    ruleset = parse(REDIRECT_TO_PROXY, "v6.rules", Family.IPV6).ruleset
    packet = {"in_iface": "eth1", "src": "2001:db8:9::7", "dst": "2001:db8:5::1", "proto": 6, "dport": 3128}
    trace = walk(ruleset, packet, local_addresses=["fe80::1/64@eth1", "2001:db8::1/64@eth1", "2001:db8::2/64@eth1"])
    assert trace.final_packet["dst"] == "2001:db8::1"


# ---------------------------------------------------------------------------------------
# ESTABLISHED packets: the NAT of their connection's first packet
# ---------------------------------------------------------------------------------------

SNAT_BY_MARK = """\
*mangle
:PREROUTING ACCEPT [0:0]
-A PREROUTING -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A PREROUTING -i eth0 -j MARK --set-mark 0x1
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o eth1 -m mark --mark 0x1 -j SNAT --to-source 203.0.113.1
COMMIT
*filter
:FORWARD DROP [0:0]
-A FORWARD -m conntrack --ctstate NEW -s 10.0.0.0/24 -j ACCEPT
-A FORWARD -m conntrack --ctstate SNAT -j ACCEPT
COMMIT
"""
OUTBOUND = {"in_iface": "eth0", "out_iface": "eth1", "src": "10.0.0.5", "dst": "198.51.100.9", "proto": 17,
            "sport": 40000, "dport": 53, "ct_state": "ESTABLISHED"}  # fmt: skip
ROUTER = ["10.0.0.1/24@eth0", "203.0.113.1/24@eth1"]


def test_an_established_packet_gets_the_snat_its_first_packet_chose_by_mark():
    ruleset = dump(SNAT_BY_MARK)
    trace = walk(ruleset, OUTBOUND, local_addresses=ROUTER)
    assert trace.verdict == "ACCEPT"
    assert trace.decided_by == rule_at(ruleset, "-A FORWARD -m conntrack --ctstate SNAT -j ACCEPT")
    assert trace.input_packet["ct_snat"] is True  # from the start: FORWARD sees it
    assert trace.final_packet["src"] == "203.0.113.1"
    assert all(rule.table != "nat" for rule in trace.matched)  # nat is not traversed, no nat counter grows
    skip = next(s for s in trace.steps if s.kind == "skip" and s.hook == "POSTROUTING")
    assert skip.action.endswith("SNAT --to-source 203.0.113.1 (line 9)")
    text = render_text(trace)
    assert "src 10.0.0.5 -> 203.0.113.1" in text and "the connection's NAT from its first packet" in text
    data = json.loads(render_json(trace))["connection"]
    assert data["first_packet"]["ct_state"] == "NEW" and data["first_verdict"] == "ACCEPT"
    (postrouting,) = [n for n in data["nat"] if n["hook"] == "POSTROUTING"]
    assert postrouting["known"] and postrouting["rule"] == "test.rules:9"


def test_a_connection_whose_first_packet_is_dropped_has_an_unknown_nat():
    ruleset = dump(SNAT_BY_MARK)
    trace = walk(ruleset, {**OUTBOUND, "src": "10.9.0.5"}, local_addresses=ROUTER)  # NEW from 10.9/16: dropped
    assert "ct_snat" not in trace.input_packet
    assert trace.verdict == "UNKNOWN"  # --ctstate SNAT depends on it
    assert "ct_snat" in trace.reason


def test_new_packets_have_no_connection():
    trace = walk(dump(SNAT_BY_MARK), {**OUTBOUND, "ct_state": "NEW"}, local_addresses=ROUTER)
    assert trace.connection is None and json.loads(render_json(trace))["connection"] is None
    assert trace.final_packet["src"] == "203.0.113.1"  # mangle marked it, nat translated it
