"""The packet-set algebra: exact against brute force, lawful, readable, fast enough.

Random expressions over the constructors (`from_interface`, `from_network`, ...) are
evaluated twice: as packet sets, and as plain Python predicates that follow the
kernel's definition of each match.  Both must agree on every packet tried.
"""

from __future__ import annotations

import ipaddress
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptlint.semantics.packets import (
    CT_STATE_NAMES,
    FIELD_NAMES,
    NAME_INDEX_END,
    TCP_FLAG_BITS,
    Bounds,
    Cube,
    IntervalSet,
    PacketSet,
    PatternSet,
    from_address,
    from_address_range,
    from_flag,
    from_icmp,
    from_interface,
    from_mark,
    from_multiport_ports,
    from_network,
    from_ports,
    from_protocol,
    from_states,
    from_syn,
    from_tcp_flags,
    from_values,
    name_at,
    name_block,
    name_index,
)
from iptlint.syntax.ast import Family
from iptlint.syntax.values import Address, AddressRange, Interface, Masked, Protocol, Range, TcpFlags, address

V4 = Family.IPV4
V6 = Family.IPV6
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ---------------------------------------------------------------------------------------
# IntervalSet and PatternSet against Python sets
# ---------------------------------------------------------------------------------------

SMALL = 120
short_interval = st.integers(0, SMALL).flatmap(
    lambda lo: st.tuples(st.just(lo), st.integers(lo - 1, min(lo + 6, SMALL)))
)
# Beyond 8 intervals, union and subtract splice into the larger set: another path, so some sets are many points.
small_intervals = st.one_of(
    st.lists(st.one_of(short_interval, st.tuples(st.integers(0, SMALL), st.integers(0, SMALL))), max_size=6),
    st.sets(st.integers(0, SMALL), min_size=10, max_size=50).map(lambda points: [(n, n) for n in points]),
)


def members(intervals: IntervalSet) -> set[int]:
    return {n for n in range(SMALL + 1) if n in intervals}


def as_python_set(pairs) -> set[int]:
    return {n for lo, hi in pairs for n in range(lo, hi + 1)}


def assert_canonical(intervals: IntervalSet) -> None:
    pairs = intervals.intervals
    assert all(lo <= hi for lo, hi in pairs)
    assert all(pairs[k][1] + 1 < pairs[k + 1][0] for k in range(len(pairs) - 1))


@SETTINGS
@given(small_intervals, small_intervals)
def test_interval_sets_match_python_sets(first, second):
    a, b = IntervalSet.of(*first), IntervalSet.of(*second)
    sa, sb = as_python_set(first), as_python_set(second)
    assert members(a) == sa
    for result, expected in (
        (a.union(b), sa | sb),
        (a.intersect(b), sa & sb),
        (a.subtract(b), sa - sb),
        (a.complement(0, SMALL), set(range(SMALL + 1)) - sa),
    ):
        assert_canonical(result)
        assert members(result) == expected
    assert a.overlaps(b) == bool(sa & sb)
    assert a.covers(b) == (sb <= sa)
    assert a.size() == len(sa)
    if sa:
        assert a.first() == min(sa)


WIDTH = 5
patterns = st.lists(st.tuples(st.integers(0, 31), st.integers(0, 31)), max_size=4)


def pattern_set(pairs) -> PatternSet:
    result = PatternSet(WIDTH)
    for value, mask in pairs:
        result = result.union(PatternSet.of(value, mask, WIDTH))
    return result


def pattern_members(pairs) -> set[int]:
    return {n for n in range(1 << WIDTH) if any(n & mask == value for value, mask in pairs)}


@SETTINGS
@given(patterns, patterns)
def test_pattern_sets_match_python_sets(first, second):
    a, b = pattern_set(first), pattern_set(second)
    sa, sb = pattern_members(first), pattern_members(second)
    everything = set(range(1 << WIDTH))
    for result, expected in (
        (a, sa),
        (a.union(b), sa | sb),
        (a.intersect(b), sa & sb),
        (a.subtract(b), sa - sb),
        (a.complement(), everything - sa),
    ):
        assert {n for n in everything if n in result} == expected
        assert result.size() == len(expected)  # the patterns are disjoint
    assert a.overlaps(b) == bool(sa & sb)
    assert a.covers(b) == (sb <= sa)


