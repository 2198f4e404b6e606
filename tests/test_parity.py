"""IPv4/IPv6 parity (X010, iptlint/parity.py): services one family protects and the other leaves open.

* Hand-written pairs: a port dropped in one family only, in either direction; the
  same rules in both families; a Docker DOCKER-USER rule written with iptables only.
* The real dockerd recordings (tests/data/docker-real): a published port is reported
  exactly when the real reachability of its `0.0.0.0` and `::` bindings differs
  (with no ip6tables dump, docker-proxy on `::` is behind no rule: an empty IPv6 ruleset).
* Splitting a save that holds both families; pairing files by name; `iptlint check`.
* The real corpus's v4/v6 pairs (ufw, firehol, misc-github, android-netd): no crash,
  and a pair compared with itself (same rules) has no gap.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import CORPUS, requires_corpus

from iptlint.cli import main
from iptlint.linter import Settings, lint
from iptlint.parity import (
    Service,
    family_by_name,
    gaps,
    ipv4_partner_names,
    open_gaps,
    pair_by_name,
    services,
    split_families,
)
from iptlint.syntax.ast import Family
from iptlint.syntax.parser import parse

DOCKER_REAL = Path(__file__).parent / "data" / "docker-real"
REAL = CORPUS / "real"
PAIRED_DIRECTORIES = ("ufw", "firehol", "misc-github", "android-netd")

V4_DROPS_5432 = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -i eth0 -p tcp -m tcp --dport 5432 -j DROP
COMMIT
"""

