"""Option tables of the match extensions, part 2: header, QoS, conntrack-accounting, IPsec and IPv6 matches.

Each case is a one-rule dump with what iptables 1.8.9 does with it (checked in a network
namespace with `ip(6)tables-nft-restore`, or a real load where only the kernel refuses):
accepted, or refused with the S1xx code iptlint gives.  Then the typed values, the
examples of each module's docstring, iptables' own extension tests and the real corpus.
"""

from __future__ import annotations

import json
import re

import kernel
import pytest
from conftest import CORPUS, requires_corpus, requires_root_tools

from iptlint import extensions
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family
from iptlint.syntax.parser import parse

MODULES = [
    "ttl",
    "hl",
    "tos",
    "dscp",
    "ecn",
    "pkttype",
    "policy",
    "rpfilter",
    "socket",
    "time",
    "tcpmss",
    "connlimit",
    "connbytes",
    "connlabel",
    "helper",
    "devgroup",
    "cgroup",
    "bpf",
    "ipvs",
    "quota",
    "realm",
    "cluster",
    "cpu",
    "nfacct",
    "osf",
    "rateest",
    "ipcomp",
    "eui64",
    "srh",
    "ipv6header",
    "frag",
    "rt",
    "hbh",
    "dst",
    "mh",
    "ah",
    "esp",
    "icmp6",
]

V4, V6 = Family.IPV4, Family.IPV6
OK = None


def dump(rule: str, table: str = "filter", chain: str = "INPUT") -> str:
    return f"*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {rule}\nCOMMIT\n"


def errors(text: str, family: Family) -> list[str]:
    return [f.code for f in parse(text, "t.rules", family).findings if f.severity.name == "ERROR"]


# Where a rule must go for the kernel to take it: some matches are limited to tables or
# hooks (rpfilter: raw/mangle PREROUTING; devgroup --dst-group and policy --dir out: not INPUT).
_CONTEXTS = (
    ("-m rpfilter", "raw", "PREROUTING"),
    ("--dst-group", "filter", "FORWARD"),
    ("--dir out", "filter", "OUTPUT"),
)


def case_dump(rule: str) -> str:
    for needle, table, chain in _CONTEXTS:
        if needle in rule:
            return dump(rule, table, chain)
    return dump(rule)


def first_error(rule: str, family: Family) -> str | None:
    found = errors(case_dump(rule), family)
    return found[0] if found else None


