"""REDIRECT: DNAT to the local machine (the incoming interface's address, or 127.0.0.1).

    -A OUTPUT -d 127.192.0.0/10 -p tcp -j REDIRECT --to-ports 9040

`--to-ports PORT[-PORT]` (needs `-p tcp`, `udp`, `sctp`, `dccp` or `icmp`; no shifted
`/BASE` map), `--random`.  Terminal: it returns the nat verdict ACCEPT.  Valid in the
nat table, from PREROUTING and OUTPUT.
"""

# Sources: iptables 1.8.9 extensions/libxt_NAT.c (REDIRECT_opts, parse_ports,
# DNAT_fcheck refuses shifted maps); kernel net/netfilter/xt_REDIRECT.c
# (.table = "nat", .hooks = PRE_ROUTING | LOCAL_OUT), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks, _nat

EXTENSION = Extension(
    name="REDIRECT",
    kind="target",
    summary="DNAT to the local machine",
    tables=("nat",),
    hooks=("PREROUTING", "OUTPUT"),
    terminal=True,
    check=_checks.every(_nat.ports_need_protocol(("--to-ports",)), _nat.no_shifted_ports("--to-ports")),
    options=(
        opt("--to-ports", _nat.nat_ports_option),
        opt("--random"),
    ),
)
