"""DNPT: stateless IPv6 destination prefix translation (RFC 6296), the inbound half of NPTv6.

    -A PREROUTING -i wan0 -d 2001:db8:1::/48 -j DNPT --src-pfx 2001:db8:1::/48 --dst-pfx fd00:1::/48

Rewrites destinations inside `--src-pfx` into `--dst-pfx`, keeping the checksum neutral;
see _npt.py for the prefixes.  IPv6 only.  Not terminal (the kernel returns XT_CONTINUE).
Valid only in the mangle table, from PREROUTING and OUTPUT.
"""

# Sources: iptables 1.8.9 extensions/libip6t_DNPT.c; kernel net/ipv6/netfilter/ip6t_NPT.c
# (DNPT: .table = "mangle", .hooks = PRE_ROUTING | LOCAL_OUT), checked by loading.

from iptlint.extensions.spec import Extension
from iptlint.extensions.targets._npt import OPTIONS

EXTENSION = Extension(
    name="DNPT",
    kind="target",
    summary="translate the IPv6 destination prefix",
    family="ipv6",
    tables=("mangle",),
    hooks=("PREROUTING", "OUTPUT"),
    options=OPTIONS,
)