# (family, rule, None when iptables accepts it, else the code iptlint reports)
CASES = [
    # ttl, hl
    (V4, "-m ttl --ttl-eq 64", OK),
    (V4, "-m ttl --ttl 5", OK),
    (V4, "-m ttl ! --ttl-eq 255", OK),
    (V4, "-m ttl --ttl-eq 256", "S108"),
    (V4, "-m ttl --ttl-lt 5 --ttl-gt 1", "S117"),
    (V4, "-m ttl ! --ttl-lt 5", "S116"),
    (V4, "-m ttl", "S117"),
    (V6, "-m ttl --ttl-eq 1", "S125"),
    (V6, "-m hl --hl-eq 255", OK),
    (V6, "-m hl --hl-gt 42 --hl-eq 42", "S117"),
    (V4, "-m hl --hl-eq 1", "S125"),
    # tos, dscp, ecn
    (V4, "-m tos --tos Minimize-Delay", OK),
    (V4, "-m tos --tos minimize-cost", OK),
    (V6, "-m tos ! --tos 0x0f/0x0f", OK),
    (V4, "-m tos --tos 300", "S108"),
    (V4, "-m tos --tos 0x10/", "S108"),
    (V4, "-m tos --tos wrong", "S108"),
    (V4, "-m tos", "S117"),
    (V4, "-m dscp --dscp 0x3f", OK),
    (V4, "-m dscp --dscp-class ef", OK),
    (V4, "-m dscp --dscp-class EFX", OK),  # class_to_dscp compares a prefix
    (V4, "-m dscp --dscp-class AF1", "S108"),
    (V4, "-m dscp --dscp 0x40", "S108"),
    (V4, "-m dscp --dscp 1 --dscp-class BE", "S117"),
    (V4, "-m dscp", "S117"),
    (V4, "-p tcp -m ecn --ecn-tcp-ece ! --ecn-tcp-cwr --ecn-ip-ect 2", OK),
    (V4, "-m ecn --ecn-ip-ect 3", OK),
    (V4, "-m ecn --ecn-ip-ect 4", "S108"),
    (V4, "-m ecn --ecn-tcp-cwr", "S117"),  # the kernel wants -p tcp
    (V4, "-m ecn", "S117"),
    # pkttype, rpfilter, socket, cpu, quota, helper, nfacct
    (V4, "-m pkttype --pkt-type BCAST", OK),
    (V4, "-m pkttype ! --pkt-type otherhost", OK),
    (V4, "-m pkttype --pkt-type outgoing", "S108"),
    (V4, "-m pkttype", "S117"),
    (V4, "-m rpfilter --loose --validmark --accept-local --invert", OK),
    (V4, "-m rpfilter ! --loose", "S116"),
    (V4, "-m socket --transparent --nowildcard --restore-skmark", OK),
    (V4, "-m socket --transparent --transparent", "S107"),
    (V4, "-m cpu ! --cpu 4294967295", OK),
    (V4, "-m cpu --cpu 4294967296", "S108"),
    (V4, "-m quota --quota 18446744073709551615", OK),
    (V4, "-m quota --quota 18446744073709551616", "S108"),
    (V4, "-m helper --helper ftp", OK),
    (V4, "-m helper", "S117"),
    (V4, "-m nfacct --nfacct-name http-in", OK),
    (V4, '-m nfacct --nfacct-name ""', "S108"),
    # time
    (V4, "-m time --timestart 8:00 --timestop 18:00 --weekdays Mon,Tue,Fri", OK),
    (V4, "-m time --datestart 2001-02-03T04:05:06 --datestop 2038 --kerneltz", OK),
    (V4, "-m time --monthdays 1,15,31 ! --weekdays Sat,Sun", OK),
    (V4, "-m time --localtz --kerneltz", OK),
    (V4, "-m time --timestart 22:00 --timestop 06:00 --contiguous", OK),
    (V4, "-m time --timestart 06:00 --timestop 22:00 --contiguous", "S117"),
    (V4, "-m time --timestart 24:00", "S108"),
    (V4, "-m time --datestart 1969-12-31", "S108"),
    (V4, "-m time --datestart 2012-13", "S108"),
    (V4, "-m time --monthdays 32", "S108"),
    (V4, "-m time --weekdays 0", "S108"),
    (V4, "-m time --weekdays mon", "S108"),  # the names are case-sensitive
    (V4, "-m time --utc --kerneltz", "S117"),
    (V4, "-m time --days Mon", "S109"),  # removed long ago: now --weekdays
    # tcpmss, connlimit, connbytes, connlabel
    (V4, "-p tcp -m tcpmss --mss 1400:65535", OK),
    (V4, "-p tcp -m tcpmss --mss 65535:1000", "S108"),
    (V4, "-m tcpmss --mss 42", "S117"),  # the kernel wants -p tcp
    (V4, "-m connlimit --connlimit-above 3 --connlimit-mask 24 --connlimit-saddr", OK),
    (V4, "-m connlimit --connlimit-upto 3 --connlimit-mask 255.255.255.0", OK),
    (V6, "-m connlimit --connlimit-above 3 --connlimit-mask 64 --connlimit-daddr", OK),
    (V6, "-m connlimit --connlimit-above 3 --connlimit-mask 129", "S108"),
    (V4, "-m connlimit --connlimit-above 10 --connlimit-saddr --connlimit-daddr", "S117"),
    (V4, "-m connlimit --connlimit-upto 1 --connlimit-above 1", "S117"),
    (V4, "-m connlimit", "S117"),
    (V4, "-m connbytes --connbytes 10000: --connbytes-mode bytes --connbytes-dir both", OK),
    (V4, "-m connbytes --connbytes 1000:0 --connbytes-mode bytes --connbytes-dir both", "S108"),
    (V4, "-m connbytes --connbytes 10 --connbytes-mode Bytes --connbytes-dir both", "S108"),
    (V4, "-m connbytes --connbytes 0:1000 --connbytes-mode packets", "S117"),
    (V4, "-m connlabel --label 127 --set", OK),
    (V4, "-m connlabel ! --label blocked", OK),  # a name of the loading host's connlabel.conf
    (V4, "-m connlabel --label 128", "S108"),  # the kernel has 128 bits
    # devgroup, realm, cgroup, bpf, ipvs, cluster, osf
    (V4, "-m devgroup --src-group 1/0xff ! --dst-group default", OK),
    (V4, "-m devgroup --src-group 1/", "S108"),
    (V4, "-m devgroup", "S117"),
    (V4, "-m realm --realm 0x1/0x2a", OK),
    (V4, "-m realm ! --realm cosmos", OK),
    (V4, "-m realm --realm 5x", "S108"),
    (V6, "-m realm --realm 1", "S125"),
    (V4, "-m cgroup --path /", OK),
    (V4, "-m cgroup ! --cgroup 1", OK),
    (V4, '-m cgroup --cgroup 1 --path "/"', "S117"),  # the kernel wants exactly one
    (V4, "-m cgroup", "S117"),
    (V4, '-m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"', OK),
    (V4, '-m bpf --bytecode "3,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0"', "S108"),
    (V4, '-m bpf --bytecode "0,"', "S108"),
    (V4, "-m bpf", "S117"),
    (V4, "-m ipvs --vproto tcp --vaddr 10.0.0.0/8 --vport http --vdir REPLY --vmethod masq", OK),
    (V4, "-m ipvs ! --vproto TCP ! --vportctl 21", OK),
    (V4, "-m ipvs ! --ipvs --vport 22", "S117"),
    (V4, "-m ipvs --vaddr 2001:db8::1", "S125"),
    (V4, "-m ipvs", "S117"),
    (V4, "-m cluster --cluster-total-nodes 2 --cluster-local-node 2 --cluster-hash-seed 0xfeedcafe", OK),
    (V4, "-m cluster --cluster-total-nodes 2 --cluster-local-nodemask 3 --cluster-hash-seed 1", OK),
    (V4, "-m cluster --cluster-total-nodes 2 --cluster-local-node 3 --cluster-hash-seed 1", "S117"),
    (V4, "-m cluster --cluster-total-nodes 2 --cluster-local-node 2", "S117"),
    (V4, "-m cluster --cluster-total-nodes 33 --cluster-local-node 1 --cluster-hash-seed 1", "S108"),
    (V4, "-p tcp -m osf --genre Linux --ttl 0 --log 0", OK),
    (V4, "-p tcp -m osf --genre Linux --ttl 3", "S108"),
    (V4, "-m osf --genre Linux", "S117"),  # the kernel wants -p tcp
    # rateest
    (V4, "-m rateest --rateest RE1 --rateest-gt --rateest-bps 5kbit", OK),
    (
        V4,
        "-m rateest --rateest-delta --rateest1 RE1 --rateest-pps1 0 --rateest-lt --rateest-pps2 42 --rateest2 RE2",
        OK,
    ),
    (V4, "-m rateest --rateest RE1 --rateest-lt --rateest-bps 5furlong", "S108"),
    (V4, "-m rateest ! --rateest RE1 --rateest-lt --rateest-pps 5", "S116"),
    (V4, "-m rateest --rateest RE1 --rateest-pps 5", "S117"),  # the kernel wants lt/gt/eq
    # policy
    (V4, "-m policy --dir in --pol ipsec --proto esp", OK),
    (V4, "-m policy --dir out --pol none --reqid 1", OK),  # in OUTPUT: --dir out
    (V4, "-m policy --dir in --strict --reqid 1 --next --mode tunnel --tunnel-src 10.0.0.0/8", OK),
    (V4, "-m policy --dir in --tunnel-src 10.0.0.1 ! --mode transport", OK),
    (V4, "-m policy --dir in --tunnel-dst 10.0.0.1", "S117"),
    (V4, "-m policy --dir in --pol none --strict", "S117"),
    (V4, "-m policy --dir in --strict", "S117"),
    (V4, "-m policy --dir in --next", "S117"),
    (V4, "-m policy --dir in --strict --reqid 1 --next", "S117"),
    (V4, "-m policy --dir in --proto tcp", "S108"),
    (V4, "-m policy --dir in --proto ESP", "S108"),
    (V4, "-m policy --pol ipsec", "S117"),
    (V6, "-m policy --dir in --mode tunnel --tunnel-dst 2001:db8::/32", OK),
    # esp, ah, ipcomp
    (V4, "-p esp -m esp --espspi 0x100:0x1ff", OK),
    (V4, "-p esp -m esp --espspi 4:3", OK),  # 1.8.9 loads an inverted range (it never matches)
    (V4, "-p esp -m esp --espspi 1:2:3", "S108"),
    (V4, "-p esp -m esp --espspi -1", "S114"),
    (V4, "-m esp", "S117"),  # the kernel wants -p esp
    (V4, "-p ah -m ah ! --ahspi 500", OK),
    (V4, "-m ah --ahspi 500", "S117"),  # in IPv4 the kernel wants -p ah
    (V4, "-p ah -m ah --ahlen 3", "S117"),  # --ahlen is ip6tables' only
    (V6, "-m ah --ahspi 500 ! --ahlen 3 --ahres", OK),
    (V4, "-p 108 -m ipcomp --ipcompspi :4 --compres", OK),
    (V4, "-p 108 -m ipcomp ! --ipcompspi 4294967296", "S108"),
    (V4, "-p esp -m ipcomp --ipcompspi 18", "S117"),
    # IPv6 headers
    (V6, "-m eui64", OK),
    (V4, "-m eui64", "S125"),
    (V6, "-m frag ! --fragid 1:42 --fraglen 8 --fragres --fragfirst --fraglast", OK),
    (V6, "-m frag --fragmore --fraglast", "S117"),
    (V6, "-m frag ! --fragfirst", "S116"),
    (V6, "-m rt --rt-type 0 --rt-segsleft 1:23 --rt-len 42 --rt-0-res", OK),
    (V6, "-m rt --rt-type 0 --rt-0-addrs 2001:db8::1,2001:db8::2 --rt-0-not-strict", OK),
    (V6, "-m rt --rt-0-res --rt-type 0", "S117"),
    (V6, "-m rt ! --rt-type 0 --rt-0-res", "S117"),
    (V6, "-m rt --rt-type 0 --rt-0-not-strict --rt-0-addrs 2001:db8::1", "S117"),
    (V6, "-m rt --rt-type 0 --rt-0-addrs 192.0.2.1", "S108"),
    (V6, "-m hbh --hbh-len 42 --hbh-opts 1:2,23:42,4:6,8:10,42,23,4:5", OK),
    (V6, "-m hbh --hbh-opts 0:1", "S108"),
    (V6, "-m hbh --hbh-opts 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", "S108"),
    (V6, "-m dst ! --dst-len 42 --dst-opts 149:92,12:12", OK),
    (V6, "-m dst --dst-opts 1:2x", "S108"),
    (V6, "-p mh -m mh --mh-type binding-update", OK),
    (V6, "-p mh -m mh --mh-type b:be", OK),  # a prefix names the first type it starts
    (V6, "-p mh -m mh --mh-type 4:3", "S108"),
    (V6, "-p mh -m mh --mh-type 256", "S108"),
    (V6, "-m mh --mh-type 1", "S117"),  # the kernel wants -p mh
    (V6, "-m srh --srh-next-hdr 17 --srh-segs-left-gt 1 ! --srh-psid a::/64 --srh-tag 0", OK),
    (V6, "-m srh --srh-tag 65536", "S108"),
    (V6, "-m srh --srh-psid 192.0.2.1", "S125"),
    (V6, "-m ipv6header --header hop-by-hop,ipv6-frag,ah --soft", OK),
    (V6, "-m ipv6header ! --header 44", OK),
    (V6, "-m ipv6header --header tcp", "S108"),
    (V6, "-m ipv6header --header ,", "S108"),
    (V6, "-m ipv6header --soft", "S117"),
    # icmp6
    (V6, "-p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation", OK),
    (V6, "-p ipv6-icmp -m icmp6 --icmpv6-type neighbor-sol", OK),
    (V6, "-p icmpv6 --icmpv6-type 1/3:4", OK),
    (V6, "-p ipv6-icmp -m icmp6 ! --icmpv6-type 128", OK),
    (V6, "-p ipv6-icmp -m icmp6 --icmpv6-type ttl", "S108"),  # ambiguous prefix
    (V6, "-p ipv6-icmp -m icmp6 --icmpv6-type 1:2", "S108"),
    (V6, "-p ipv6-icmp -m icmp6 --icmpv6-type mld-listener-query", "S108"),  # a 1.8.10 name
    (V6, "-p ipv6-icmp -m icmp6 --icmpv6-type 1 --icmpv6-type 2", "S107"),
    (V6, "-m icmp6 --icmpv6-type 128", "S117"),  # the kernel wants -p ipv6-icmp
    (V6, "-p ipv6-icmp -m icmp6", "S117"),
]


