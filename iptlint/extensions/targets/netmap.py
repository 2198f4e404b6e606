"""NETMAP: map a whole network onto another, host part kept (libipt_NETMAP, libip6t_NETMAP).

    -A PREROUTING -d 192.168.201.0/24 -j NETMAP --to 192.168.101.0/24

`--to ADDR[/MASK]` (mandatory; a prefix length or a dotted mask).  In PREROUTING and
OUTPUT it rewrites destinations, in POSTROUTING and INPUT sources.  Terminal: it
returns the nat verdict ACCEPT.  Valid in the nat table, every hook.
"""

# Sources: iptables 1.8.9 extensions/libipt_NETMAP.c, libip6t_NETMAP.c (XTTYPE_HOSTMASK,
# XTOPT_MAND); kernel net/netfilter/xt_NETMAP.c (.table = "nat", all four nat hooks),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="NETMAP",
    kind="target",
    summary="map one network onto another",
    tables=("nat",),
    hooks=("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    terminal=True,
    options=(opt("--to", v.address, required=True),),
)
