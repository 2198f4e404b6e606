"""Match tables, part 1: tcp, udp, udplite, sctp, dccp, icmp, multiport, conntrack, state,
addrtype, comment, mark, connmark, set, limit, hashlimit, recent, iprange, mac, physdev,
owner, statistic, string, u32, length.

* Each case of iptables' own extension tests for these modules, parsed as a one-rule
  dump, gets the verdict `iptables-nft-restore --test` 1.8.9 recorded for it, except the
  few listed in KNOWN with the reason (the kernel-run comparison is test_differential.py).
* Value parsers read what iptables reads, typed.
* Errors point at the option that is wrong (code, line, column).
* Every rule shown in a module's docstring parses without an error.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import re
from pathlib import Path

import pytest
from conftest import CORPUS, report_summary, requires_corpus
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptlint import extensions
from iptlint.findings import Severity
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family
from iptlint.syntax.parser import parse

MODULES = (
    "tcp", "udp", "udplite", "sctp", "dccp", "icmp", "multiport", "conntrack", "state", "addrtype",
    "comment", "mark", "connmark", "set", "limit", "hashlimit", "recent", "iprange", "mac", "physdev",
    "owner", "statistic", "string", "u32", "length",
)  # fmt: skip
CASES = CORPUS / "iptables-tests" / "extensions.validated.jsonl"

# (test file, line) -> why iptlint's verdict differs from the one `--test` 1.8.9 recorded.
KNOWN = {
    ("extensions/libipt_recent.t", 6): "kernel check: --hitcount above 65535 fails on a real load, not with --test",
    ("extensions/libip6t_recent.t", 6): "kernel check: --hitcount above 65535 fails on a real load, not with --test",
    ("extensions/libxt_set.t", 4): "runtime state: the ipset 'foo' does not exist where the verdict was recorded",
    ("extensions/libxt_owner.t", 16): "kernel check: -m owner only in OUTPUT/POSTROUTING; --test does not check hooks",
}


def errors(text: str, family: Family = Family.IPV4) -> list[tuple[str, int, int]]:
    """(code, line, column) of each ERROR finding of a dump."""
    result = parse(text, "t.rules", family)
    return [(f.code, f.span.line, f.span.column) for f in result.findings if f.severity is Severity.ERROR]


def rule(text: str, table: str = "filter", chain: str = "INPUT") -> str:
    return f"*{table}\n-A {chain} {text}\nCOMMIT\n"


def value(module: str, option: str, words, family: Family = Family.IPV4):
    spec = extensions.find("match", module).option(option)
    return spec.parse(words, family)


# ---------------------------------------------------------------------------------------
# Agreement with the verdicts iptables 1.8.9 recorded
# ---------------------------------------------------------------------------------------


def _cases(module: str):
    for line in CASES.read_text().splitlines():
        case = json.loads(line)
        if case["module"] != module or case["family"] not in ("ipv4", "ipv6", "both"):
            continue
        for tool, verdict in (case.get("iptables_1_8_9_nft") or {}).items():
            family = Family.IPV6 if tool == "ip6tables" else Family.IPV4
            yield case, family, verdict["test_ok"]


def _dump(case) -> str:
    chain = case["chains"][0] if case["chains"] else "INPUT"
    builtin = chain in ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")
    declare = "" if builtin else f":{chain} - [0:0]\n"
    return f"*{case['table'] or 'filter'}\n{declare}-A {chain} {case['rule']}\nCOMMIT\n"


@pytest.mark.parametrize("module", MODULES)
def test_agrees_with_recorded_verdicts(module):
    requires_corpus()
    wrong, known, total = [], 0, 0
    for case, family, iptables_ok in _cases(module):
        total += 1
        ours = not errors(_dump(case), family)
        if ours == iptables_ok:
            continue
        if (case["file"], case["line"]) in KNOWN:
            known += 1
        else:
            wrong.append(
                f"{case['file']}:{case['line']} [{family}] iptables={iptables_ok} iptlint={ours}: {case['rule']}"
            )
    if total:
        note = f" ({known} known differences)" if known else ""
        agree = total - len(wrong) - known
        report_summary(f"matches part 1: {module}: {agree}/{total} agree with --test 1.8.9{note}")
    assert not wrong, "\n".join(wrong)


def test_known_differences_still_differ():
    requires_corpus()
    for case, family, iptables_ok in (c for m in MODULES for c in _cases(m)):
        if (case["file"], case["line"]) in KNOWN:
            assert (not errors(_dump(case), family)) != iptables_ok, f"{case['file']}:{case['line']} now agrees"


# ---------------------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------------------


def test_icmp_types_by_name_prefix_number_and_code():
    icmp = importlib.import_module("iptlint.extensions.matches.icmp")
    assert value("icmp", "--icmp-type", "echo-request") == icmp.IcmpType(8, 0, 255)
    assert value("icmp", "--icmp-type", "Port-Unr") == icmp.IcmpType(3, 3, 3)
    assert value("icmp", "--icmp-type", "any").any
    assert value("icmp", "--icmp-type", "3/4") == icmp.IcmpType(3, 4, 4)
    assert value("icmp", "--icmp-type", "3/0:4") == icmp.IcmpType(3, 0, 4)
    assert str(value("icmp", "--icmp-type", "11")) == "11"


@pytest.mark.parametrize("text", ["echo", "8:9", "256", "3/256", "3/x", "nonsense", ""])
def test_icmp_types_iptables_refuses(text):
    with pytest.raises(ValueError):
        value("icmp", "--icmp-type", text)


def test_multiport_counts_a_range_as_two_ports():
    ports = value("multiport", "--dports", "ssh,80,8000:8080")
    assert ports == (v.Range(22, 22), v.Range(80, 80), v.Range(8000, 8080))
    assert len(value("multiport", "--ports", ",".join(str(p) for p in range(1, 16)))) == 15
    with pytest.raises(ValueError, match="too many"):
        value("multiport", "--ports", "1:2,3:4,5:6,7:8,9:10,11:12,13:14,15,16")
    with pytest.raises(ValueError, match="too many"):
        value("multiport", "--ports", ",".join(str(p) for p in range(1, 15)) + ",20:30")
    with pytest.raises(ValueError, match="invalid"):
        value("multiport", "--dports", "80:80")


def test_sctp_chunk_types_with_flags():
    chunks = value("sctp", "--chunk-types", ("any", "DATA:Be,init"))
    assert chunks.how == "any"
    assert [(c.name, c.set, c.clear) for c in chunks.chunks] == [("DATA", "B", "E"), ("INIT", "", "")]
    assert value("sctp", "--chunk-types", ("only", "ALL")).every_type
    for bad in (("some", "DATA"), ("all", "BOGUS"), ("all", "INIT:T")):
        with pytest.raises(ValueError):
            value("sctp", "--chunk-types", bad)


def test_states_may_be_abbreviated_like_strncasecmp():
    assert value("conntrack", "--ctstate", "est,Rel") == frozenset({"ESTABLISHED", "RELATED"})
    assert value("state", "--state", "E") == frozenset({"ESTABLISHED"})
    with pytest.raises(ValueError):
        value("state", "--state", "SNAT")
    with pytest.raises(ValueError):
        value("conntrack", "--ctstate", "NEW,")


def test_inverted_ranges_load_in_1_8_9_but_never_match():
    assert value("udp", "--dport", "4:3") == v.Range(4, 3)
    assert 3 not in value("udp", "--dport", "4:3")
    assert value("length", "--length", ":4") == v.Range(0, 4)
    with pytest.raises(ValueError):
        value("tcp", "--dport", "4:3")


def test_port_numbers_read_as_each_module_reads_them():
    assert value("tcp", "--dport", "010") == v.Range(8, 8)  # strtoul(..., 0)
    assert value("udp", "--dport", "010") == v.Range(10, 10)  # getaddrinfo: decimal only
    assert value("conntrack", "--ctorigdstport", "domain:") == v.Range(53, 65535)
    for bad in ("0x10", "70000", "-1", "1:2:3"):
        with pytest.raises(ValueError):
            value("udp", "--dport", bad)


def test_tcp_flags_are_iptables_six():
    flags = value("tcp", "--tcp-flags", ("ALL", "syn,ack"))
    assert flags.mask == frozenset({"FIN", "SYN", "RST", "PSH", "ACK", "URG"})
    assert flags.set == frozenset({"SYN", "ACK"})
    with pytest.raises(ValueError):
        value("tcp", "--tcp-flags", ("ECE", "SYN"))


def test_limit_rates_the_kernel_can_represent():
    assert value("limit", "--limit", "3/min") == v.Rate(3, 60, "minute")
    assert value("limit", "--limit", "10000/s") == v.Rate(10000, 1, "second")
    assert value("limit", "--limit", "5x/s") == v.Rate(5, 1, "second")  # atoi() ignores the x
    for bad in ("10001/second", "0/s", "-5/s", "5/minutes", "5/", "x"):
        with pytest.raises(ValueError):
            value("limit", "--limit", bad)


def test_hashlimit_byte_rates_and_bursts():
    hashlimit = importlib.import_module("iptlint.extensions.matches.hashlimit")
    assert value("hashlimit", "--hashlimit-upto", "4kb/s") == hashlimit.ByteRate(4096)
    assert value("hashlimit", "--hashlimit-burst", "400kb") == 400 * 1024
    assert value("hashlimit", "--hashlimit-srcmask", "255.255.255.0") == 24
    assert value("hashlimit", "--hashlimit-mode", "srcip|dstport") == frozenset({"srcip", "dstport"})
    assert value("hashlimit", "--hashlimit-upto", "5gb/s") == hashlimit.ByteRate(5)  # only k and m scale
    for option, bad in (("--hashlimit-mode", "srcmac"), ("--hashlimit-name", ""), ("--hashlimit-name", "a/b")):
        with pytest.raises(ValueError):
            value("hashlimit", option, bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("|0a0a|", b"\n\n"),
        ("abc|0d 0a|def", b"abc\r\ndef"),
        ("| 41 42 |", b"AB"),
        ("a\\|b", b"a|b"),
        ("|41||42|", b"A|42"),  # the `|` right after a block is text
    ],
)
def test_hex_strings_as_parse_hex_string_reads_them(text, expected):
    assert value("string", "--hex-string", text) == expected


@pytest.mark.parametrize("text", ["|0a", "||", "|0g|", "|0a\\|", "x\\", ""])
def test_hex_strings_iptables_refuses(text):
    with pytest.raises(ValueError):
        value("string", "--hex-string", text)


def test_u32_tests():
    (test,) = value("u32", "--u32", "0>>22&0x3C@ 12>>26&0x3C@ 0=0x47455420")
    assert test.start == 0 and test.steps[:2] == ((">>", 22), ("&", 0x3C))
    assert test.values == (v.Range(0x47455420, 0x47455420),)
    assert len(value("u32", "--u32", "6&0xFF=1:2,6 && 1=1")) == 2
    for bad in ("6&0xFF", "=5", "6=5 7", "1<2=1", "1=1&&", "1=" + ",".join(["1"] * 11)):
        with pytest.raises(ValueError):
            value("u32", "--u32", bad)


def test_set_owner_mac_iprange_values():
    match = value("set", "--match-set", ("docker-ext-bridges-v4", "dst"))
    assert (match.name, match.directions) == ("docker-ext-bridges-v4", ("dst",))
    assert value("owner", "--uid-owner", "1000-1999") == v.Range(1000, 1999)
    assert value("owner", "--uid-owner", "www-data") == "www-data"
    with pytest.raises(ValueError, match="inverted"):
        value("owner", "--uid-owner", "10-5")
    assert value("mac", "--mac-source", "52:54:0:AB:cd:1") == "52:54:00:ab:cd:01"
    reversed_range = value("iprange", "--src-range", "10.0.0.9-10.0.0.1")
    assert str(reversed_range) == "10.0.0.9-10.0.0.1"
    with pytest.raises(ValueError):
        value("iprange", "--src-range", "fd00::1-fd00::2")


# ---------------------------------------------------------------------------------------
# Errors, by position
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-p udp -m udp --dport 65536", [("S108", 2, 24)]),
        ("-m udp --dport 53", [("S117", 2, 10)]),
        ("-p udplite -m udplite", [("S117", 2, 21)]),
        ("-p tcp -m multiport --sports 22 --dports 80", [("S117", 2, 42)]),
        ("-p tcp -m multiport", [("S117", 2, 17)]),
        ("-m multiport --dports 80", [("S117", 2, 10)]),
        ("-m icmp --icmp-type 8", [("S117", 2, 10)]),
        ("-m conntrack", [("S117", 2, 10)]),
        ("-m state --state NEW,SNAT", [("S108", 2, 19)]),
        ("-m addrtype --limit-iface-in", [("S117", 2, 10)]),
        ("-m limit ! --limit 5/s", [("S116", 2, 19)]),
        ("-m hashlimit --hashlimit-upto 5/s", [("S117", 2, 10)]),
        ("-m recent --set --rcheck", [("S117", 2, 26)]),
        ("-m recent --rcheck --reap", [("S117", 2, 10)]),
        ("-m owner --suppl-groups --gid-owner 10", [("S117", 2, 10)]),
        ("-m statistic --mode nth --every 3 --packet 3", [("S117", 2, 10)]),
        ("-m string --algo bm --string x --hex-string |41|", [("S117", 2, 41)]),
        ("-m mark --mark 0x1/0x100000000", [("S108", 2, 18)]),
        ("-m mac --mac-source 52:54:00:12:34", [("S108", 2, 17)]),
    ],
)
def test_errors_point_at_the_option(text, expected):
    assert errors(rule(text)) == expected


def test_addrtype_types_the_ipv6_kernel_lacks():
    assert errors(rule("-m addrtype --dst-type BROADCAST"), Family.IPV6) == [("S117", 2, 10)]
    assert errors(rule("-m addrtype --dst-type BROADCAST"), Family.IPV4) == []
    assert errors(rule("-m addrtype --src-type LOCAL,MULTICAST"), Family.IPV6) == []


def test_icmp_is_ipv4_only():
    assert errors(rule("-p icmp -m icmp --icmp-type 8"), Family.IPV6) == [("S125", 2, 18)]


def test_implicit_protocol_matches():
    assert errors(rule("-p udp --dport 53 -j ACCEPT")) == []
    assert errors(rule("-p sctp --chunk-types any INIT")) == []
    assert errors(rule("-p icmp --icmp-type echo-request")) == []
    assert errors(rule("-p dccp --dccp-types REQUEST")) == []


# ---------------------------------------------------------------------------------------
# Docstrings
# ---------------------------------------------------------------------------------------

_EXAMPLE = re.compile(r"^ {4}(-[^\n]+)$", re.M)
_TARGET = re.compile(r"\s+-[jg]\s.*$|\s+\(.*\)$")


@pytest.mark.parametrize("module", MODULES)
def test_docstring_documents_the_extension_with_clean_examples(module):
    doc = importlib.import_module(f"iptlint.extensions.matches.{module}").__doc__
    assert doc and doc.startswith(f"{module}: "), "the docstring starts with the extension's name"
    examples = _EXAMPLE.findall(doc)
    assert examples, "the docstring shows at least one rule"
    hooks = extensions.find("match", module).hooks or ("INPUT",)
    chain = next(c for c in (*hooks, "INPUT") if c in ("INPUT", "FORWARD", "OUTPUT"))
    for example in examples:
        text = _TARGET.sub("", example.split("  (")[0]).strip()
        families = (Family.IPV4, Family.IPV6)
        assert any(not errors(rule(text, chain=chain), family) for family in families), example


def test_every_module_of_part_1_has_a_table():
    for module in MODULES:
        extension = extensions.find("match", module)
        assert extension is not None and extension.kind == "match", module
        assert Path(importlib.import_module(f"iptlint.extensions.matches.{module}").__file__).stem == module


# ---------------------------------------------------------------------------------------
# Robustness: a value parser may only refuse a word with ValueError (the parser's contract)
# ---------------------------------------------------------------------------------------

_WORD = st.text(alphabet=st.sampled_from("0123456789abcdefxX:,-/|\\ .&@<>=!_kmbsSYNALL"), max_size=24)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
@pytest.mark.parametrize("module", MODULES)
def test_value_parsers_raise_only_value_error(module, data):
    for spec in extensions.find("match", module).options:
        if spec.parse is None:
            continue
        words = tuple(data.draw(_WORD) for _ in range(spec.nargs))
        for family in (Family.IPV4, Family.IPV6):
            with contextlib.suppress(ValueError):
                spec.parse(words[0] if spec.nargs == 1 else words, family)