@pytest.mark.parametrize(("family", "rule", "code"), CASES, ids=[f"{f}:{r}" for f, r, _ in CASES])
def test_rule_is_accepted_or_refused_as_iptables_does(family, rule, code):
    assert first_error(rule, family) == code


@pytest.mark.parametrize("name", MODULES)
def test_every_module_has_a_table_and_a_documented_example(name):
    extension = extensions.find("match", name)
    assert extension is not None and extension.kind == "match"
    module = __import__(f"iptlint.extensions.matches.{name}", fromlist=["EXTENSION"])
    assert module.__doc__.startswith(f"{name}: ")
    assert f"-m {name}" in module.__doc__ or (name == "icmp6" and "--icmpv6-type" in module.__doc__)


def _examples(name: str) -> list[tuple[Family, str, str, str]]:
    """The example rules of a module's docstring, as (family, table, chain, rule)."""
    module = __import__(f"iptlint.extensions.matches.{name}", fromlist=["EXTENSION"])
    extension = module.EXTENSION
    found = []
    for line in module.__doc__.splitlines():
        if not line.startswith("    -"):
            continue
        rule = re.sub(r"\s{2,}\(.*\)$", "", line.strip())
        family = V6 if extension.family == "ipv6" or "(ip6tables)" in line else V4
        table, chain = "filter", "INPUT"
        head = re.match(r"(?:-t (\w+) )?-A (\S+) ", rule)
        if head:
            table, chain = head.group(1) or "filter", head.group(2)
            rule = rule[head.end() :]
        if "-j " in rule and any(t in rule for t in ("-j MARK", "-j TCPMSS", "-j CLASSIFY", "-j REDIRECT")):
            table = "mangle" if "REDIRECT" not in rule else "nat"
            chain = "PREROUTING" if chain == "INPUT" else chain
        found.append((family, table, chain, rule))
    return found


