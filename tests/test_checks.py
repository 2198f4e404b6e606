"""Unit tests of the checks: which (code, line, column) each reports, and the facts they read.

Positions, not prose (yamllint's `LintProblem.__eq__`); a few tests pin the parts of a
message that carry information (the chain path of a cycle, the suggested chain name).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import report_summary

from iptlint.analysis import Analysis
from iptlint.findings import Severity
from iptlint.linter import Settings, lint
from iptlint.syntax.ast import BUILTIN_CHAINS, Family
from iptlint.syntax.parser import parse


def findings(text: str, code: str) -> list:
    return [f for f in lint(text, "test.rules", Settings(select=(code,))).findings if f.code == code]


def positions(text: str, code: str) -> list[tuple[str, int, int]]:
    return [(f.code, f.span.line, f.span.column) for f in findings(text, code)]


def analysis_of(text: str) -> Analysis:
    result = parse(text, "test.rules")
    assert result.ok, result.findings
    return Analysis(result.ruleset)


def dump(*lines: str, table: str = "filter") -> str:
    return "\n".join((f"*{table}", *lines, "COMMIT", ""))


# -- the chain graph facts -----------------------------------------------------------------

GRAPH = dump(
    ":PREROUTING ACCEPT [0:0]",
    ":OUTPUT ACCEPT [0:0]",
    ":POSTROUTING ACCEPT [0:0]",
    ":A - [0:0]",
    ":B - [0:0]",
    ":C - [0:0]",
    ":LONE - [0:0]",
    "-A PREROUTING -j A",
    "-A OUTPUT -p tcp -g B",
    "-A A -j C",
    "-A B -j C",
    "-A POSTROUTING -s 10.0.0.0/8 -j B",
    table="nat",
)


def test_hooks_reaching_follows_jumps_and_gotos_through_chains():
    hooks = analysis_of(GRAPH).hooks_reaching
    assert hooks[("nat", "A")] == {"PREROUTING"}
    assert hooks[("nat", "B")] == {"OUTPUT", "POSTROUTING"}
    assert hooks[("nat", "C")] == {"PREROUTING", "OUTPUT", "POSTROUTING"}
    assert hooks[("nat", "LONE")] == frozenset()
    assert hooks[("nat", "OUTPUT")] == {"OUTPUT"}


def test_hook_path_is_the_shortest_list_of_jumps():
    analysis = analysis_of(GRAPH)
    assert [rule.line for rule in analysis.hook_path("nat", "POSTROUTING", "C")] == [13, 12]
    assert analysis.hook_path("nat", "PREROUTING", "B") == ()
    assert analysis.hook_path("nat", "OUTPUT", "OUTPUT") == ()


def test_no_cycle_in_a_diamond():
    assert analysis_of(GRAPH).jump_cycles == ()


def test_deep_chains_need_no_recursion():
    depth = 3000
    lines = [":INPUT ACCEPT [0:0]", *(f":C{i} - [0:0]" for i in range(depth)), "-A INPUT -j C0"]
    lines += [f"-A C{i} -j C{i + 1}" for i in range(depth - 1)]
    lines.append(f"-A C{depth - 1} -j C0")
    analysis = analysis_of(dump(*lines))
    (cycle,) = analysis.jump_cycles
    assert len(cycle.rules) == depth and cycle.reached
    assert analysis.hooks_reaching[("filter", f"C{depth - 1}")] == {"INPUT"}


def test_a_fragment_names_no_builtin_chain():
    analysis = analysis_of(dump(":ufw-user-input - [0:0]", "-A ufw-user-input -j ACCEPT"))
    assert analysis.is_fragment(analysis.ruleset.tables[0])
    analysis = analysis_of(dump(":X - [0:0]", "-A FORWARD -j X"))
    assert not analysis.is_fragment(analysis.ruleset.tables[0])


# -- S201 undefined-chain ------------------------------------------------------------------


_PARSER_REFUSES_X = pytest.mark.xfail(
    strict=True, reason="the parser refuses -X of a chain that rules jump to (S124), so no dangling jump is left"
)


@_PARSER_REFUSES_X
def test_s201_jump_to_a_chain_deleted_before_commit():
    text = dump(":INPUT ACCEPT [0:0]", ":LOGDROP - [0:0]", "-A INPUT -p tcp -j LOGDROP", "-X LOGDROP")
    assert positions(text, "S201") == [("S201", 4, 17)]


@_PARSER_REFUSES_X
def test_s201_suggests_the_closest_chain():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":LOGDROP - [0:0]",
        ":LOG_DROP - [0:0]",
        "-A INPUT -g LOG_DROP",
        "-A INPUT -j LOGDROP",
        "-X LOG_DROP",
    )
    (finding,) = findings(text, "S201")
    assert (finding.span.line, finding.severity) == (5, Severity.ERROR)
    assert "'LOG_DROP'" in finding.message and "'LOGDROP'" in finding.message
    assert "goes" in finding.message


def test_s201_not_for_declared_chains_and_targets():
    text = dump(":INPUT ACCEPT [0:0]", ":X - [0:0]", "-A INPUT -j X", "-A INPUT -j LOG", "-A X -j RETURN")
    assert positions(text, "S201") == []


# -- S202 unused-chain ---------------------------------------------------------------------


def test_s202_chain_with_rules_nobody_jumps_to():
    text = dump(":INPUT DROP [0:0]", ":SSH - [0:0]", ":USED - [0:0]", "-A INPUT -g USED", "-A SSH -j ACCEPT")
    text += dump(":POSTROUTING ACCEPT [0:0]", ":USED - [0:0]", "-A USED -j ACCEPT", table="nat")
    assert positions(text, "S202") == [("S202", 3, 1), ("S202", 10, 1)]


def test_s202_a_jump_to_itself_is_not_a_use():
    text = dump(":INPUT DROP [0:0]", ":SELF - [0:0]", "-A SELF -p tcp -j SELF")
    assert positions(text, "S202") == [("S202", 3, 1)]


def test_s202_not_for_empty_chains_or_fragments():
    assert positions(dump(":INPUT DROP [0:0]", ":DOCKER - [0:0]"), "S202") == []
    assert positions(dump(":ufw-user-input - [0:0]", "-A ufw-user-input -j ACCEPT"), "S202") == []


# -- S203 jump-cycle -----------------------------------------------------------------------


def test_s203_one_finding_per_cycle_on_the_closing_jump():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":A - [0:0]",
        ":B - [0:0]",
        ":C - [0:0]",
        "-A INPUT -j A",
        "-A A -j B",
        "-A B -j C",
        "-A C -g A",
        "-A C -j B",
    )
    (finding,) = findings(text, "S203")
    assert (finding.span.line, finding.span.column, finding.severity) == (9, 6, Severity.ERROR)
    assert "A -> B -> C -> A" in finding.message and "(and through" not in finding.message
    assert [related.span.line for related in finding.related] == [7, 8]


def test_s203_self_loop_and_separate_cycles():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":A - [0:0]",
        ":B - [0:0]",
        ":C - [0:0]",
        "-A INPUT -j A",
        "-A A -p tcp -j A",
        "-A B -j C",
        "-A C -j B",
    )
    found = findings(text, "S203")
    assert [(f.span.line, f.severity) for f in found] == [(7, Severity.ERROR), (9, Severity.WARNING)]
    assert "A -> A" in found[0].message and "B -> C -> B" in found[1].message


def test_s203_not_without_a_loop():
    assert positions(GRAPH, "S203") == []


# -- S204 target-in-wrong-hook -------------------------------------------------------------

NAT = (":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]")


def error_lines(text: str, code: str) -> list[int]:
    """Lines with an error from `code` or from the parser (which may refuse a rule in a built-in chain itself)."""
    result = lint(text, "test.rules", Settings(select=("S1", code)))
    return sorted(f.span.line for f in result.findings if f.severity is Severity.ERROR)


def test_s204_target_in_a_builtin_chain_it_does_not_allow():
    text = dump(*NAT, "-A POSTROUTING -p tcp -j DNAT --to-destination 192.0.2.1", "-A INPUT -j MASQUERADE", table="nat")
    assert error_lines(text, "S204") == [6, 7]


def test_s204_user_chain_reached_from_a_wrong_hook_with_the_path():
    text = dump(
        *NAT,
        ":PORTS - [0:0]",
        ":INNER - [0:0]",
        "-A PREROUTING -j PORTS",
        "-A POSTROUTING -o eth0 -j PORTS",
        "-A PORTS -j INNER",
        "-A INNER -p tcp -j DNAT --to-destination 192.0.2.1",
        table="nat",
    )
    (finding,) = findings(text, "S204")
    assert (finding.span.line, finding.severity) == (11, Severity.ERROR)
    assert "POSTROUTING" in finding.message
    assert [related.span.line for related in finding.related] == [9, 10]


def test_s204_target_in_a_table_it_does_not_allow():
    text = dump(":INPUT ACCEPT [0:0]", "-A INPUT -p tcp -j DNAT --to-destination 192.0.2.1")
    assert error_lines(text, "S204") == [3]


def test_s204_not_in_allowed_hooks_or_unreached_chains():
    text = dump(
        *NAT,
        ":PORTS - [0:0]",
        ":UNUSED - [0:0]",
        "-A PREROUTING -j PORTS",
        "-A OUTPUT -j PORTS",
        "-A PORTS -p tcp -j DNAT --to-destination 192.0.2.1",
        "-A UNUSED -j MASQUERADE",
        "-A POSTROUTING -j MASQUERADE",
        table="nat",
    )
    assert positions(text, "S204") == []


# -- S205 duplicate-rule -------------------------------------------------------------------


def test_s205_every_copy_points_at_the_first():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 80 -j ACCEPT",
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    )
    found = findings(text, "S205")
    assert [(f.span.line, f.span.column) for f in found] == [(5, 1), (6, 1)]
    assert all([r.span.line for r in f.related] == [3] for f in found)


def test_s205_not_for_other_comments_targets_or_chains():
    text = dump(
        ":INPUT DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        '-A INPUT -s 10.0.0.1/32 -m comment --comment "a" -j ACCEPT',
        '-A INPUT -s 10.0.0.1/32 -m comment --comment "b" -j ACCEPT',
        "-A INPUT -s 10.0.0.1/32 -j DROP",
        "-A OUTPUT -s 10.0.0.1/32 -j DROP",
    )
    assert positions(text, "S205") == []


# -- S206 missing-policy -------------------------------------------------------------------


def test_s206_is_off_by_default():
    text = dump(":INPUT DROP [0:0]", "-A FORWARD -j ACCEPT")
    assert not [f for f in lint(text, "test.rules").findings if f.code == "S206"]


def test_s206_chain_with_rules_or_dash_but_no_policy():
    text = dump(":INPUT DROP [0:0]", ":OUTPUT - [0:0]", "-A INPUT -i lo -j ACCEPT", "-A FORWARD -j ACCEPT")
    found = findings(text, "S206")
    assert [(f.span.line, f.span.column, f.chain) for f in found] == [(3, 1, "OUTPUT"), (5, 1, "FORWARD")]
    assert all(f.severity is Severity.INFO for f in found)


def test_s206_not_for_policies_set_untouched_chains_or_fragments():
    assert positions(dump(":INPUT DROP [0:0]", "-P FORWARD DROP", "-A FORWARD -j ACCEPT"), "S206") == []
    assert positions(dump(":INPUT DROP [0:0]", "-A INPUT -j ACCEPT"), "S206") == []
    assert positions(dump(":ufw-user-input - [0:0]", "-A ufw-user-input -j ACCEPT"), "S206") == []


# -- S207 unreachable-rule -----------------------------------------------------------------


def test_s207_every_rule_after_an_unconditional_verdict():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        "-A INPUT -i lo -j ACCEPT",
        '-A INPUT -m comment --comment "default" -j DROP',
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -j DROP",
    )
    found = findings(text, "S207")
    assert [(f.span.line, f.span.column) for f in found] == [(5, 1), (6, 1)]
    assert all([r.span.line for r in f.related] == [4] for f in found)
    assert "never runs" in found[0].message


@pytest.mark.parametrize(
    "ending",
    ["-j RETURN", "-g OTHER", "-j REJECT"],
)
def test_s207_after_gotos_returns_and_terminal_targets(ending):
    text = dump(":INPUT ACCEPT [0:0]", ":OTHER - [0:0]", f"-A INPUT {ending}", "-A INPUT -s 10.0.0.1/32 -j OTHER")
    assert positions(text, "S207") == [("S207", 5, 1)]


def test_s207_not_after_conditions_jumps_or_non_terminal_targets():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":OTHER - [0:0]",
        "-A INPUT -i eth0 -j DROP",
        "-A INPUT -j OTHER",
        "-A INPUT -j LOG",
        "-A INPUT -j ACCEPT",
    )
    assert positions(text, "S207") == []


# -- S204 against the kernel ---------------------------------------------------------------

# A minimal valid rule for each target, written after `-A CHAIN`.
TARGET_RULES = {
    "AUDIT": "-j AUDIT --type accept",
    "CHECKSUM": "-p udp -j CHECKSUM --checksum-fill",
    "CLASSIFY": "-j CLASSIFY --set-class 1:1",
    "CONNMARK": "-j CONNMARK --set-mark 1",
    "CONNSECMARK": "-j CONNSECMARK --save",
    "CT": "-j CT --notrack",
    "DNAT": "-p tcp -j DNAT --to-destination 192.0.2.1",
    "DSCP": "-j DSCP --set-dscp 1",
    "ECN": "-p tcp -j ECN --ecn-tcp-remove",
    "HMARK": "-j HMARK --hmark-tuple src --hmark-mod 2 --hmark-rnd 1",
    "IDLETIMER": "-j IDLETIMER --timeout 10 --label x",
    "LOG": "-j LOG",
    "MARK": "-j MARK --set-mark 1",
    "MASQUERADE": "-j MASQUERADE",
    "NETMAP": "-j NETMAP --to 192.0.2.0/24",
    "NFLOG": "-j NFLOG",
    "NFQUEUE": "-j NFQUEUE --queue-num 1",
    "NOTRACK": "-j NOTRACK",
    "REDIRECT": "-p tcp -j REDIRECT",
    "REJECT": "-j REJECT",
    "SNAT": "-p tcp -j SNAT --to-source 192.0.2.1",
    "SYNPROXY": "-p tcp -j SYNPROXY",
    "TCPMSS clamp": "-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu",
    "TCPMSS set": "-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400",
    "TCPOPTSTRIP": "-p tcp -j TCPOPTSTRIP --strip-options sack",
    "TEE": "-j TEE --gateway 192.0.2.1",
    "TOS": "-j TOS --set-tos 0x10",
    "TPROXY": "-p tcp -j TPROXY --on-port 1",
    "TRACE": "-j TRACE",
    "TTL": "-j TTL --ttl-set 64",
}


def placements(rule: str):
    """The rule in every built-in chain of every table, directly and through a user chain."""
    for table, hooks in BUILTIN_CHAINS.items():
        for hook in hooks:
            yield f"{table} {hook}", dump(f":{hook} ACCEPT [0:0]", f"-A {hook} {rule}", table=table)
            yield (
                f"{table} {hook} via a user chain",
                dump(f":{hook} ACCEPT [0:0]", ":U - [0:0]", f"-A {hook} -j U", f"-A U {rule}", table=table),
            )


# A minimal valid rule for each match, written after `-A CHAIN`, before `-j ACCEPT`.
MATCH_RULES = {
    "addrtype": "-m addrtype --dst-type LOCAL",
    "addrtype in": "-m addrtype --dst-type LOCAL --limit-iface-in",
    "addrtype out": "-m addrtype --dst-type LOCAL --limit-iface-out",
    "cgroup": "-m cgroup --cgroup 1",
    "connbytes": "-m connbytes --connbytes 1 --connbytes-dir both --connbytes-mode bytes",
    "conntrack": "-m conntrack --ctstate NEW",
    "devgroup src": "-m devgroup --src-group 1",
    "devgroup dst": "-m devgroup --dst-group 1",
    "hashlimit": "-m hashlimit --hashlimit-upto 5/s --hashlimit-name x",
    "helper": "-m helper --helper ftp",
    "limit": "-m limit --limit 1/s",
    "mac": "-m mac --mac-source 00:11:22:33:44:55",
    "osf": "-p tcp -m osf --genre Linux",
    "owner": "-m owner --uid-owner 0",
    "physdev in": "-m physdev --physdev-in eth0",
    "physdev out": "-m physdev --physdev-out eth0",
    "physdev out bridged": "-m physdev --physdev-out eth0 --physdev-is-bridged",
    "pkttype": "-m pkttype --pkt-type unicast",
    "policy in": "-m policy --dir in --pol none",
    "policy out": "-m policy --dir out --pol none",
    "recent": "-m recent --set",
    "rpfilter": "-m rpfilter",
    "socket": "-m socket",
    "statistic": "-m statistic --mode random --probability 0.5",
    "string": "-m string --algo bm --string x",
    "tcpmss": "-p tcp -m tcpmss --mss 1",
}
# Restrictions that a match or target checks itself for some options: nf_tables applies
# them only in built-in chains, iptables-legacy also through user chains (as S204/S208 do).
OPTION_DEPENDENT = {"TCPMSS clamp", "addrtype in", "addrtype out", "devgroup src", "devgroup dst"}
OPTION_DEPENDENT |= {"physdev out", "policy in", "policy out"}
# Where the extension tables are known to be incomplete, owned elsewhere: name -> what is missing.
DATA_GAPS = {"realm": "realm.py has no hooks: the kernel refuses -m realm from PREROUTING"}


def differs_by_backend(backend: str, name: str, where: str) -> bool:
    if backend != "nft":
        return False
    # iptables-nft turns TRACE into `meta nftrace set 1`, which any chain accepts.
    return name == "TRACE" or (name in OPTION_DEPENDENT and "via a user chain" in where)


def compare_with_kernel(code: str, rules: dict[str, str], backend: str, netns) -> None:
    """Load each rule in every placement; iptlint (parser and S204/S208) must refuse exactly what the kernel does."""
    disagreements, unavailable, compared = [], [], 0
    for name, rule in rules.items():
        outcomes = []
        for where, text in placements(rule):
            if differs_by_backend(backend, name, where):
                continue
            # The parser refuses some placements in built-in chains itself (S125): iptlint as a whole.
            result = lint(text, "test.rules", Settings(select=("S1", code)))
            predicted = not any(f.severity is Severity.ERROR for f in result.findings)
            outcomes.append((where, predicted, netns.restore(text, backend, Family.IPV4)))
        if outcomes and not any(verdict.ok for _, _, verdict in outcomes):
            unavailable.append(name)  # refused everywhere: a kernel module or SELinux missing here
            continue
        compared += len(outcomes)
        disagreements += [
            f"{name} in {where}: iptlint {'accepts' if predicted else 'refuses'}, kernel {verdict.describe()}"
            for where, predicted, verdict in outcomes
            if predicted != verdict.ok
        ]
    report_summary(f"{code} vs iptables-{backend}-restore: {compared} placements compared; unavailable: {unavailable}")
    assert not disagreements, "\n".join(disagreements)


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_s204_agrees_with_the_kernel_on_every_hook(backend, netns):
    compare_with_kernel("S204", TARGET_RULES, backend, netns)


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_s208_agrees_with_the_kernel_on_every_hook(backend, netns):
    rules = {name: f"{rule} -j ACCEPT" for name, rule in MATCH_RULES.items() if name not in DATA_GAPS}
    compare_with_kernel("S208", rules, backend, netns)


LOOPS = {
    "two chains, reached": (":A - [0:0]", ":B - [0:0]", "-A INPUT -j A", "-A A -p tcp -j B", "-A B -j A"),
    "self, reached": (":A - [0:0]", "-A INPUT -j A", "-A A -s 10.0.0.0/8 -j A"),
    "gotos, reached": (":A - [0:0]", ":B - [0:0]", "-A INPUT -p tcp -g A", "-A A -g B", "-A B -g A"),
    "behind a RETURN, reached": (":A - [0:0]", "-A INPUT -j A", "-A A -j RETURN", "-A A -j A"),
    "not reached": (":A - [0:0]", ":B - [0:0]", "-A A -j B", "-A B -j A"),
    "no loop": (":A - [0:0]", ":B - [0:0]", "-A INPUT -j A", "-A INPUT -j B", "-A A -j B"),
}


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
@pytest.mark.parametrize("case", sorted(LOOPS))
def test_s203_errors_exactly_when_the_kernel_refuses(case, backend, netns):
    text = dump(":INPUT ACCEPT [0:0]", *LOOPS[case])
    errors = [f for f in findings(text, "S203") if f.severity is Severity.ERROR]
    verdict = netns.restore(text, backend, Family.IPV4)
    if backend == "legacy" and case.startswith("behind a RETURN"):
        # x_tables walks only the rules a packet can reach: it misses this loop, nf_tables does not.
        assert verdict.ok and errors
        return
    assert verdict.ok == (not errors), verdict.describe()


# -- S208 match-in-wrong-hook --------------------------------------------------------------


def test_s208_match_in_a_user_chain_reached_from_a_wrong_hook():
    text = dump(
        ":INPUT DROP [0:0]",
        ":OUTPUT ACCEPT [0:0]",
        ":SERVICES - [0:0]",
        "-A INPUT -j SERVICES",
        "-A OUTPUT -j SERVICES",
        "-A SERVICES -m owner --uid-owner 1000 -j ACCEPT",
    )
    (finding,) = findings(text, "S208")
    assert (finding.span.line, finding.span.column, finding.severity) == (7, 13, Severity.ERROR)
    assert "INPUT" in finding.message and [r.span.line for r in finding.related] == [5]


@pytest.mark.parametrize(
    ("chain", "match", "flagged"),
    [
        ("OUTPUT", "-m addrtype --dst-type LOCAL --limit-iface-in", True),
        ("INPUT", "-m addrtype --dst-type LOCAL --limit-iface-in", False),
        ("OUTPUT", "-m policy --dir in --pol none", True),
        ("INPUT", "-m policy --dir out --pol none", True),
        ("FORWARD", "-m policy --dir out --pol none", False),
        ("OUTPUT", "-m physdev --physdev-out eth0", True),
        ("OUTPUT", "-m physdev --physdev-out eth0 --physdev-is-bridged", False),
        ("OUTPUT", "-m physdev ! --physdev-is-bridged --physdev-out eth0", True),
        ("POSTROUTING", "-m devgroup --src-group 1", True),
    ],
)
def test_s208_options_that_narrow_the_hooks(chain, match, flagged):
    table = "mangle" if chain == "POSTROUTING" else "filter"
    text = dump(f":{chain} ACCEPT [0:0]", ":U - [0:0]", f"-A {chain} -j U", f"-A U {match} -j ACCEPT", table=table)
    assert bool(findings(text, "S208")) is flagged


def test_s208_match_in_a_table_it_does_not_allow():
    text = dump(
        ":PREROUTING ACCEPT [0:0]", ":U - [0:0]", "-A PREROUTING -j U", "-A U -m rpfilter -j ACCEPT", table="nat"
    )
    assert positions(text, "S208") == [("S208", 5, 6)]


def test_s203_a_knot_of_loops_is_one_finding_naming_every_chain():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":A - [0:0]",
        ":B - [0:0]",
        ":C - [0:0]",
        "-A INPUT -j A",
        "-A A -p tcp -j B",
        "-A A -p udp -j C",
        "-A B -j A",
        "-A C -j A",
    )
    (finding,) = findings(text, "S203")
    assert "A -> B -> A (and through C)" in finding.message


# -- S209 too-many-nested-chains -----------------------------------------------------------


def nested(depth: int, jump: str = "-j", *extra: str) -> str:
    """INPUT -> C1 -> ... -> C{depth}: `depth` user chains nested below INPUT."""
    lines = [":INPUT ACCEPT [0:0]", *(f":C{i} - [0:0]" for i in range(1, depth + 1)), f"-A INPUT {jump} C1"]
    lines += [f"-A C{i} {jump} C{i + 1}" for i in range(1, depth)]
    return dump(*lines, f"-A C{depth} -j ACCEPT", *extra)


def test_s209_the_jump_to_the_sixteenth_level():
    text = nested(17)
    (finding,) = findings(text, "S209")
    assert (finding.span.line, finding.severity) == (35, Severity.ERROR)
    assert [r.span.line for r in finding.related] == list(range(20, 35))


def test_s209_longest_path_counts_and_loops_are_left_to_s203():
    shortcut = nested(16, "-j", "-A INPUT -j C16")
    assert positions(shortcut, "S209") == [("S209", 34, 8)]
    assert positions(nested(15), "S209") == []
    looped = nested(20, "-j", "-A C3 -j C1")
    assert positions(looped, "S209") == []


NESTINGS = {
    "15 deep": nested(15),
    "16 deep": nested(16),
    "16 deep by gotos": nested(16, "-g"),
    "16 deep and a shortcut": nested(16, "-j", "-A INPUT -j C16"),
}


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
@pytest.mark.parametrize("case", sorted(NESTINGS))
def test_s209_errors_exactly_when_iptables_nft_refuses(case, backend, netns):
    text = NESTINGS[case]
    verdict = netns.restore(text, backend, Family.IPV4)
    flagged = bool(findings(text, "S209"))
    assert flagged is case.startswith("16")
    assert verdict.ok is (backend == "legacy" or not flagged), verdict.describe()


# -- S210 duplicate-table ------------------------------------------------------------------


def test_s210_every_section_flushed_by_a_later_one():
    first = dump(":INPUT ACCEPT [0:0]", "-A INPUT -s 10.0.0.1/32 -j DROP")
    empty = dump(":INPUT ACCEPT [0:0]")
    nat = dump(":POSTROUTING ACCEPT [0:0]", "-A POSTROUTING -j MASQUERADE", table="nat")
    text = first + nat + first + empty + first
    found = findings(text, "S210")
    assert [(f.span.line, f.span.column) for f in found] == [(1, 1), (9, 1)]
    assert [[r.span.line for r in f.related] for f in found] == [[9], [13]]


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_s210_only_the_last_section_is_loaded(backend, netns):
    text = dump(":INPUT ACCEPT [0:0]", "-A INPUT -s 10.0.0.1/32 -j DROP")
    text += dump(":INPUT ACCEPT [0:0]", "-A INPUT -s 10.0.0.2/32 -j DROP")
    assert netns.restore(text, backend, Family.IPV4).ok
    saved = netns.run([f"iptables-{backend}-save"]).stdout.decode()
    assert "10.0.0.2/32" in saved and "10.0.0.1/32" not in saved
    assert positions(text, "S210") == [("S210", 1, 1)]


UNREACHED = {
    "DNAT in filter": ("filter", "-p tcp -j DNAT --to-destination 192.0.2.1", "S204", True),
    "TPROXY from INPUT": ("mangle", "-p tcp -j TPROXY --on-port 1", "S204", False),
    "rpfilter from INPUT": ("mangle", "-m rpfilter -j DROP", "S208", False),
    "rpfilter in filter": ("filter", "-m rpfilter -j DROP", "S208", True),
}


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
@pytest.mark.parametrize("case", sorted(UNREACHED))
def test_table_limits_hold_in_unreached_chains_hook_limits_do_not(case, backend, netns):
    table, rule, code, refused = UNREACHED[case]
    text = dump(":INPUT ACCEPT [0:0]", ":X - [0:0]", f"-A X {rule}", table=table)
    assert netns.restore(text, backend, Family.IPV4).ok is not refused
    assert bool(findings(text, code)) is refused


# -- the real corpus -----------------------------------------------------------------------

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real"


def _loaded_by_iptables() -> set[str]:
    manifest = CORPUS.parent / "manifest.jsonl"
    records = [json.loads(line) for line in manifest.read_text().splitlines()] if manifest.exists() else []
    return {r["file"] for r in records if r.get("nft_restore_ok")}  # really loaded, not only --test


@pytest.mark.parametrize("source", sorted(p.name for p in CORPUS.iterdir()) if CORPUS.is_dir() else [])
def test_structural_checks_run_on_every_real_dump(source):
    """No crash, and no kernel-level S2xx error on dumps that the real iptables-restore loaded."""
    refused_by_kernel = {"S201", "S203", "S204", "S208", "S209"}
    loaded = _loaded_by_iptables()
    for path in sorted((CORPUS / source).rglob("*.rules")):
        if f"real/{source}/{path.name}" not in loaded:
            continue  # iptables refuses it too (manifest.jsonl): errors there are expected
        result = lint(path.read_bytes(), str(path), Settings(select=("S2",)))
        errors = [f for f in result.findings if f.code in refused_by_kernel and f.severity is Severity.ERROR]
        assert not errors, (path.name, [(f.code, f.span.line, f.message) for f in errors])
