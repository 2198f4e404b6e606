"""MASQUERADE: source NAT to the address of the outgoing interface (libxt_NAT.c).

    -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE

`--to-ports PORT[-PORT]` (needs `-p tcp`, `udp`, `sctp`, `dccp` or `icmp`), `--random`,
`--random-fully`.  Terminal: it returns the nat verdict ACCEPT.  Valid in the nat
table, POSTROUTING only.
"""

# Sources: iptables 1.8.9 extensions/libxt_NAT.c (MASQUERADE_opts, parse_ports);
# kernel net/netfilter/xt_MASQUERADE.c (.table = "nat", .hooks = POST_ROUTING),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _nat

EXTENSION = Extension(
    name="MASQUERADE",
    kind="target",
    summary="source NAT to the outgoing interface's address",
    tables=("nat",),
    hooks=("POSTROUTING",),
    terminal=True,
    check=_nat.ports_need_protocol(("--to-ports",)),
    options=(
        opt("--to-ports", _nat.nat_ports_option),
        opt("--random"),
        opt("--random-fully"),
    ),
)