EXAMPLES = [(name, *example) for name in MODULES for example in _examples(name)]


def _example_param(example):
    return pytest.param(*example, id=example[4])


@pytest.mark.parametrize(("name", "family", "table", "chain", "rule"), [_example_param(e) for e in EXAMPLES])
def test_docstring_examples_parse_cleanly(name, family, table, chain, rule):
    text = f"*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {rule}\nCOMMIT\n"
    findings = parse(text, "t.rules", family).findings
    assert [f.code for f in findings if f.severity.name == "ERROR" or f"match '{name}'" in f.message] == []


def _options(rule: str, family: Family):
    result = parse(dump(rule), "t.rules", family)
    assert not result.findings, result.findings
    (rule_node,) = result.ruleset.tables[0].chains[0].rules
    return {option.name: option for match in rule_node.matches for option in match.options}


def test_values_are_typed():
    assert _options("-m tos --tos Minimize-Delay", V4)["--tos"].value == v.Masked(0x10, 0x3F)
    assert _options("-m tos --tos 0x08", V4)["--tos"].value == v.Masked(0x08, 0xFF)
    assert _options("-m dscp --dscp-class AF41", V4)["--dscp-class"].value == 0x22
    assert _options("-m pkttype --pkt-type mcast", V4)["--pkt-type"].value == "multicast"
    assert _options("-p tcp -m tcpmss --mss 1400:", V4)["--mss"].value == v.Range(1400, 65535)
    assert _options("-p esp -m esp --espspi 4:3", V4)["--espspi"].value == v.Range(4, 3)
    assert _options("-m connlimit --connlimit-above 1 --connlimit-mask 255.255.0.0", V4)["--connlimit-mask"].value == 16
    assert _options("-m ipv6header --header hop,frag", V6)["--header"].value == frozenset({0, 44})
    assert _options("-m hbh --hbh-opts 5:2,0", V6)["--hbh-opts"].value == ((5, 2), (0, None))
    assert _options("-p mh -m mh --mh-type bu:ba", V6)["--mh-type"].value == v.Range(5, 6)
    icmp = _options("-p ipv6-icmp -m icmp6 --icmpv6-type port-unreachable", V6)["--icmpv6-type"].value
    assert (icmp.type, icmp.code_lo, icmp.code_hi) == (1, 4, 4)
    when = _options("-m time --timestart 08:30 --weekdays Mon,Sun --monthdays 1,31 --datestart 2020-02", V4)
    assert when["--timestart"].value == 8 * 3600 + 30 * 60
    assert when["--weekdays"].value == frozenset({1, 7})
    assert when["--monthdays"].value == frozenset({1, 31})
    assert when["--datestart"].value.isoformat() == "2020-02-01T00:00:00+00:00"
    assert _options("-m rateest --rateest R --rateest-gt --rateest-bps 1mbit", V4)["--rateest-bps2"].value == 125000


