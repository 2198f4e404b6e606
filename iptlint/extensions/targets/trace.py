"""TRACE: log every rule the packet traverses from here on, for debugging (libxt_TRACE).

    -A PREROUTING -p tcp -m tcp --dport 80 -j TRACE

No options.  With iptables-nft the trace goes to `xtables-monitor --trace`, with legacy
to the kernel log.  Not terminal.  Valid only in the raw table.
"""

# Sources: iptables 1.8.9 extensions/libxt_TRACE.c (no options); kernel
# net/netfilter/xt_TRACE.c (.table = "raw"), checked by loading in a namespace.

from iptlint.extensions.spec import Extension

EXTENSION = Extension(
    name="TRACE",
    kind="target",
    summary="trace the packet through the rules",
    tables=("raw",),
)
