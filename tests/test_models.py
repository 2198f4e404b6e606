"""Match models against the kernel's definitions.

Each model is checked two ways: worked examples (what a given option selects), and
hypothesis runs that write a random rule, parse it, and compare the model's bounds
with an oracle, a plain Python predicate that follows the kernel's match function
(xt_tcpudp.c, xt_multiport.c, xt_conntrack.c...) on a concrete packet: a packet in
`under` must match, a packet outside `over` must not, and for an exact model the two
agree on every packet.  The oracle answers None where the kernel needs facts the
packet model lacks (a TCP option, the type of a non-local address).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptlint.semantics.models import ModelContext, evaluate, match_bounds, rule_bounds
from iptlint.semantics.packets import CT_STATE_NAMES, TCP_FLAG_BITS, Bounds, PacketSet
from iptlint.syntax.ast import Family, Match, Rule
from iptlint.syntax.parser import parse

V4 = Family.IPV4
V6 = Family.IPV6
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TRACKED = ("NEW", "ESTABLISHED", "RELATED")


def parse_rule(text: str, family: Family = V4, table: str = "filter", chain: str = "INPUT") -> Rule:
    """The one rule of a dump holding `-A CHAIN text`."""
    dump = f"*{table}\n:{chain} ACCEPT [0:0]\n-A {chain} {text}\nCOMMIT\n"
    result = parse(dump, "test.rules", family)
    assert result.ok, [f.message for f in result.findings]
    (rule,) = result.ruleset.rules
    return rule


def bounds_of(text: str, name: str, family: Family = V4) -> Bounds:
    rule = parse_rule(text, family)
    match = rule.match(name)
    assert match is not None, f"no {name} match in {text!r}"
    return match_bounds(match, ModelContext(family))


def packet(**fields: Any) -> dict[str, Any]:
    """A packet with every field set: a TCP SYN from eth0, NEW, unless told otherwise."""
    base = {
        "in_iface": "eth0",
        "out_iface": "",
        "src": "10.0.0.1",
        "dst": "10.0.0.2",
        "proto": 6,
        "sport": 40000,
        "dport": 80,
        "icmp_type": 0,
        "icmp_code": 0,
        "tcp_flags": TCP_FLAG_BITS["SYN"],
        "ct_state": "NEW",
        "ct_snat": False,
        "ct_dnat": False,
        "ct_orig_dst": "10.0.0.2",
        "ct_orig_dport": 80,
        "dst_local": True,
        "src_local": False,
        "fragment": False,
        "mark": 0,
        "ct_mark": 0,
    }
    base.update(fields)
    return base


def matches(bounds: Bounds, **fields: Any) -> bool | None:
    return evaluate(bounds, packet(**fields))


# ---------------------------------------------------------------------------------------
# Worked examples
# ---------------------------------------------------------------------------------------


def test_tcp_ports_protocol_and_fragments():
    bounds = bounds_of("-p tcp --dport 80", "tcp")
    assert bounds.exact
    assert matches(bounds, dport=80) is True
    assert matches(bounds, dport=81) is False
    assert matches(bounds, proto=17) is False  # the match reads a TCP header
    assert matches(bounds, fragment=True) is False  # never a second or later fragment


def test_tcp_negated_port_still_needs_tcp():
    bounds = bounds_of("-p tcp ! --dport 80", "tcp")
    assert matches(bounds, dport=81) is True
    assert matches(bounds, dport=80) is False
    assert matches(bounds, proto=17, dport=81) is False
    assert matches(bounds, fragment=True, dport=81) is False


def test_tcp_syn_and_flags():
    syn = bounds_of("-p tcp --syn", "tcp")
    assert matches(syn, tcp_flags=TCP_FLAG_BITS["SYN"]) is True
    assert matches(syn, tcp_flags=TCP_FLAG_BITS["SYN"] | TCP_FLAG_BITS["ACK"]) is False
    assert matches(syn, tcp_flags=TCP_FLAG_BITS["SYN"] | TCP_FLAG_BITS["PSH"]) is True
    not_syn = bounds_of("-p tcp ! --syn", "tcp")
    assert matches(not_syn, tcp_flags=TCP_FLAG_BITS["ACK"]) is True
    assert matches(not_syn, tcp_flags=TCP_FLAG_BITS["SYN"]) is False
    flags = bounds_of("-p tcp --tcp-flags SYN,ACK SYN,ACK", "tcp")
    assert matches(flags, tcp_flags=TCP_FLAG_BITS["SYN"] | TCP_FLAG_BITS["ACK"]) is True
    assert matches(flags, tcp_flags=TCP_FLAG_BITS["SYN"]) is False


def test_tcp_option_is_bounded():
    bounds = bounds_of("-p tcp --tcp-option 2", "tcp")
    assert not bounds.exact
    assert matches(bounds) is None
    assert matches(bounds, proto=17) is False  # still only TCP


def test_udp_sctp_dccp_ports():
    for proto, number in (("udp", 17), ("sctp", 132), ("dccp", 33)):
        bounds = bounds_of(f"-p {proto} --sport 53", proto)
        assert bounds.exact
        assert matches(bounds, proto=number, sport=53) is True
        assert matches(bounds, proto=number, sport=54) is False
        assert matches(bounds, proto=6, sport=53) is False


def test_udp_inverted_range_matches_nothing():
    bounds = bounds_of("-p udp --dport 4:3", "udp")
    assert bounds.over.is_empty()
    assert matches(bounds_of("-p udp ! --dport 4:3", "udp"), proto=17, dport=4) is True


def test_sctp_chunk_types_and_dccp_types_are_bounded():
    chunks = bounds_of("-p sctp --chunk-types any INIT", "sctp")
    assert matches(chunks, proto=132) is None
    assert matches(chunks, proto=6) is False
    types = bounds_of("-p dccp --dccp-types REQUEST", "dccp")
    assert matches(types, proto=33) is None


def test_udplite_means_protocol_136():
    from iptlint.semantics.models import udplite

    bounds = udplite.model(Match("udplite"), ModelContext(V4))
    assert matches(bounds, proto=136) is True
    assert matches(bounds, proto=17) is False


def test_icmp_type_code_and_any():
    echo = bounds_of("-p icmp --icmp-type echo-request", "icmp")
    assert matches(echo, proto=1, icmp_type=8, icmp_code=0) is True
    assert matches(echo, proto=1, icmp_type=0) is False
    frag = bounds_of("-p icmp --icmp-type 3/4", "icmp")
    assert matches(frag, proto=1, icmp_type=3, icmp_code=4) is True
    assert matches(frag, proto=1, icmp_type=3, icmp_code=3) is False
    any_type = bounds_of("-p icmp --icmp-type any", "icmp")
    assert matches(any_type, proto=1, icmp_type=42) is True
    assert matches(any_type, proto=1, icmp_type=42, fragment=True) is False
    assert bounds_of("-p icmp ! --icmp-type any", "icmp").over.is_empty()


def test_icmp6_types():
    bounds = bounds_of("-p ipv6-icmp --icmpv6-type 1/3", "icmp6", V6)
    assert matches(bounds, proto=58, icmp_type=1, icmp_code=3, src="2001:db8::1", dst="2001:db8::2",
                   ct_orig_dst="2001:db8::2") is True  # fmt: skip
    assert matches(bounds, proto=58, icmp_type=1, icmp_code=4, src="2001:db8::1", dst="2001:db8::2",
                   ct_orig_dst="2001:db8::2") is False  # fmt: skip
    negated = bounds_of("-p ipv6-icmp ! --icmpv6-type echo-request", "icmp6", V6)
    assert matches(negated, proto=58, icmp_type=129, src="2001:db8::1", dst="2001:db8::2",
                   ct_orig_dst="2001:db8::2") is True  # fmt: skip


def test_multiport_ports_is_either_direction():
    bounds = bounds_of("-p udp -m multiport --ports 53,123", "multiport")
    assert matches(bounds, proto=17, sport=53, dport=9) is True
    assert matches(bounds, proto=17, sport=9, dport=123) is True
    assert matches(bounds, proto=17, sport=9, dport=9) is False
    negated = bounds_of("-p udp -m multiport ! --ports 53", "multiport")
    assert matches(negated, proto=17, sport=53, dport=9) is False
    assert matches(negated, proto=17, sport=9, dport=9) is True
    dports = bounds_of("-p tcp -m multiport --dports 80,8000:8080", "multiport")
    assert matches(dports, dport=8042) is True
    assert matches(dports, dport=81) is False


def test_conntrack_states_and_virtual_nat_states():
    bounds = bounds_of("-m conntrack --ctstate RELATED,ESTABLISHED", "conntrack")
    assert bounds.exact
    assert matches(bounds, ct_state="ESTABLISHED") is True
    assert matches(bounds, ct_state="NEW") is False
    dnat = bounds_of("-m conntrack --ctstate DNAT", "conntrack")
    assert matches(dnat, ct_dnat=True) is True
    assert matches(dnat, ct_dnat=False) is False
    assert matches(dnat, ct_state="UNTRACKED", ct_dnat=True) is False  # no connection, no NAT
    not_new = bounds_of("-m conntrack ! --ctstate NEW", "conntrack")
    assert matches(not_new, ct_state="INVALID") is True


def test_conntrack_other_options_need_a_connection():
    bounds = bounds_of("-m conntrack ! --ctorigdstport 8080", "conntrack")
    assert matches(bounds, ct_orig_dport=80) is True
    assert matches(bounds, ct_orig_dport=80, ct_state="UNTRACKED") is False
    assert matches(bounds, ct_orig_dport=80, ct_state="INVALID") is False


def test_conntrack_with_state_skips_other_options_without_a_connection():
    # conntrack_mt: `if (ct == NULL) return info->match_flags & XT_CONNTRACK_STATE;`
    bounds = bounds_of("-m conntrack --ctstate INVALID --ctorigdstport 8080", "conntrack")
    assert matches(bounds, ct_state="INVALID", ct_orig_dport=80) is True


def test_conntrack_original_destination():
    bounds = bounds_of("-m conntrack --ctorigdst 203.0.113.10 --ctorigdstport 8080", "conntrack")
    assert bounds.exact
    assert matches(bounds, ct_orig_dst="203.0.113.10", ct_orig_dport=8080, dst="172.17.0.2", dport=80) is True
    assert matches(bounds, ct_orig_dst="203.0.113.11", ct_orig_dport=8080) is False


def test_conntrack_ctproto_unknown_only_for_related():
    bounds = bounds_of("-m conntrack --ctproto tcp", "conntrack")
    assert matches(bounds, proto=6) is True
    assert matches(bounds, proto=17) is False
    assert matches(bounds, proto=1, ct_state="RELATED") is None  # an ICMP error about a TCP connection


def test_conntrack_direction_and_status():
    original = bounds_of("-m conntrack --ctdir ORIGINAL", "conntrack")
    assert matches(original, ct_state="NEW") is True
    assert matches(original, ct_state="ESTABLISHED") is None
    reply = bounds_of("-m conntrack --ctdir REPLY", "conntrack")
    assert matches(reply, ct_state="NEW") is False
    seen = bounds_of("-m conntrack --ctstatus SEEN_REPLY", "conntrack")
    assert matches(seen, ct_state="ESTABLISHED") is True
    assert matches(seen, ct_state="NEW") is False
    assert matches(seen, ct_state="RELATED") is None


def test_state():
    bounds = bounds_of("-m state --state NEW,ESTABLISHED", "state")
    assert bounds.exact
    assert matches(bounds, ct_state="NEW") is True
    assert matches(bounds, ct_state="INVALID") is False
    assert matches(bounds_of("-m state ! --state INVALID", "state"), ct_state="UNTRACKED") is True


def test_addrtype_local_is_exact_other_types_are_bounds():
    local = bounds_of("-m addrtype --dst-type LOCAL", "addrtype")
    assert local.exact
    assert matches(local, dst_local=True) is True
    assert matches(local, dst_local=False) is False
    not_local = bounds_of("-m addrtype ! --dst-type LOCAL", "addrtype")
    assert matches(not_local, dst_local=False) is True
    unicast = bounds_of("-m addrtype --dst-type UNICAST", "addrtype")
    assert matches(unicast, dst_local=True) is False
    assert matches(unicast, dst_local=False) is None
    source = bounds_of("-m addrtype --src-type LOCAL", "addrtype")
    assert matches(source, src_local=True) is True
    limited = bounds_of("-m addrtype --dst-type LOCAL --limit-iface-in", "addrtype")
    assert matches(limited, dst_local=True) is None
    assert matches(limited, dst_local=False) is False


def test_comment_matches_everything():
    assert bounds_of('-m comment --comment "hello"', "comment").under.is_any()


def test_marks():
    mark = bounds_of("-m mark --mark 0x4000/0x4000", "mark")
    assert matches(mark, mark=0x4001) is True
    assert matches(mark, mark=0x1) is False
    assert matches(bounds_of("-m mark ! --mark 0x1", "mark"), mark=2) is True
    assert bounds_of("-m mark --mark 0x3/0x1", "mark").over.is_empty()  # value bits outside the mask
    connmark = bounds_of("-m connmark --mark 0x1/0xff", "connmark")
    assert matches(connmark, ct_mark=0x101) is True
    assert matches(connmark, ct_mark=0x2) is False
    assert matches(connmark, ct_mark=0x1, ct_state="UNTRACKED") is False
    assert matches(bounds_of("-m connmark ! --mark 0x1", "connmark"), ct_mark=0, ct_state="INVALID") is False


def test_iprange():
    bounds = bounds_of("-m iprange --src-range 10.0.0.5-10.0.0.9", "iprange")
    assert matches(bounds, src="10.0.0.7") is True
    assert matches(bounds, src="10.0.0.10") is False
    assert matches(bounds_of("-m iprange ! --dst-range 10.0.0.5-10.0.0.9", "iprange"), dst="10.0.0.1") is True
    assert bounds_of("-m iprange --src-range 10.0.0.9-10.0.0.5", "iprange").over.is_empty()


def test_every_core_model_exists():
    from iptlint.semantics import models

    for name in ("tcp", "udp", "udplite", "sctp", "dccp", "icmp", "icmp6", "multiport", "conntrack", "state",
                 "addrtype", "comment", "mark", "connmark", "iprange"):  # fmt: skip
        assert models._model_function(name) is not None, name


def test_rule_bounds_combines_basics_and_matches():
    rule = parse_rule("-i eth0 -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -j ACCEPT")
    bounds = rule_bounds(rule, ModelContext(V4))
    assert bounds.exact
    assert evaluate(bounds, packet(dport=22)) is True
    assert evaluate(bounds, packet(dport=22, in_iface="eth1")) is False


# ---------------------------------------------------------------------------------------
# Oracles: the kernel's match functions on one concrete packet
# ---------------------------------------------------------------------------------------


def _and(results: list[bool | None]) -> bool | None:
    if any(r is False for r in results):
        return False
    return None if any(r is None for r in results) else True


def _xor(result: bool | None, negated: bool) -> bool | None:
    return None if result is None else result != negated


def _in_range(value: int, bounds: Any) -> bool:
    return bounds.lo <= value <= bounds.hi


def _flags(names: frozenset[str]) -> int:
    return sum(TCP_FLAG_BITS[name] for name in names)


def oracle_ports(match: Match, pkt: dict, protocols: tuple[int, ...]) -> bool | None:
    if pkt["proto"] not in protocols or pkt["fragment"]:
        return False
    results: list[bool | None] = []
    for option in match.options:
        if option.name in ("--sport", "--dport"):
            result: bool | None = _in_range(pkt[option.name[2:]], option.value)
        elif option.name == "--syn":
            result = pkt["tcp_flags"] & _flags(frozenset({"FIN", "SYN", "RST", "ACK"})) == TCP_FLAG_BITS["SYN"]
        elif option.name == "--tcp-flags":
            result = pkt["tcp_flags"] & _flags(option.value.mask) == _flags(option.value.set)
        elif option.name in ("--sports", "--dports", "--ports"):
            wanted = {"--sports": ("sport",), "--dports": ("dport",), "--ports": ("sport", "dport")}[option.name]
            result = any(_in_range(pkt[f], r) for f in wanted for r in option.value)
        else:
            result = None
        results.append(_xor(result, option.negated))
    return _and(results)


def oracle_icmp(match: Match, pkt: dict) -> bool | None:
    if pkt["proto"] != 1 or pkt["fragment"]:
        return False
    (option,) = match.options
    value = option.value
    hit = value.type == 0xFF or (pkt["icmp_type"] == value.type and value.code_lo <= pkt["icmp_code"] <= value.code_hi)
    return hit != option.negated


def oracle_conntrack(match: Match, pkt: dict) -> bool | None:
    state = pkt["ct_state"]
    tracked = state in TRACKED
    state_option = match.get("--ctstate")
    if state_option is not None:
        bits = {state}
        if tracked and pkt["ct_snat"]:
            bits.add("SNAT")
        if tracked and pkt["ct_dnat"]:
            bits.add("DNAT")
        if bool(bits & state_option.value) == state_option.negated:
            return False
    if not tracked:
        return state_option is not None
    results: list[bool | None] = []
    for option in match.options:
        if option.name == "--ctorigdst":
            result: bool | None = ipaddress.ip_address(pkt["ct_orig_dst"]) in option.value.network
        elif option.name == "--ctorigdstport":
            result = _in_range(pkt["ct_orig_dport"], option.value)
        elif option.name == "--ctproto":
            result = None if state == "RELATED" else pkt["proto"] == option.value.number != 0
        elif option.name == "--ctstate":
            continue
        else:
            result = None
        results.append(_xor(result, option.negated))
    return _and(results)


def oracle_addrtype(match: Match, pkt: dict) -> bool | None:
    limited = match.get("--limit-iface-in") is not None or match.get("--limit-iface-out") is not None
    results: list[bool | None] = []
    for option in match.options:
        if option.name not in ("--src-type", "--dst-type"):
            continue
        local = pkt["src_local" if option.name == "--src-type" else "dst_local"]
        types = option.value
        if local:
            result: bool | None = ("LOCAL" in types) if not limited else (None if "LOCAL" in types else False)
            if limited and "LOCAL" in types and types != {"LOCAL"}:
                result = None
        else:
            result = False if not types - {"LOCAL"} else None
        results.append(_xor(result, option.negated))
    return _and(results)


def oracle_mark(match: Match, pkt: dict, field: str) -> bool | None:
    if field == "ct_mark" and pkt["ct_state"] not in TRACKED:
        return False
    (option,) = match.options
    return (pkt[field] & option.value.mask == option.value.value) != option.negated


def oracle_iprange(match: Match, pkt: dict) -> bool | None:
    results: list[bool | None] = []
    for option in match.options:
        address = ipaddress.ip_address(pkt["src" if option.name == "--src-range" else "dst"])
        results.append((option.value.lo <= address <= option.value.hi) != option.negated)
    return _and(results)


def oracle(match: Match, pkt: dict) -> bool | None:
    name = match.name
    if name in ("tcp", "udp", "sctp", "dccp"):
        return oracle_ports(match, pkt, ({"tcp": 6, "udp": 17, "sctp": 132, "dccp": 33}[name],))
    if name == "multiport":
        return oracle_ports(match, pkt, (6, 17, 136, 132, 33))
    if name == "icmp":
        return oracle_icmp(match, pkt)
    if name == "conntrack":
        return oracle_conntrack(match, pkt)
    if name == "state":
        (option,) = match.options
        return (pkt["ct_state"] in option.value) != option.negated
    if name == "addrtype":
        return oracle_addrtype(match, pkt)
    if name in ("mark", "connmark"):
        return oracle_mark(match, pkt, "mark" if name == "mark" else "ct_mark")
    if name == "iprange":
        return oracle_iprange(match, pkt)
    if name == "comment":
        return True
    raise AssertionError(name)


# ---------------------------------------------------------------------------------------
# Random rules and packets
# ---------------------------------------------------------------------------------------

SMALL_PORT = st.integers(0, 12)
ADDRESS = st.integers(0, 15).map(lambda n: f"10.0.0.{n}")
bang = st.sampled_from(["", "! "])


@st.composite
def port_range(draw: Any) -> str:
    lo = draw(SMALL_PORT)
    hi = draw(st.integers(lo, 12))
    return str(lo) if lo == hi else f"{lo}:{hi}"


@st.composite
def options(draw: Any, choices: dict[str, Any]) -> str:
    """Some of `choices` (option -> strategy of its value), each perhaps negated."""
    names = draw(st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=3, unique=True))
    return " ".join(f"{draw(bang)}{name} {draw(choices[name])}".rstrip() for name in names)


FLAG_LIST = st.lists(st.sampled_from(["FIN", "SYN", "RST", "ACK", "PSH"]), min_size=1, max_size=3, unique=True).map(
    ",".join
)
TCP_OPTIONS = {
    "--sport": port_range(),
    "--dport": port_range(),
    "--tcp-flags": st.tuples(FLAG_LIST, FLAG_LIST).map(" ".join),
    "--tcp-option": st.just("2"),
}
STATES = st.lists(st.sampled_from([*CT_STATE_NAMES, "SNAT", "DNAT"]), min_size=1, max_size=3, unique=True).map(",".join)
PORT_LIST = st.lists(SMALL_PORT, min_size=1, max_size=4, unique=True).map(lambda ports: ",".join(map(str, ports)))
TYPES = st.lists(st.sampled_from(["LOCAL", "UNICAST", "BROADCAST"]), min_size=1, max_size=2, unique=True).map(",".join)
MASKED = st.tuples(st.integers(0, 7), st.integers(0, 7)).map(lambda vm: f"{vm[0]:#x}/{vm[1]:#x}")


@st.composite
def address_range(draw: Any) -> str:
    return f"{draw(ADDRESS)}-{draw(ADDRESS)}"


RULES = st.one_of(
    options(TCP_OPTIONS).map(lambda text: ("tcp", f"-p tcp {text}")),
    options({"--syn": st.just("")}).map(lambda text: ("tcp", f"-p tcp {text}")),
    options({"--sport": port_range(), "--dport": port_range()}).map(lambda text: ("udp", f"-p udp {text}")),
    options({"--sport": port_range(), "--dport": port_range()}).map(lambda text: ("sctp", f"-p sctp {text}")),
    options({"--dport": port_range(), "--dccp-types": st.just("REQUEST")}).map(lambda t: ("dccp", f"-p dccp {t}")),
    st.tuples(st.sampled_from(["--sports", "--dports", "--ports"]), bang, PORT_LIST).map(
        lambda t: ("multiport", f"-p udp -m multiport {t[1]}{t[0]} {t[2]}")
    ),
    st.tuples(bang, st.sampled_from(["any", "8", "3/1", "3/2:4", "echo-reply"])).map(
        lambda t: ("icmp", f"-p icmp -m icmp {t[0]}--icmp-type {t[1]}")
    ),
    options(
        {
            "--ctstate": STATES,
            "--ctorigdst": st.sampled_from(["10.0.0.0/30", "10.0.0.4", "10.0.0.8/29"]),
            "--ctorigdstport": port_range(),
            "--ctproto": st.sampled_from(["tcp", "udp", "icmp"]),
            "--ctexpire": st.just("10:20"),
        }
    ).map(lambda text: ("conntrack", f"-m conntrack {text}")),
    st.tuples(bang, STATES.filter(lambda s: "NAT" not in s)).map(lambda t: ("state", f"-m state {t[0]}--state {t[1]}")),
    st.tuples(options({"--src-type": TYPES, "--dst-type": TYPES}), st.sampled_from(["", " --limit-iface-in"])).map(
        lambda t: ("addrtype", f"-m addrtype {t[0]}{t[1]}")
    ),
    st.tuples(bang, MASKED).map(lambda t: ("mark", f"-m mark {t[0]}--mark {t[1]}")),
    st.tuples(bang, MASKED).map(lambda t: ("connmark", f"-m connmark {t[0]}--mark {t[1]}")),
    options({"--src-range": address_range(), "--dst-range": address_range()}).map(
        lambda t: ("iprange", f"-m iprange {t}")
    ),
    st.just(("comment", '-m comment --comment "x"')),
)

PACKETS = st.fixed_dictionaries(
    {
        "in_iface": st.sampled_from(["eth0", "docker0", ""]),
        "out_iface": st.sampled_from(["eth0", "docker0", ""]),
        "src": ADDRESS,
        "dst": ADDRESS,
        "proto": st.sampled_from([1, 6, 17, 33, 132, 136]),
        "sport": SMALL_PORT,
        "dport": SMALL_PORT,
        "icmp_type": st.sampled_from([0, 3, 8, 11]),
        "icmp_code": st.integers(0, 5),
        "tcp_flags": st.integers(0, 0x3F),
        "ct_state": st.sampled_from(CT_STATE_NAMES),
        "ct_snat": st.booleans(),
        "ct_dnat": st.booleans(),
        "ct_orig_dst": ADDRESS,
        "ct_orig_dport": SMALL_PORT,
        "dst_local": st.booleans(),
        "src_local": st.booleans(),
        "fragment": st.booleans(),
        "mark": st.integers(0, 7),
        "ct_mark": st.integers(0, 7),
    }
)


def model_and_match(name: str, text: str) -> tuple[Bounds, Match]:
    rule = parse_rule(text)
    match = rule.match(name)
    assert match is not None
    return match_bounds(match, ModelContext(V4)), match


@SETTINGS
@given(RULES, PACKETS)
def test_models_agree_with_the_kernel_on_random_packets(rule: tuple[str, str], pkt: dict):
    name, text = rule
    bounds, match = model_and_match(name, text)
    expected = oracle(match, pkt)
    if bounds.under.contains(pkt):
        assert expected is True, (text, pkt)
    if not bounds.over.contains(pkt):
        assert expected is False, (text, pkt)
    if bounds.exact and expected is not None:
        assert bounds.under.contains(pkt) == expected, (text, pkt)


@SETTINGS
@given(RULES)
def test_a_packet_from_under_matches_one_outside_over_does_not(rule: tuple[str, str]):
    name, text = rule
    bounds, match = model_and_match(name, text)
    inside = bounds.under.sample()
    if inside is not None:
        assert oracle(match, inside) is True, (text, inside)
    outside = (~bounds.over).sample()
    if outside is not None:
        assert oracle(match, outside) is False, (text, outside)


@pytest.mark.parametrize("name", ["tcp", "udp", "multiport", "icmp", "state", "mark", "iprange"])
def test_fully_exact_models_stay_exact_when_negated(name: str):
    texts = {
        "tcp": "-p tcp ! --sport 1:3 ! --syn",
        "udp": "-p udp ! --dport 5",
        "multiport": "-p tcp -m multiport ! --dports 1,2",
        "icmp": "-p icmp ! --icmp-type 8",
        "state": "-m state ! --state NEW",
        "mark": "-m mark ! --mark 0x1/0x1",
        "iprange": "-m iprange ! --src-range 10.0.0.1-10.0.0.3",
    }
    bounds, _ = model_and_match(name, texts[name])
    assert bounds.exact
    assert not bounds.over.is_empty()
    assert not bounds.over.is_any()


def test_models_return_packet_sets_of_the_family():
    bounds = bounds_of("-p tcp --dport 80", "tcp", V6)
    assert bounds.over.family is V6
    assert isinstance(bounds.over, PacketSet)
