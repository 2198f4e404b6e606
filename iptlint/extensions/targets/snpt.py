"""SNPT: stateless IPv6 source prefix translation (RFC 6296), the outbound half of NPTv6.

    -A POSTROUTING -o wan0 -s fd00:1::/48 -j SNPT --src-pfx fd00:1::/48 --dst-pfx 2001:db8:1::/48

Rewrites sources inside `--src-pfx` into `--dst-pfx`; see _npt.py for the prefixes.  IPv6
only.  Not terminal (the kernel returns XT_CONTINUE).  Valid only in the mangle table,
from INPUT and POSTROUTING.
"""

# Sources: iptables 1.8.9 extensions/libip6t_SNPT.c; kernel net/ipv6/netfilter/ip6t_NPT.c
# (SNPT: .table = "mangle", .hooks = LOCAL_IN | POST_ROUTING), checked by loading.

from iptlint.extensions.spec import Extension
from iptlint.extensions.targets._npt import OPTIONS

EXTENSION = Extension(
    name="SNPT",
    kind="target",
    summary="translate the IPv6 source prefix",
    family="ipv6",
    tables=("mangle",),
    hooks=("INPUT", "POSTROUTING"),
    options=OPTIONS,
)
