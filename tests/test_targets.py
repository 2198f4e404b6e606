"""Target tables (iptlint/extensions/targets/): what `-j NAME` accepts, typed, and where it may go.

* Each case of iptables' own extension tests for a target, parsed as a one-rule dump,
  gets the verdict `iptables-nft-restore --test` 1.8.9 recorded for it, except the few
  listed in KNOWN with the reason (the kernel-run comparison is test_differential.py).
* Per target: one accepted rule with its typed values, one rejected rule with its code.
* The tables and hooks the kernel allows (read by check S204) and whether a target ends
  evaluation, as the kernel's `struct xt_target` and target functions say.
* Every rule shown in a target's docstring parses without an error, and every target
  the corpus uses has a table.
"""

from __future__ import annotations

import importlib
import ipaddress
import json
import re

import pytest
from conftest import CORPUS, report_summary, requires_corpus

from iptlint import extensions
from iptlint.findings import Severity
from iptlint.syntax import values as v
from iptlint.syntax.ast import BUILTIN_CHAINS, Family
from iptlint.syntax.parser import IPTABLES_TARGETS, parse

V4, V6 = Family.IPV4, Family.IPV6
CASES = CORPUS / "iptables-tests" / "extensions.validated.jsonl"
TARGETS = sorted(IPTABLES_TARGETS | {"ULOG"})

# (test file, line) -> why iptlint's verdict differs from the one `--test` 1.8.9 recorded.
KNOWN = {
    ("extensions/libip6t_REJECT.t", 11): "kernel check: tcp-reset without -p tcp (1.8.11 --test sees it)",
    ("extensions/libxt_NFQUEUE.t", 8): "kernel check: 0:65535 is 65536 queues, too many for a 16-bit count",
    ("extensions/libxt_NFQUEUE.t", 12): "kernel check: ':' is 0:65535 in 1.8.9, 65536 queues",
    ("extensions/libxt_TCPOPTSTRIP.t", 3): "kernel check: TCPOPTSTRIP needs -p tcp on a real load",
    ("extensions/libipt_TPROXY.t", 3): "kernel check: TPROXY needs -p tcp or -p udp on a real load",
    ("extensions/libip6t_TPROXY.t", 3): "kernel check: TPROXY needs -p tcp or -p udp on a real load",
    ("extensions/libxt_SYNPROXY.t", 2): "kernel check: SYNPROXY needs -p tcp on a real load",
    ("extensions/libip6t_DNPT.t", 4): "kernel check: NPT prefixes longer than /64 fail on a real load",
    ("extensions/libip6t_SNPT.t", 4): "kernel check: NPT prefixes longer than /64 fail on a real load",
    ("extensions/libxt_SET.t", 3): "runtime state: the ipset 'foo' does not exist where the verdict was recorded",
}


def dump(text: str, table: str = "filter", chain: str = "INPUT") -> str:
    declare = "" if chain in BUILTIN_CHAINS.get(table, ()) else f":{chain} - [0:0]\n"
    return f"*{table}\n{declare}-A {chain} {text}\nCOMMIT\n"


def errors(text: str, family: Family = V4) -> list[str]:
    """The codes of the ERROR findings of a dump."""
    return [f.code for f in parse(text, "t.rules", family).findings if f.severity is Severity.ERROR]


def target_options(text: str, family: Family = V4, table: str = "filter", chain: str = "INPUT") -> dict:
    """The typed options of the target of a one-rule dump, which must parse cleanly."""
    result = parse(dump(text, table, chain), "t.rules", family)
    assert [f for f in result.findings if f.severity is Severity.ERROR] == []
    (rule,) = result.ruleset.rules
    return {option.name: option.value for option in rule.target.options}


# ---------------------------------------------------------------------------------------
# iptables' own extension tests
# ---------------------------------------------------------------------------------------


def target_cases():
    if not CASES.exists():
        return
    for line in CASES.read_text().splitlines():
        case = json.loads(line)
        if case["kind"] != "target" or case["family"] not in ("ipv4", "ipv6", "both"):
            continue
        for tool, verdict in (case.get("iptables_1_8_9_nft") or {}).items():
            if tool in ("iptables", "ip6tables"):
                yield case, V6 if tool == "ip6tables" else V4, verdict["test_ok"]