def test_pattern_sets_merge_back_to_one_pattern():
    assert PatternSet.full(8).subtract(PatternSet.of(0x40, 0x40, 8)).patterns == ((0, 0x40),)
    halves = PatternSet.of(0, 1, 8).union(PatternSet.of(1, 1, 8))
    assert halves == PatternSet.full(8)


# ---------------------------------------------------------------------------------------
# Interface names as integers
# ---------------------------------------------------------------------------------------

name_text = st.text(alphabet="eth0+.1x", max_size=6).filter(lambda s: "+" not in s)
any_name = st.one_of(
    name_text,
    st.binary(max_size=15).filter(lambda b: b"\0" not in b).map(lambda b: b.decode("utf-8", "surrogateescape")),
)


@SETTINGS
@given(st.lists(any_name, min_size=2, max_size=6))
def test_name_index_is_the_byte_order_and_round_trips(names):
    for name in names:
        assert name_at(name_index(name)) == name
        assert 0 <= name_index(name) <= NAME_INDEX_END
    encoded = [name.encode("utf-8", "surrogateescape") for name in names]
    assert sorted(names, key=name_index) == [n for _, n in sorted(zip(encoded, names, strict=True))]


@SETTINGS
@given(name_text, name_text)
def test_a_prefix_block_is_what_the_wildcard_matches(prefix, name):
    assert (name_index(name) in name_block(prefix)) == Interface(prefix + "+").matches(name)


def test_the_empty_name_and_the_whole_domain():
    assert name_index("") == 0
    assert name_block("") == IntervalSet.span(0, NAME_INDEX_END)
    assert from_interface("+", V4).is_any()
    assert (
        name_at(NAME_INDEX_END) == "\xff" * 15 or len(name_at(NAME_INDEX_END).encode("utf-8", "surrogateescape")) == 15
    )


# ---------------------------------------------------------------------------------------
# Random expressions: packet sets against the kernel's predicates
# ---------------------------------------------------------------------------------------

BASE = int(ipaddress.IPv4Address("10.0.0.0"))
NAMES = ["", "e", "eth", "eth0", "eth1", "eth01", "docker0", "lo", "x"]
STATES = (*CT_STATE_NAMES, "SNAT", "DNAT")
FLAG_NAMES = tuple(TCP_FLAG_BITS)

address_int = st.one_of(st.integers(BASE - 2, BASE + 20), st.sampled_from([0, 2**32 - 1]), st.integers(0, 2**32 - 1))
port = st.one_of(st.integers(0, 12), st.sampled_from([65534, 65535]), st.integers(0, 65535))
small_byte = st.one_of(st.integers(0, 8), st.just(255), st.integers(0, 255))
mark_value = st.one_of(st.integers(0, 15), st.sampled_from([0x4000, 0x4001, 0x8000]), st.integers(0, 2**32 - 1))
iface_name = st.one_of(st.sampled_from(NAMES), st.text(alphabet="eth01", max_size=5))

packets = st.fixed_dictionaries(
    {
        "in_iface": iface_name,
        "out_iface": iface_name,
        "src": address_int.map(ipaddress.IPv4Address),
        "dst": address_int.map(ipaddress.IPv4Address),
        "proto": small_byte,
        "sport": port,
        "dport": port,
        "icmp_type": small_byte,
        "icmp_code": small_byte,
        "tcp_flags": st.integers(0, 255),
        "ct_state": st.sampled_from(CT_STATE_NAMES),
        "ct_snat": st.booleans(),
        "ct_dnat": st.booleans(),
        "ct_orig_dst": address_int.map(ipaddress.IPv4Address),
        "ct_orig_dport": port,
        "dst_local": st.booleans(),
        "src_local": st.booleans(),
        "fragment": st.booleans(),
        "mark": mark_value,
        "ct_mark": mark_value,
    }
)


