"""DNAT: rewrite the destination address and/or port of a new connection (libxt_NAT.c).

    -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80

`--to-destination ADDR[-ADDR][:PORT[-PORT[/BASE]]]` (mandatory, once; IPv6 with a port in
brackets, `[fd00::2]:80`); `--random`, `--persistent`.  A port needs `-p tcp`, `udp`,
`sctp`, `dccp` or `icmp`.  Terminal: the target returns the nat verdict ACCEPT, so no
later rule of the chain sees the packet.  Valid in the nat table, from PREROUTING and
OUTPUT (and the user chains only they reach).
"""

# Sources: iptables 1.8.9 extensions/libxt_NAT.c (DNAT_opts, parse_to, parse_ports;
# revision 2 takes the shifted `/BASE` port map); kernel net/netfilter/xt_nat.c
# (.table = "nat", .hooks = PRE_ROUTING | LOCAL_OUT), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _nat

EXTENSION = Extension(
    name="DNAT",
    kind="target",
    summary="rewrite the destination of a new connection",
    tables=("nat",),
    hooks=("PREROUTING", "OUTPUT"),
    terminal=True,
    check=_nat.ports_need_protocol(("--to-destination",)),
    options=(
        opt("--to-destination", _nat.nat_range, required=True),
        opt("--random"),
        opt("--persistent"),
    ),
)