def test_iptables_extension_cases_agree():
    requires_corpus()
    agree = total = 0
    wrong = []
    for case, family, expected in target_cases():
        chain = case["chains"][0] if case["chains"] else "INPUT"
        ours = not errors(dump(case["rule"], case["table"] or "filter", chain), family)
        total += 1
        if ours == expected:
            agree += 1
        elif (case["file"], case["line"]) not in KNOWN:
            wrong.append(
                f"{case['file']}:{case['line']} [{family}] {case['rule']}: iptables {expected}, iptlint {ours}"
            )
    report_summary(f"targets: {agree}/{total} iptables extension cases agree with iptables-nft 1.8.9 --test")
    assert total > 300
    assert wrong == []


# ---------------------------------------------------------------------------------------
# One accepted rule with its typed values, one rejected rule, per target
# ---------------------------------------------------------------------------------------


def test_reject():
    assert target_options("-j REJECT --reject-with ICMP-H") == {"--reject-with": "icmp-host-unreachable"}
    assert target_options("-p tcp -j REJECT --reject-with tcp-rst") == {"--reject-with": "tcp-reset"}
    assert target_options("-j REJECT --reject-with adm", V6) == {"--reject-with": "icmp6-adm-prohibited"}
    assert errors(dump("-j REJECT --reject-with icmp-host-prohibited"), V6) == ["S108"]
    assert errors(dump("-j REJECT --reject-with tcp-reset")) == ["S117"]


def test_log_and_ulog():
    found = target_options('-j LOG --log-prefix "[UFW BLOCK] " --log-level warning --log-uid')
    assert found == {"--log-prefix": "[UFW BLOCK] ", "--log-level": 4, "--log-uid": None}
    assert errors(dump("-j LOG --log-level Alert")) == ["S108"]
    assert errors(dump('-j LOG --log-prefix ""')) == ["S108"]
    assert target_options("-j ULOG --ulog-nlgroup 32 --ulog-qthreshold 50")["--ulog-nlgroup"] == 32
    assert errors(dump("-j ULOG"), V6) == ["S125"]


def test_nflog():
    found = target_options('-j NFLOG --nflog-group 5 --nflog-prefix "dropped: " --nflog-size 128')
    assert found == {"--nflog-group": 5, "--nflog-prefix": "dropped: ", "--nflog-size": 128}
    assert errors(dump("-j NFLOG --nflog-range 1 --nflog-size 2")) == ["S117"]


def test_nfqueue():
    assert target_options("-j NFQUEUE --queue-balance 4: --queue-cpu-fanout")["--queue-balance"] == v.Range(4, 65535)
    assert errors(dump("-j NFQUEUE --queue-cpu-fanout")) == ["S117"]
    assert errors(dump("-j NFQUEUE --queue-balance 4:4")) == ["S108"]
    assert errors(dump("-j NFQUEUE --queue-balance :")) == ["S108"]


def test_dnat():
    to = target_options(
        "-p tcp -j DNAT --to-destination 10.0.0.1-10.0.0.9:1000-2000/3000", table="nat", chain="PREROUTING"
    )
    value = to["--to-destination"]
    assert value.addresses == v.AddressRange(ipaddress.ip_address("10.0.0.1"), ipaddress.ip_address("10.0.0.9"))
    assert (value.ports.lo, value.ports.hi, value.ports.base) == (1000, 2000, 3000)
    assert str(value) == "10.0.0.1-10.0.0.9:1000-2000/3000"
    six = target_options("-p tcp -j DNAT --to-destination [fd00::2]:ssh", V6, "nat", "PREROUTING")["--to-destination"]
    assert (str(six.addresses.lo), six.ports.range) == ("fd00::2", v.Range(22, 22))
    assert errors(dump("-j DNAT --to-destination 10.0.0.1:80", "nat", "PREROUTING")) == ["S117"]
    assert errors(dump("-p tcp -j DNAT --to-destination 10.0.0.1:80:90", "nat", "PREROUTING")) == ["S108"]
    assert errors(dump("-j DNAT", "nat", "PREROUTING")) == ["S117"]


def test_snat_masquerade_redirect_netmap():
    to = target_options("-j SNAT --to-source 203.0.113.7 --random-fully", table="nat", chain="POSTROUTING")
    assert str(to["--to-source"]) == "203.0.113.7"
    assert errors(dump("-j SNAT --to-source 1.1.1.1 --to-source 2.2.2.2", "nat", "POSTROUTING")) == ["S107"]
    masq = target_options("-p udp -j MASQUERADE --to-ports 1024-65535", table="nat", chain="POSTROUTING")
    assert masq["--to-ports"].range == v.Range(1024, 65535)
    assert errors(dump("-p udp -j MASQUERADE --to-ports 1024-65536", "nat", "POSTROUTING")) == ["S108"]
    redirect = target_options("-p tcp -j REDIRECT --to-ports 9040", table="nat", chain="OUTPUT")
    assert redirect["--to-ports"].range == v.Range(9040, 9040)
    assert errors(dump("-p tcp -j REDIRECT --to-ports 42-1234/567", "nat", "PREROUTING")) == ["S117"]
    netmap = target_options("-j NETMAP --to 192.168.101.0/24", table="nat", chain="PREROUTING")
    assert netmap["--to"].network == ipaddress.ip_network("192.168.101.0/24")
    assert errors(dump("-j NETMAP", "nat", "PREROUTING")) == ["S117"]