def interface_atom():
    field = st.sampled_from(["in_iface", "out_iface"])
    name = st.one_of(st.sampled_from(NAMES[1:]), st.text(alphabet="eth01", min_size=1, max_size=4))
    wildcard = st.booleans()

    def build(field, name, wildcard):
        interface = Interface(name + "+" if wildcard else name)
        return from_interface(interface, V4, field), lambda p: interface.matches(p[field])

    return st.builds(build, field, name, wildcard)


def network_atom():
    def build(field, host, length):
        network = ipaddress.IPv4Network((host, length), strict=False)
        return from_network(network, V4, field), lambda p: p[field] in network

    return st.builds(
        build,
        st.sampled_from(["src", "dst", "ct_orig_dst"]),
        address_int,
        st.one_of(st.integers(26, 32), st.integers(0, 32)),
    )


def range_atom():
    def build(field, lo, hi):
        addresses = AddressRange(ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi))
        return from_address_range(addresses, V4, field), lambda p: lo <= int(p[field]) <= hi

    return st.builds(build, st.sampled_from(["src", "dst"]), address_int, address_int)


def ports_atom():
    def build(field, pairs):
        ranges = tuple(Range(lo, hi) for lo, hi in pairs)
        if field == "ports":
            return from_multiport_ports(ranges, V4), lambda p: any(p["sport"] in r or p["dport"] in r for r in ranges)
        return from_ports(ranges, V4, field), lambda p: any(p[field] in r for r in ranges)

    return st.builds(
        build,
        st.sampled_from(["sport", "dport", "ct_orig_dport", "ports"]),
        st.lists(st.tuples(port, port), min_size=1, max_size=3),
    )


def protocol_atom():
    def build(number):
        return from_protocol(Protocol(number), V4), lambda p: number == 0 or p["proto"] == number

    return st.builds(build, small_byte)


def icmp_atom():
    def build(kind, lo, hi):
        codes = Range(lo, hi)
        return from_icmp(
            kind, V4, codes
        ), lambda p: kind == 255 or (p["icmp_type"] == kind and lo <= p["icmp_code"] <= hi)

    return st.builds(build, small_byte, small_byte, small_byte)


def flags_atom():
    def build(mask, chosen):
        flags = TcpFlags(frozenset(mask), frozenset(chosen))
        mask_byte = sum(TCP_FLAG_BITS[n] for n in mask)
        comp_byte = sum(TCP_FLAG_BITS[n] for n in chosen)
        return from_tcp_flags(flags, V4), lambda p: p["tcp_flags"] & mask_byte == comp_byte

    subset = st.sets(st.sampled_from(FLAG_NAMES))
    return st.one_of(
        st.builds(build, subset, subset),
        st.just((from_syn(V4), lambda p: p["tcp_flags"] & 0x17 == 0x02)),
    )


def states_atom():
    def build(states):
        def predicate(p):
            return p["ct_state"] in states or ("SNAT" in states and p["ct_snat"]) or ("DNAT" in states and p["ct_dnat"])

        return from_states(states, V4), predicate

    return st.builds(build, st.frozensets(st.sampled_from(STATES), min_size=1))


def mark_atom():
    def build(field, value, mask):
        return from_mark(Masked(value, mask), V4, field), lambda p: p[field] & mask == value

    return st.builds(build, st.sampled_from(["mark", "ct_mark"]), mark_value, mark_value)


def flag_atom():
    def build(field, value):
        return from_flag(field, value, V4), lambda p: p[field] == value

    return st.builds(
        build, st.sampled_from(["ct_snat", "ct_dnat", "dst_local", "src_local", "fragment"]), st.booleans()
    )


atoms = st.one_of(
    interface_atom(),
    network_atom(),
    range_atom(),
    ports_atom(),
    protocol_atom(),
    icmp_atom(),
    flags_atom(),
    states_atom(),
    mark_atom(),
    flag_atom(),
)


def combine(children):
    def both(a, b):
        return a[0] & b[0], lambda p: a[1](p) and b[1](p)

    def either(a, b):
        return a[0] | b[0], lambda p: a[1](p) or b[1](p)

    def minus(a, b):
        return a[0] - b[0], lambda p: a[1](p) and not b[1](p)

    def negate(a):
        return ~a[0], lambda p: not a[1](p)

    return st.one_of(
        st.builds(both, children, children),
        st.builds(either, children, children),
        st.builds(minus, children, children),
        st.builds(negate, children),
    )


