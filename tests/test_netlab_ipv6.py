"""The kernel lab's IPv6 side, packet by packet: what tests/test_diff_kernel.py relies on for its IPv6 dumps.

The diff's IPv6 example packets are TCP in practice; this checks the rest of what
`netlab.NetLab(family=6)` claims once, on a small ruleset of its own: crafted TCP, UDP
and ICMPv6 (checksums over the IPv6 pseudo-header) delivered to the router and
forwarded, the router's own packets (OUTPUT), a wrong checksum seen as INVALID,
connections added over ctnetlink (CTA_IP_V6_*) seen as ESTABLISHED, counters read with
`ip6tables-save -c`; on both backends.
"""

from __future__ import annotations

import pytest
from netlab import NetLab, ip_batch
from test_kernel_differential import requires_lab

RULES = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -m conntrack --ctstate INVALID -j DROP
-A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A INPUT -p tcp --dport 22 -j ACCEPT
-A INPUT -p udp --dport 53 -j ACCEPT
-A INPUT -p ipv6-icmp --icmpv6-type echo-request -j ACCEPT
-A FORWARD -m conntrack --ctstate INVALID -j DROP
-A FORWARD -m conntrack --ctstate ESTABLISHED -j ACCEPT
-A FORWARD -i eth0 -o srv0 -p tcp --dport 80 -j ACCEPT
-A FORWARD -i eth0 -o srv0 -p ipv6-icmp -j ACCEPT
-A OUTPUT -p udp --dport 9 -j DROP
COMMIT
"""
LINKS = {"eth0": ["fd00:198:18:0::1/128"], "srv0": ["fd00:198:18:1::1/128", "2001:db8:5::1/64"]}
HOST, CLIENT, SERVER = "2001:db8:ffff::10", "2001:db8:77::7", "2001:db8:5::20"


def packet(**fields) -> dict:
    base = {"in_iface": "eth0", "src": CLIENT, "dst": HOST, "proto": 6, "sport": 40000, "dport": 22}
    return base | fields


# (packet, where it must arrive: "router", "server" or None, the rule that counts it (chain, number) or policy)
CASES = [
    (packet(), "router", ("INPUT", 3)),
    (packet(dport=23), None, ("INPUT", "policy")),
    (packet(proto=17, dport=53), "router", ("INPUT", 4)),
    (packet(proto=58, icmp_type=128), "router", ("INPUT", 5)),
    (packet(proto=58, icmp_type=129), None, ("INPUT", 1)),  # an echo reply of no request: INVALID
    (packet(checksum="wrong"), None, ("INPUT", 1)),
    (packet(dst=SERVER, dport=80), "server", ("FORWARD", 3)),
    (packet(dst=SERVER, dport=81), None, ("FORWARD", "policy")),
    (packet(dst=SERVER, proto=58, icmp_type=128), "server", ("FORWARD", 4)),
    (packet(dst=SERVER, proto=17, dport=80), None, ("FORWARD", "policy")),
    ({"src": HOST, "dst": SERVER, "proto": 17, "sport": 40001, "dport": 8}, "server", ("OUTPUT", "policy")),
    ({"src": HOST, "dst": SERVER, "proto": 17, "sport": 40002, "dport": 9}, None, ("OUTPUT", 1)),
    ({"src": HOST, "dst": SERVER, "proto": 58}, "server", ("OUTPUT", "policy")),
    ({"src": HOST, "dst": SERVER, "proto": 6, "sport": 40003, "dport": 80}, "server", ("OUTPUT", "policy")),
]


def counted(seen, where: tuple) -> bool:
    chain, number = where
    if number == "policy":
        return seen.policy_delta.get(("filter", chain), 0) >= 1
    return seen.counters_delta.get(("filter", chain, number), 0) >= 1


@pytest.mark.kernel
@pytest.mark.parametrize("backend", ["legacy", "nft"])
def test_ipv6_packets_in_the_lab(backend: str) -> None:
    requires_lab()
    with NetLab(RULES, LINKS, default="eth0", backend=backend, family=6) as lab:
        ip_batch(lab.router, [f"address add {HOST}/128 dev eth0 noprefixroute nodad"])
        for number, (sent, where, rule) in enumerate(CASES):
            if "sport" in sent:
                sent = sent | {"sport": sent["sport"] + 100 * number}  # a tuple conntrack has not seen
            lab.flush_conntrack()
            seen = lab.send(sent, wait=0.3 if where else 0.05)
            assert seen.where == where, (sent, seen.describe())
            assert counted(seen, rule), (sent, rule, seen.describe())
            if where == "server" and "in_iface" in sent:
                assert seen.seen is not None and seen.seen.dst == sent["dst"] and seen.iface == "srv0"
        # ESTABLISHED by a connection added over ctnetlink: a TCP segment to a closed port, an echo request
        for sent in (packet(dport=1, sport=41000, tcp_flags=0x10), packet(proto=58, icmp_type=128, icmp_id=7)):
            lab.flush_conntrack()
            lab.add_connection(sent)
            seen = lab.send(sent)
            assert seen.where == "router" and counted(seen, ("INPUT", 2)), seen.describe()
        # forwarded and opened through the ruleset: the answer comes back, the next packet is ESTABLISHED
        lab.flush_conntrack()
        seen = lab.send(packet(dst=SERVER, dport=80, sport=42000, ct_state="ESTABLISHED"))
        assert seen.where == "server" and counted(seen, ("FORWARD", 2)), seen.describe()