def test_mark_and_connmark():
    mark_module = importlib.import_module("iptlint.extensions.targets.mark")
    assert target_options("-j MARK --set-xmark 0x4000/0x4000") == {"--set-xmark": v.Masked(0x4000, 0x4000)}
    result = parse(dump("-j MARK --set-mark 0x1/0xff"), "t.rules", V4)
    ((option,),) = (rule.target.options for rule in result.ruleset.rules)
    assert mark_module.effect(option) == v.Masked(0x1, 0xFF)
    assert errors(dump("-j MARK --set-mark 1 --or-mark 2")) == ["S117"]
    assert errors(dump("-j MARK")) == ["S117"]
    found = target_options("-j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff")
    assert found == {"--restore-mark": None, "--nfmask": 0xFF, "--ctmask": 0xFF}
    assert errors(dump("-j CONNMARK --save-mark --mask 0xff --ctmask 1")) == ["S117"]
    assert errors(dump("-j CONNMARK")) == ["S117"]


def test_conntrack_targets():
    found = target_options("-j CT --zone mark --ctevents new,destroy --helper ftp", table="raw", chain="PREROUTING")
    assert found == {"--zone": "mark", "--ctevents": frozenset({"new", "destroy"}), "--helper": "ftp"}
    assert errors(dump("-j CT --zone 65536", "raw", "PREROUTING")) == ["S108"]
    assert errors(dump("-j CT --ctevents new,", "raw", "PREROUTING")) == ["S108"]
    assert target_options("-j NOTRACK", table="raw", chain="PREROUTING") == {}
    assert errors(dump("-j NOTRACK --zone 1", "raw", "PREROUTING")) == ["S109"]
    assert target_options("-j TRACE", table="raw", chain="OUTPUT") == {}


def test_mangle_targets():
    assert target_options("-j CHECKSUM --checksum-fill", table="mangle", chain="POSTROUTING") == {
        "--checksum-fill": None
    }
    assert errors(dump("-j CHECKSUM", "mangle", "POSTROUTING")) == ["S117"]
    assert target_options("-j TOS --set-tos Minimize-Delay", table="mangle") == {"--set-tos": v.Masked(0x10, 0x3F)}
    assert errors(dump("-j TOS --and-tos 0x10 --or-tos 1", "mangle")) == ["S117"]
    assert target_options("-j DSCP --set-dscp-class EF", table="mangle") == {"--set-dscp-class": 0x2E}
    assert errors(dump("-j DSCP --set-dscp 0x40", "mangle")) == ["S108"]
    assert target_options("-p tcp -j ECN --ecn-tcp-remove", table="mangle") == {"--ecn-tcp-remove": None}
    assert errors(dump("-j ECN --ecn-tcp-cwr 1", "mangle")) == ["S117"]
    assert target_options("-j TTL --ttl-dec 1", table="mangle") == {"--ttl-dec": 1}
    assert errors(dump("-j TTL --ttl-inc 0", "mangle")) == ["S108"]
    assert target_options("-j HL --hl-set 64", V6, table="mangle") == {"--hl-set": 64}
    assert errors(dump("-j HL --hl-dec 1 --hl-inc 1", "mangle"), V6) == ["S117"]
    strip = target_options("-p tcp -j TCPOPTSTRIP --strip-options mss,8", table="mangle")
    assert strip == {"--strip-options": frozenset({2, 8})}
    assert errors(dump("-p tcp -j TCPOPTSTRIP --strip-options 1", "mangle")) == ["S108"]