expressions = st.recursive(atoms, combine, max_leaves=6)


def assert_well_formed(packets_: PacketSet) -> None:
    cubes = packets_.cubes
    assert all(not cube.is_empty() for cube in cubes)
    for i, first in enumerate(cubes):
        for second in cubes[i + 1 :]:
            assert not first.overlaps(second), f"{first} overlaps {second}"


@SETTINGS
@given(expressions, st.lists(packets, min_size=1, max_size=6))
def test_membership_is_exact(expression, trial_packets):
    packet_set, predicate = expression
    assert_well_formed(packet_set)
    for packet in trial_packets:
        assert packet_set.contains(packet) == predicate(packet), packet
    for packet in trial_packets[:2]:
        assert packet_set.overlaps(PacketSet.point(V4, packet)) == predicate(packet)
    sample = packet_set.sample()
    if sample is None:
        assert packet_set.is_empty()
        assert not any(predicate(packet) for packet in trial_packets)
    else:
        assert set(sample) == set(FIELD_NAMES)
        assert packet_set.contains(sample)
        assert predicate(sample)


# ---------------------------------------------------------------------------------------
# Algebra laws
# ---------------------------------------------------------------------------------------

sets = expressions.map(lambda pair: pair[0])


@SETTINGS
@given(sets, sets, st.lists(packets, max_size=4))
def test_algebra_laws(a, b, trial_packets):
    both, difference = a & b, a - b
    assert a.covers(both) and b.covers(both)
    assert not difference.overlaps(b)
    assert (difference | both).equivalent(a)
    assert (~~a).equivalent(a)
    assert (~(a | b)).equivalent(~a & ~b)
    assert (~(a & b)).equivalent(~a | ~b)
    assert (a | b).covers(a) and (a | b).covers(b)
    assert a.covers(b) == (b - a).is_empty()
    assert (a & ~a).is_empty() and (a | ~a).is_any()
    for result in (both, difference, a | b, ~a):
        assert_well_formed(result)
        assert result.describe()  # never fails, whatever the shape
    for packet in [*trial_packets, *(s for s in (a.sample(), b.sample(), difference.sample()) if s)]:
        assert (packet in (a - b)) == (packet in a and packet not in b)
        assert (packet in (a & b)) == (packet in a and packet in b)
        assert (packet in (a | b)) == (packet in a or packet in b)
        assert (packet in ~a) == (packet not in a)


@SETTINGS
@given(sets, sets)
def test_cube_subtraction_gives_disjoint_pieces(a, b):
    for mine in a.cubes:
        for theirs in b.cubes:
            pieces = mine.subtract(theirs)
            assert len(pieces) <= len(theirs.items) or pieces == [mine]
            rebuilt = PacketSet(V4, (*pieces, *([] if (both := mine.intersect(theirs)).is_empty() else [both])))
            assert_well_formed(rebuilt)
            assert rebuilt.equivalent(PacketSet(V4, (mine,)))


V6_BASE = int(ipaddress.IPv6Address("fd00::"))
v6_address = st.one_of(st.integers(V6_BASE - 2, V6_BASE + 20), st.integers(0, 2**128 - 1))


@SETTINGS
@given(
    st.lists(st.tuples(st.sampled_from(["src", "dst"]), v6_address, st.integers(0, 128), st.booleans()), max_size=4),
    st.lists(st.tuples(v6_address, v6_address), min_size=1, max_size=6),
)
def test_ipv6_networks_are_exact(networks, trial_pairs):
    """Alternately add and remove IPv6 networks; compare with ipaddress at random points."""
    packets_ = PacketSet.none(V6)
    steps = []
    for field, host, length, adding in networks:
        network = ipaddress.IPv6Network((host, length), strict=False)
        piece = from_network(network, V6, field)
        packets_ = packets_ | piece if adding else packets_ - piece
        steps.append((field, network, adding))
    assert_well_formed(packets_)
    for src, dst_ in trial_pairs:
        packet = {"src": ipaddress.IPv6Address(src), "dst": ipaddress.IPv6Address(dst_)}
        expected = False
        for field, network, adding in steps:
            if packet[field] in network:
                expected = adding
        assert packets_.contains(packet) == expected
        assert (~packets_).contains(packet) != expected