# Where iptlint and the recorded `iptables-nft-restore --test` 1.8.9 verdict differ on
# iptables' own extension cases, and why; every other case of these modules must agree.
KNOWN_DIFFERENCES = {
    # `--test` does not run the kernel's checks; a real load refuses these (checked).
    ("libipt_ah.t", "-m ah --ahspi 0"): "the kernel wants -p ah",
    ("libipt_ah.t", "-m ah"): "the kernel wants -p ah",
    ("libxt_esp.t", "-m esp"): "the kernel wants -p esp",
    ("libxt_ecn.t", "-m ecn --ecn-tcp-cwr"): "the kernel wants -p tcp",
    ("libxt_tcpmss.t", "-m tcpmss --mss 42"): "the kernel wants -p tcp",
    ("libipt_osf.t", "-m osf --genre linux --ttl 0 --log 0"): "the kernel wants -p tcp",
    ("libip6t_mh.t", "-m mh"): "the kernel wants -p mh",
    ("libxt_cgroup.t", '-m cgroup --cgroup 1 --path "/"'): "the kernel wants --path or --cgroup, not both",
    ("libxt_cgroup.t", "-m cgroup "): "the kernel wants --path or --cgroup",
    ("libxt_connlabel.t", '-m connlabel --label "2048"'): "the kernel has 128 label bits",
    # Host configuration: the name may exist in the loading host's /etc/xtables/connlabel.conf.
    ("libxt_connlabel.t", '-m connlabel --label "foobar_not_there"'): "label names depend on the host",
    # The extension registry does not map `-m icmpv6` to icmp6 as libxtables does.
    ("libip6t_icmp6.t", "-m icmpv6"): "-m icmpv6 is an alias of icmp6",
    # The kernel refuses eui64 from OUTPUT (its hook mask); iptlint says so (S125), --test does not check.
    ("libip6t_eui64.t", "-m eui64"): "hook limit: the kernel refuses it in OUTPUT",
    # Relative rateest mode leaves out the rate; option tables cannot say "optional value".
    ("libxt_rateest.t", "-m rateest --rateest1 RE1 --rateest-lt --rateest-bps --rateest2 RE2"): "optional value",
}