def test_tcpmss_tproxy_synproxy():
    found = target_options("-p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --set-mss 1400", table="mangle")
    assert found == {"--set-mss": 1400}
    assert errors(dump("-j TCPMSS --clamp-mss-to-pmtu", "mangle", "FORWARD")) == ["S117"]
    assert errors(dump("-p tcp -j TCPMSS --set-mss 65496", "mangle"), V6) == ["S108"]
    tproxy = target_options(
        "-p tcp -j TPROXY --on-port 3129 --on-ip 10.0.0.1 --tproxy-mark 0x1/0x1", table="mangle", chain="PREROUTING"
    )
    assert tproxy["--on-port"] == 3129 and tproxy["--tproxy-mark"] == v.Masked(1, 1)
    assert tproxy["--on-ip"].network == ipaddress.ip_network("10.0.0.1/32")
    assert errors(dump("-p tcp -j TPROXY --on-ip 10.0.0.1", "mangle", "PREROUTING")) == ["S117"]
    syn = target_options("-p tcp -j SYNPROXY --sack-perm --wscale 7 --mss 1460")
    assert syn == {"--sack-perm": None, "--wscale": 7, "--mss": 1460}
    assert errors(dump("-j SYNPROXY --mss 1460")) == ["S117"]


def test_other_targets():
    assert target_options("-j AUDIT --type DROP") == {"--type": "drop"}
    assert errors(dump("-j AUDIT --type wrong")) == ["S108"]
    assert str(target_options("-j CLASSIFY --set-class 1:10")["--set-class"]) == "1:10"
    assert errors(dump("-j CLASSIFY --set-class 1")) == ["S108"]
    assert target_options("-j CONNSECMARK --save", table="security") == {"--save": None}
    assert errors(dump("-j CONNSECMARK --save --restore", "security")) == ["S117"]
    assert target_options("-j SECMARK --selctx system_u:object_r:ssh_packet_t:s0", table="mangle") == {
        "--selctx": "system_u:object_r:ssh_packet_t:s0"
    }
    assert errors(dump("-j SECMARK", "mangle")) == ["S117"]
    tee = target_options("-j TEE --gateway 2001:db8::1 --oif eth1", V6)
    assert tee["--gateway"].network == ipaddress.ip_network("2001:db8::1/128") and str(tee["--oif"]) == "eth1"
    assert errors(dump("-j TEE ! --gateway 1.1.1.1")) == ["S116"]
    idle = target_options("-j IDLETIMER --timeout 10 --label 0 --alarm")
    assert idle == {"--timeout": 10, "--label": "0", "--alarm": None}
    assert errors(dump("-j IDLETIMER --timeout 0 --label a")) == ["S108"]
    assert target_options("-j LED --led-trigger-id ssh --led-delay inf") == {
        "--led-trigger-id": "ssh",
        "--led-delay": None,
    }
    assert errors(dump("-j LED --led-trigger-id 12345678901234567")) == ["S108"]


def test_hash_rate_and_set_targets():
    hmark = target_options("-j HMARK --hmark-tuple s,d,sport --hmark-mod 4 --hmark-rnd 0xcafe")
    assert hmark == {"--hmark-tuple": ("src", "dst", "sport"), "--hmark-mod": 4, "--hmark-rnd": 0xCAFE}
    assert errors(dump("-j HMARK --hmark-tuple spi,sport --hmark-rnd 1 --hmark-mod 2")) == ["S117"]
    assert errors(dump("-j HMARK --hmark-tuple src --hmark-src-prefix 24 --hmark-rnd 1 --hmark-mod 2")) == ["S117"]
    rate = target_options("-j RATEEST --rateest-name RE1 --rateest-interval 250.0ms --rateest-ewmalog 500.0ms")
    assert rate == {"--rateest-name": "RE1", "--rateest-interval": 250_000, "--rateest-ewmalog": 500_000}
    assert errors(dump("-j RATEEST --rateest-name a --rateest-interval 9s --rateest-ewmalog 20s")) == ["S117"]
    found = target_options("-j SET --add-set ssh-clients src --exist --timeout 3600")
    assert (found["--add-set"].name, found["--add-set"].directions, found["--timeout"]) == (
        "ssh-clients",
        ("src",),
        3600,
    )
    assert errors(dump("-j SET --del-set foo src --exist")) == ["S117"]


def test_ipv6_only_and_ipv4_only_targets():
    prefix = target_options("-j DNPT --src-pfx 2001:db8:1::/48 --dst-pfx fd00:1::/48", V6, "mangle", "PREROUTING")
    assert prefix["--src-pfx"] == ipaddress.ip_network("2001:db8:1::/48")
    assert errors(dump("-j SNPT --src-pfx dead::1/64 --dst-pfx 1c3::/64", "mangle", "POSTROUTING"), V6) == ["S108"]
    assert errors(dump("-j DNPT --src-pfx 10.0.0.0/8 --dst-pfx 10.1.0.0/8", "mangle", "PREROUTING")) == ["S125"]
    cluster = target_options(
        "-j CLUSTERIP --new --hashmode sourceip --clustermac 01:00:5e:00:00:20 --total-nodes 2 --local-node 1"
    )
    assert cluster["--clustermac"] == "01:00:5E:00:00:20"
    assert errors(dump("-j CLUSTERIP --new --hashmode sourceip")) == ["S117"]