def assert_within(bounds: Bounds, real: PacketSet) -> None:
    assert bounds.over.covers(real) and real.covers(bounds.under)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sets, sets, sets, sets)
def test_bounds_stay_sound(real, other, extra, missing):
    """Whatever the real set between the bounds, each operation's result lies between its bounds."""
    fuzzy = Bounds(real | extra, real - missing)
    exact = Bounds.exactly(other)
    assert_within(fuzzy, real)
    assert_within(fuzzy & exact, real & other)
    assert_within(fuzzy | exact, real | other)
    assert_within(fuzzy - exact, real - other)
    assert_within(exact - fuzzy, other - real)
    assert_within(~fuzzy, ~real)
    assert (exact & exact).exact and (~exact).exact


def test_families_stay_apart():
    with pytest.raises(ValueError, match="cannot combine"):
        _ = PacketSet.any(V4) & PacketSet.any(V6)
    six = from_address(address("fd00::/64", V6), V6, "dst").over
    assert six.contains({"dst": ipaddress.IPv6Address("fd00::1")})
    assert not six.contains({"dst": ipaddress.IPv6Address("fd01::1")})
    assert (~six).describe() == "all from any to not fd00::/64"
    assert six.sample()["dst"] == ipaddress.IPv6Address("fd00::1")
    with pytest.raises(ValueError):
        from_network(ipaddress.ip_network("10.0.0.0/8"), V6)


def test_host_names_are_only_bounded():
    bounds = from_address(Address(None, "example.com"), V4)
    assert not bounds.exact
    assert bounds.over.is_any() and bounds.under.is_empty()
    negated = ~bounds
    assert negated.over.is_any() and negated.under.is_empty()
    network = from_address(address("10.0.0.0/8", V4), V4)
    assert network.exact
    assert (network & bounds).over.equivalent(network.over)
    assert Bounds.exactly(PacketSet.none(V4)).exact


def test_reversed_ranges_and_impossible_flags_match_nothing():
    assert from_ports(Range(5, 4), V4).is_empty()
    assert from_address_range(
        AddressRange(ipaddress.IPv4Address("10.0.0.9"), ipaddress.IPv4Address("10.0.0.1")), V4
    ).is_empty()
    assert from_tcp_flags(TcpFlags(frozenset({"SYN"}), frozenset({"SYN", "ACK"})), V4).is_empty()
    assert from_mark(Masked(0x3, 0x1), V4).is_empty()


def test_protocol_all_and_icmp_any_are_everything():
    assert from_protocol(Protocol(0), V4).is_any()
    assert from_icmp(255, V4).is_any()
    assert not from_icmp(255, V6).is_any()


def test_rewrites():
    dnat = from_ports(Range(8080, 8080), V4) & from_address(address("203.0.113.5", V4), V4, "dst").over
    remembered = dnat.copy_field("dst", "ct_orig_dst").copy_field("dport", "ct_orig_dport")
    rewritten = remembered.assign("dst", IntervalSet.point(int(ipaddress.IPv4Address("172.17.0.2")))).assign(
        "dport", IntervalSet.point(80)
    )
    assert rewritten.describe() == "all from any to 172.17.0.2 port 80 orig-dst 203.0.113.5 orig-port 8080"
    assert rewritten.field_values("ct_orig_dport") == IntervalSet.point(8080)
    assert rewritten.assign("dst", None).field_values("dst") == IntervalSet.span(0, 2**32 - 1)


# ---------------------------------------------------------------------------------------
# describe()
# ---------------------------------------------------------------------------------------


def dst(text: str) -> PacketSet:
    return from_address(address(text, V4), V4, "dst").over


