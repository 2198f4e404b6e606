"""SNAT: rewrite the source address and/or port of a new connection (libxt_NAT.c).

    -A POSTROUTING -s 172.18.0.0/16 -o eth0 -j SNAT --to-source 203.0.113.7

`--to-source ADDR[-ADDR][:PORT[-PORT]]` (mandatory, once; IPv6 with a port in brackets);
`--random`, `--random-fully`, `--persistent`.  A port needs `-p tcp`, `udp`, `sctp`,
`dccp` or `icmp`.  Terminal: it returns the nat verdict ACCEPT.  Valid in the nat
table, from POSTROUTING and INPUT.
"""

# Sources: iptables 1.8.9 extensions/libxt_NAT.c (SNAT_opts, parse_to, SNAT_fcheck);
# kernel net/netfilter/xt_nat.c (.table = "nat", .hooks = POST_ROUTING | LOCAL_IN),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _nat

EXTENSION = Extension(
    name="SNAT",
    kind="target",
    summary="rewrite the source of a new connection",
    tables=("nat",),
    hooks=("POSTROUTING", "INPUT"),
    terminal=True,
    check=_nat.ports_need_protocol(("--to-source",)),
    options=(
        opt("--to-source", _nat.nat_range, required=True),
        opt("--random"),
        opt("--random-fully"),
        opt("--persistent"),
    ),
)