# ---------------------------------------------------------------------------------------
# Where a target may be used and whether it ends evaluation
# ---------------------------------------------------------------------------------------

PLACES = {
    # name: (tables, hooks), from the kernel's struct xt_target and checkentry functions
    "DNAT": (("nat",), ("PREROUTING", "OUTPUT")),
    "SNAT": (("nat",), ("POSTROUTING", "INPUT")),
    "MASQUERADE": (("nat",), ("POSTROUTING",)),
    "REDIRECT": (("nat",), ("PREROUTING", "OUTPUT")),
    "NETMAP": (("nat",), ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")),
    "REJECT": (("filter",), ("INPUT", "FORWARD", "OUTPUT")),
    "TPROXY": (("mangle",), ("PREROUTING",)),
    "CT": (("raw",), None),
    "NOTRACK": (("raw",), None),
    "TRACE": (("raw",), None),
    "TCPOPTSTRIP": (("mangle",), None),
    "CHECKSUM": (("mangle",), None),
    "TOS": (("mangle",), None),
    "DSCP": (("mangle",), None),
    "ECN": (("mangle",), None),
    "TTL": (("mangle",), None),
    "HL": (("mangle",), None),
    "SECMARK": (("mangle", "security"), None),
    "CONNSECMARK": (("mangle", "security"), None),
    "DNPT": (("mangle",), ("PREROUTING", "OUTPUT")),
    "SNPT": (("mangle",), ("INPUT", "POSTROUTING")),
    "CLASSIFY": (None, ("FORWARD", "OUTPUT", "POSTROUTING")),
    "SYNPROXY": (None, ("INPUT", "FORWARD")),
    "LOG": (None, None),
    "MARK": (None, None),
    "TCPMSS": (None, None),  # --clamp-mss-to-pmtu alone is limited, see tcpmss.CLAMP_HOOKS
}
TERMINAL = {"DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP", "REJECT", "NFQUEUE", "TPROXY"}


@pytest.mark.parametrize("name", sorted(PLACES))
def test_tables_and_hooks(name):
    extension = extensions.find("target", name)
    assert (extension.tables, extension.hooks) == PLACES[name]


@pytest.mark.parametrize("name", TARGETS)
def test_every_iptables_target_has_a_documented_table(name):
    extension = extensions.find("target", name)
    assert extension is not None and extension.kind == "target"
    assert extension.terminal is (name in TERMINAL)
    module = importlib.import_module(f"iptlint.extensions.targets.{name.lower()}")
    assert module.__doc__ and f"-j {name}" in module.__doc__


def docstring_rules(name: str) -> list[str]:
    """The example rules of a target's docstring (indented `-A` lines, continuations joined)."""
    doc = importlib.import_module(f"iptlint.extensions.targets.{name.lower()}").__doc__
    rules: list[str] = []
    for line in doc.splitlines():
        if re.match(r"    -A ", line):
            rules.append(line.strip())
        elif rules and re.match(r"        \S", line) and not line.strip().startswith("-A"):
            rules[-1] += " " + line.strip()
    return rules


@pytest.mark.parametrize("name", TARGETS)
def test_docstring_examples_parse(name):
    extension = extensions.find("target", name)
    table = extension.tables[0] if extension.tables else "filter"
    for text in docstring_rules(name):
        chain, rest = text[3:].split(" ", 1)
        if chain not in BUILTIN_CHAINS[table]:
            table = next(
                (t for t, chains in BUILTIN_CHAINS.items() if chain in chains and t in (extension.tables or (t,))),
                table,
            )
        six = extension.family == "ipv6" or "::" in rest
        assert errors(dump(rest, table, chain), V6 if six else V4) == [], text


def test_every_target_of_the_corpus_has_a_table():
    requires_corpus()
    used = set()
    for path in (CORPUS / "real").rglob("*.rules"):
        used |= set(re.findall(r"(?:-j|--jump) ([A-Z][A-Z0-9]+)\b", path.read_text(errors="replace")))
    untyped = sorted(name for name in used & IPTABLES_TARGETS if extensions.find("target", name) is None)
    assert untyped == []