@pytest.mark.parametrize(
    ("packets_", "text"),
    [
        (
            from_protocol(6, V4) & from_interface("eth0", V4) & dst("172.17.0.2") & from_ports(Range(80, 80), V4),
            "tcp from any via eth0 to 172.17.0.2 port 80",
        ),
        (~from_address(address("10.0.0.0/8", V4), V4).over, "all from not 10.0.0.0/8 to any"),
        (dst("10.0.0.0/8") - dst("10.1.2.3"), "all from any to 10.0.0.0/8 except 10.1.2.3"),
        (from_interface("eth+", V4) - from_interface("eth0", V4), "all from any via eth+ except eth0 to any"),
        (~from_interface("docker0", V4, "out_iface"), "all from any to any out via not docker0"),
        (
            from_protocol(17, V4) & from_ports((Range(53, 53), Range(5353, 5353)), V4),
            "udp from any to any port 53,5353",
        ),
        (~from_protocol(6, V4), "not tcp from any to any"),
        (from_ports(Range(1024, 65535), V4, "sport"), "all from any port 1024:65535 to any"),
        (from_syn(V4), "all from any to any flags SYN/FIN,SYN,RST,ACK"),
        (from_mark(Masked(0x4000, 0x4000), V4), "all from any to any mark 0x4000/0x4000"),
        (~from_mark(Masked(0x1, 0xFFFFFFFF), V4, "ct_mark"), "all from any to any connmark not 0x1"),
        (~from_states({"INVALID"}, V4), "all from any to any state not INVALID"),
        (from_states({"ESTABLISHED", "RELATED"}, V4), "all from any to any state ESTABLISHED,RELATED"),
        (
            from_flag("dst_local", True, V4) & ~from_flag("fragment", True, V4),
            "all from any to any dst-local not fragment",
        ),
        (from_icmp(8, V4) & from_protocol(1, V4), "icmp from any to any icmp-type 8"),
        (PacketSet.any(V4), "all from any to any"),
        (PacketSet.none(V4), "no packet"),
    ],
)
def test_describe(packets_, text):
    assert packets_.describe() == text


def test_describe_joins_cubes():
    text = (from_protocol(6, V4) | from_ports(Range(22, 22), V4)).describe()
    assert text == "tcp from any to any; not tcp from any to any port 22"


def test_samples_are_readable():
    sample = (from_interface("eth+", V4) - from_interface("eth0", V4) - from_interface("eth1", V4)).sample()
    assert sample["in_iface"] == "eth2"
    assert (~from_interface("eth+", V4)).sample()["in_iface"] == "docker0"
    assert dst("10.0.0.0/8").sample()["dst"] == ipaddress.IPv4Address("10.0.0.1")
    assert from_values("ct_state", ["RELATED"], V4).sample()["ct_state"] == "RELATED"


def test_cube_reads():
    cube = Cube.of(V4, dport=IntervalSet.point(80), proto=IntervalSet.point(6))
    assert cube.fields() == ("proto", "dport")
    assert cube.get("src") is None
    assert cube.constraint("src") == IntervalSet.span(0, 2**32 - 1)
    assert cube.contains({"proto": 6, "dport": 80})
    with pytest.raises(KeyError):
        cube.contains({"proto": 6})
    with pytest.raises(TypeError):
        Cube.of(V4, mark=IntervalSet.point(1))
    with pytest.raises(KeyError):
        Cube.of(V4, nonsense=IntervalSet.point(1))


# ---------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------


def test_subtracting_many_rules_stays_small_and_fast():
    """What reaches the last rule of a 400-rule chain of kube-proxy-like rules."""
    start = time.perf_counter()
    remaining = PacketSet.any(V4)
    for i in range(400):
        rule = (
            from_protocol(6, V4)
            & dst(f"10.96.{i // 200}.{i % 200}")
            & from_ports(Range(80 + i % 3, 80 + i % 3), V4)
            & from_interface("eth+" if i % 2 else "docker0", V4)
        )
        remaining -= rule
    elapsed = time.perf_counter() - start
    assert len(remaining.cubes) < 1300
    assert elapsed < 3, elapsed
    assert not remaining.overlaps(
        dst("10.96.0.0") & from_protocol(6, V4) & from_ports(Range(80, 80), V4) & from_interface("docker0", V4)
    )