@pytest.mark.parametrize("name", ["ipcomp", "mobility-header"])
def test_protocol_names_of_iptables(name):
    assert first_error(f"-p {name}", V6) is None


def _extension_cases():
    requires_corpus()
    path = CORPUS / "iptables-tests" / "extensions.validated.jsonl"
    for line in path.read_text().splitlines():
        case = json.loads(line)
        if case["module"] not in MODULES:
            continue
        for tool, verdict in (case.get("iptables_1_8_9_nft") or {}).items():
            yield case, V6 if tool == "ip6tables" else V4, verdict["test_ok"]


def test_iptables_own_extension_cases_agree_with_iptables_1_8_9():
    disagreements = []
    for case, family, accepted in _extension_cases():
        key = (case["file"].split("/")[-1], case["rule"])
        if key in KNOWN_DIFFERENCES:
            continue
        chain = case["chains"][0] if case["chains"] else "INPUT"
        text = dump(case["rule"], case["table"] or "filter", chain)
        if (not errors(text, family)) != accepted:
            disagreements.append(f"{key} [{family}] iptables {'accepts' if accepted else 'refuses'}")
    assert disagreements == []


def test_real_corpus_rules_of_these_modules_are_typed_and_clean():
    requires_corpus()
    module_use = re.compile(r"-m (" + "|".join(MODULES) + r")\b")
    checked = 0
    for line in (CORPUS / "manifest.jsonl").read_text().splitlines():
        record = json.loads(line)
        if not record["nft_test_ok"]:
            continue
        text = (CORPUS / record["file"]).read_text()
        if not module_use.search(text):
            continue
        family = V6 if record["family"] == "ipv6" else V4
        lines = text.split("\n")
        for finding in parse(text, record["file"], family).findings:
            if module_use.search(lines[finding.span.line - 1]):
                assert finding.severity.name != "ERROR" and finding.code != "S110", (record["file"], finding)
        checked += 1
    assert checked > 0


