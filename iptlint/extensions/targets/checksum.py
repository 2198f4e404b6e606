"""CHECKSUM: fill in a missing checksum (for DHCP clients that drop packets with a partial
checksum from a virtual interface) (libxt_CHECKSUM).

    -A POSTROUTING -o virbr0 -p udp -m udp --dport 68 -j CHECKSUM --checksum-fill

`--checksum-fill` is required.  Not terminal.  Valid only in the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libxt_CHECKSUM.c (XTOPT_MAND); kernel
# net/netfilter/xt_CHECKSUM.c (.table = "mangle"), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt

EXTENSION = Extension(
    name="CHECKSUM",
    kind="target",
    summary="compute a missing checksum",
    tables=("mangle",),
    options=(opt("--checksum-fill", required=True),),
)
