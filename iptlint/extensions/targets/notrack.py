"""NOTRACK: exempt the packet from connection tracking; the old name of `CT --notrack` (libxt_CT).

    -A PREROUTING -p udp -m udp --dport 53 -j NOTRACK

No options.  iptables-save prints it as `-j CT --notrack`.  Not terminal.  Valid only in
the raw table.
"""

# Sources: iptables 1.8.9 extensions/libxt_CT.c (NOTRACK registered with real_name "CT",
# revision 2 an alias); kernel net/netfilter/xt_CT.c (notrack_tg_reg: .table = "raw"),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension

EXTENSION = Extension(
    name="NOTRACK",
    kind="target",
    summary="do not track the packet's connection",
    tables=("raw",),
)