# Rules that need what this machine lacks for a real load (an nfacct object, the ip_vs
# module): iptables is asked with `--test`, which skips the kernel's checks.  A label name
# needs the host's connlabel.conf, which no machine here has: those cases are skipped.
_TEST_ONLY = ("-m nfacct", "-m ipvs")
_HOST_CONFIGURED = ("--label blocked",)
# The rate estimators rateest compares must exist: a RATEEST rule before it makes them.
_ESTIMATORS = "".join(
    f"-A INPUT -j RATEEST --rateest-name {name} --rateest-interval 250ms --rateest-ewmalog 500ms\n"
    for name in ("RE1", "RE2", "R")
)


def _real_dump(rule: str) -> str:
    text = case_dump(rule)
    if "-m rateest" in rule:
        header, _, rest = text.partition("\n-A ")
        text = f"{header}\n{_ESTIMATORS}-A {rest}"
    return text


@pytest.mark.kernel
def test_cases_state_what_the_real_iptables_does(netns_v):
    """Every case of CASES against the real iptables-restore 1.8.9, nft and legacy (a real load where possible)."""
    wrong = []
    for family, rule, code in CASES:
        if any(p in f" {rule} " for p in _HOST_CONFIGURED):
            continue
        test_only = any(module in rule for module in _TEST_ONLY)
        for backend in kernel.BACKENDS:
            verdict = netns_v.restore(_real_dump(rule), backend, family, test=test_only)
            if verdict.ok != (code is None):
                wrong.append(f"[{family} {backend}] {rule}: iptables {verdict.describe()[:120]}")
    assert wrong == []


@pytest.fixture
def netns_v():
    requires_root_tools()
    with kernel.Namespace("iptlint-m2") as namespace:
        yield namespace