V6_OPEN = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
"""

V6_DROPS_5432 = V6_OPEN.replace("COMMIT", "-A INPUT -i eth0 -p tcp -m tcp --dport 5432 -j DROP\nCOMMIT")

V6_DEFAULT_DROP = """\
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p ipv6-icmp -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
"""

V4_ROUTER = """\
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A FORWARD -p udp -m udp --dport 53 -j REJECT
COMMIT
"""


def v4(text: str, path: str = "rules.v4"):
    return parse(text, path, Family.IPV4).ruleset


def v6(text: str, path: str = "rules.v6"):
    return parse(text, path, Family.IPV6).ruleset


# ---------------------------------------------------------------------------------------
# Hand-written pairs


def test_a_port_dropped_in_ipv4_only_is_open_in_ipv6():
    found = gaps(v4(V4_DROPS_5432), v6(V6_OPEN))
    assert [(g.service, g.interfaces) for g in found] == [(Service("host", "tcp", 5432), ("eth0",))]
    gap = found[0]
    assert gap.opened.ruleset.family is Family.IPV6 and gap.opened.verdict == "ACCEPT"
    assert gap.closed.verdict == "DROP" and gap.closed.decided_by.line == 7
    assert gap.describe() == (
        "tcp port 5432 to the host from outside via eth0: IPv4 DROP (rules.v4:7), "
        "IPv6 ACCEPT (rules.v6: policy ACCEPT of INPUT)"
    )
    assert gap.opened.packet["in_iface"] == gap.closed.packet["in_iface"] == "eth0"
    assert gap.opened.packet["dport"] == gap.closed.packet["dport"] == 5432


def test_the_same_rules_in_both_families_have_no_gap():
    assert gaps(v4(V4_DROPS_5432), v6(V6_DROPS_5432)) == []


def test_ipv4_open_where_ipv6_drops_by_policy():
    found = gaps(v4(V4_DROPS_5432), v6(V6_DEFAULT_DROP))
    opened = {(g.service.port, g.opened.ruleset.family, g.interfaces) for g in found}
    # 5432 from interfaces other than eth0: IPv4's policy ACCEPT, IPv6's policy DROP.
    assert opened == {(5432, Family.IPV4, ("ext0",))}
    assert found[0].closed.why() == "rules.v6: policy DROP of INPUT"


def test_a_blocklist_kept_in_one_family_only_is_a_gap():
    blocklist = V6_OPEN.replace("COMMIT", "-A INPUT -s 100.64.0.0/10 -p tcp -m tcp --dport 22 -j DROP\nCOMMIT")
    assert gaps(v4(blocklist), v6(V6_OPEN)) == []  # the ACCEPT of port 22 comes first: the DROP never matters
    reordered = V6_OPEN.replace(
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -s 100.64.0.0/10 -p tcp -m tcp --dport 22 -j DROP\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    )
    (gap,) = gaps(v4(reordered), v6(V6_OPEN))
    assert gap.service == Service("host", "tcp", 22) and gap.opened.ruleset.family is Family.IPV6
    assert gap.closed.sources == "100.64.0.0/10" and gap.closed.packet["src"] == "100.64.0.1"
    assert "IPv4 DROP from 100.64.0.0/10 (rules.v4:6)" in gap.describe()


def test_a_routed_port_is_a_service_of_its_own():
    assert services(v4(V4_ROUTER)) == {Service("routed", "udp", 53)}
    found = gaps(v4(V4_ROUTER), v6(V6_OPEN))
    assert [(g.service, g.opened.ruleset.family, g.closed.verdict) for g in found] == [
        (Service("routed", "udp", 53), Family.IPV6, "REJECT")
    ]


def test_open_gaps_are_those_where_this_file_lets_the_connection_in():
    ipv4, ipv6 = v4(V4_DROPS_5432), v6(V6_OPEN)
    assert open_gaps(ipv4, ipv6) == []
    assert [g.service.port for g in open_gaps(ipv6, ipv4)] == [5432]
    assert open_gaps(ipv4, v4(V6_OPEN)) == []  # one family twice: nothing to compare


def test_the_check_reports_on_the_open_file_with_the_closed_rule_related():
    options = {"pair": v4(V4_DROPS_5432)}
    result = lint(V6_OPEN, "rules.v6", Settings(select=("X010",), family=Family.IPV6, check_options=options))
    (finding,) = result.findings
    assert finding.path == "rules.v6" and finding.span.line == 2  # the `:INPUT ACCEPT` line
    assert "IPv6 ACCEPT" in finding.message and "IPv4 DROP (rules.v4:7)" in finding.message
    assert "[2001:db8:77::7]:40000 -> [2001:db8:ffff::10]:5432" in finding.message
    assert finding.related[0].path == "rules.v4" and finding.related[0].span.line == 7


def test_a_single_file_reports_nothing():
    assert not lint(V6_OPEN, "rules.v6", Settings(select=("X010",))).findings


def test_local_addresses_are_the_probe_destinations():
    (gap,) = gaps(v4(V4_DROPS_5432), v6(V6_OPEN), local_addresses=("192.0.2.1", "2001:db8::1"))
    assert gap.closed.packet["dst"] == "192.0.2.1" and gap.opened.packet["dst"] == "2001:db8::1"


# ---------------------------------------------------------------------------------------
# Docker


DOCKER_USER_V4 = """\
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
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
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
"""


def test_a_docker_user_rule_only_in_ipv4_leaves_the_published_port_open_on_ipv6():
    found = gaps(v4(DOCKER_USER_V4), v6(""))
    assert [(g.service, g.interfaces, g.opened.ruleset.family) for g in found] == [
        (Service("host", "tcp", 8080), ("eth0",), Family.IPV6)
    ]
    assert found[0].closed.decided_by.chain == "DOCKER-USER"
    assert found[0].published_in == ("IPv4",)
    assert (
        found[0]
        .describe()
        .startswith("tcp port 8080 to the host (published by Docker in IPv4 only) from outside via eth0")
    )


def recordings() -> list[dict]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DOCKER_REAL.glob("*.json"))]


def reality_differs(recording: dict) -> set[int]:
    """Host ports whose `0.0.0.0` and `::` bindings the outside client really reached differently."""
    by_address = {(p["host_addr"], p["host_port"]): p["reachable"] for p in recording["ports"]}
    return {
        port
        for (address, port), open_ in by_address.items()
        if address == "::" and by_address.get(("0.0.0.0", port)) is not open_
    }


@pytest.mark.parametrize("recording", recordings(), ids=lambda r: r["name"])
def test_docker_real_gaps_are_the_real_differences(recording):
    dumps = recording["dumps"]
    ipv4 = v4(dumps["ipv4"], f"{recording['name']}.v4")
    ipv6 = v6(dumps.get("ipv6") or "", f"{recording['name']}.v6")
    reported = {g.service.port for g in gaps(ipv4, ipv6) if g.service.way == "host"}
    assert reported == reality_differs(recording)


def test_v4_fix_only_reports_the_open_ipv6_port_and_both_fixed_does_not():
    by_name = {r["name"]: r for r in recordings()}
    fix_only = by_name["ipv6-ip6tables-v4-fix-only"]["dumps"]
    (gap,) = gaps(v4(fix_only["ipv4"]), v6(fix_only["ipv6"]))
    assert gap.service == Service("host", "tcp", 8080)
    assert gap.opened.ruleset.family is Family.IPV6 and gap.opened.decided_by.chain == "DOCKER"
    assert gap.closed.decided_by.chain == "DOCKER-USER"
    assert gap.published_in == ("IPv4", "IPv6")
    both = by_name["ipv6-ip6tables-both-fixed"]["dumps"]
    assert gaps(v4(both["ipv4"]), v6(both["ipv6"])) == []


# ---------------------------------------------------------------------------------------
# One file holding both families


def combined(first: str, second: str) -> str:
    return f"# Generated by iptables-save v1.8.9\n{first}# Generated by ip6tables-save v1.8.9\n{second}"


def test_a_save_of_both_families_is_split_keeping_line_numbers():
    text = combined(V4_DROPS_5432, V6_OPEN)
    ipv4_text, ipv6_text = split_families(text)
    assert len(ipv4_text.split("\n")) == len(ipv6_text.split("\n")) == len(text.split("\n"))
    assert "5432" in ipv4_text and "ip6tables" not in ipv4_text
    assert ipv6_text.split("\n")[9] == "# Generated by ip6tables-save v1.8.9"
    assert split_families(text.replace("ip6tables-save", "iptables-save")) is None  # S210's business
    assert split_families(V4_DROPS_5432) is None


def test_ipv6_first_then_ipv4_is_split_too():
    text = "# Generated by ip6tables-save v1.8.9\n" + V6_OPEN + "# Generated by iptables-save v1.8.9\n" + V4_DROPS_5432
    ipv4_text, ipv6_text = split_families(text)
    assert "5432" in ipv4_text and "5432" not in ipv6_text


def test_a_table_only_the_second_family_has_goes_with_it():
    nat6 = "# Generated by ip6tables-save v1.8.9\n*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n"
    text = (
        "# Generated by iptables-save v1.8.9\n"
        + V4_DROPS_5432
        + nat6
        + "# Generated by ip6tables-save v1.8.9\n"
        + V6_OPEN
    )
    ipv4_text, ipv6_text = split_families(text)
    assert "*nat" in ipv6_text and "*nat" not in ipv4_text
    assert parse(ipv4_text, "x", Family.IPV4).ruleset.table("nat") is None


def test_ufw_chain_names_say_ipv6():
    ufw6 = "*filter\n:ufw6-user-input - [0:0]\n-A ufw6-user-input -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    ufw4 = ufw6.replace("ufw6-", "ufw-")
    assert split_families(ufw4 + ufw6) is not None


def test_linting_a_save_of_both_families_reports_the_gap_once_at_the_ipv6_policy():
    text = combined(V4_DROPS_5432, V6_OPEN)
    result = lint(text, "both.rules", Settings(select=("X010",)))
    assert [(f.code, f.span.line) for f in result.findings] == [("X010", 12)]
    everything = lint(text, "both.rules")
    assert "S210" not in {f.code for f in everything.findings}


# ---------------------------------------------------------------------------------------
# Pairing files


def test_partner_names():
    assert ipv4_partner_names("etc/rules.v6") == ("etc/rules.v4",)
    assert ipv4_partner_names("foo6.rules") == ("foo4.rules", "foo.rules")
    assert ipv4_partner_names("blockv6.rules") == ("blockv4.rules", "block.rules")
    assert ipv4_partner_names("ip6tables.rules") == ("iptables.rules",)
    assert ipv4_partner_names("block326.rules") == ()
    assert ipv4_partner_names("rules.v4") == ()


def test_pair_by_name_pairs_only_present_files():
    pairs = pair_by_name(["a/rules.v4", "a/rules.v6", "b/foo.rules", "b/foo6.rules", "c/lonely6.rules"])
    assert pairs == {
        "a/rules.v6": "a/rules.v4",
        "a/rules.v4": "a/rules.v6",
        "b/foo6.rules": "b/foo.rules",
        "b/foo.rules": "b/foo6.rules",
    }
    assert family_by_name(pairs)["b/foo6.rules"] is Family.IPV6 and family_by_name(pairs)["b/foo.rules"] is Family.IPV4


def test_iptlint_check_pairs_files_by_name_and_by_option(tmp_path, capsys):
    (tmp_path / "rules.v4").write_text(V4_DROPS_5432)
    (tmp_path / "rules.v6").write_text(V6_OPEN)
    assert main(["check", "--no-config", "--select", "X010", "--format", "concise", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"{tmp_path / 'rules.v6'}:2:1: X010" in out and out.count("X010") == 1
    (tmp_path / "old.save").write_text(V4_DROPS_5432)
    (tmp_path / "new.save").write_text(V6_OPEN)
    code = main(
        [
            "check",
            "--no-config",
            "--select",
            "X010",
            "--format",
            "concise",
            "--pair",
            str(tmp_path / "old.save"),
            str(tmp_path / "new.save"),
        ]
    )
    assert code == 1 and "new.save:2:1: X010" in capsys.readouterr().out


def test_iptlint_check_a_lone_file_reports_no_parity_gap(tmp_path, capsys):
    (tmp_path / "rules.v6").write_text(V6_OPEN)
    assert main(["check", "--no-config", "--select", "X010", str(tmp_path / "rules.v6")]) == 0


# ---------------------------------------------------------------------------------------
# The real corpus


def corpus_pairs() -> list[tuple[Path, Path]]:
    found = []
    for directory in PAIRED_DIRECTORIES:
        names = [str(p) for p in sorted((REAL / directory).glob("*.rules"))]
        pairs = pair_by_name(names)
        families = family_by_name(pairs)
        found.extend((Path(name), Path(partner)) for name, partner in pairs.items() if families[name] is Family.IPV4)
    return found


def test_the_corpus_has_pairs():
    requires_corpus()
    assert len(corpus_pairs()) >= 20


@pytest.mark.parametrize("pair", corpus_pairs(), ids=lambda pair: pair[0].name)
def test_corpus_pairs_compare_without_crashing(pair):
    ipv4_path, ipv6_path = pair
    ipv4 = parse(ipv4_path.read_text(encoding="utf-8", errors="replace"), str(ipv4_path), Family.IPV4).ruleset
    ipv6 = parse(ipv6_path.read_text(encoding="utf-8", errors="replace"), str(ipv6_path), Family.IPV6).ruleset
    for gap in gaps(ipv4, ipv6):
        assert {gap.opened.verdict, gap.closed.verdict} & {"ACCEPT"}
        assert gap.closed.verdict in ("DROP", "REJECT")
        assert gap.opened.packet["dport"] == gap.closed.packet["dport"] == gap.service.port
        assert gap.describe().startswith(gap.service.describe())
