"""NFLOG: pass the packet to a userspace logger over nfnetlink_log, then go on (libxt_NFLOG).

    -A INPUT -j NFLOG --nflog-group 5 --nflog-prefix "dropped: " --nflog-size 128

`--nflog-group` 0-65535 (0 is not printed), `--nflog-prefix` (not empty, no newline; 63
bytes kept), `--nflog-size` bytes to copy, `--nflog-threshold` 0-65535.  `--nflog-range`
is the old, never-working spelling of `--nflog-size` (iptables warns; the two exclude
each other).  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_NFLOG.c (NFLOG_opts, NFLOG_parse, NFLOG_check);
# kernel net/netfilter/xt_NFLOG.c (no .table, no .hooks), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets.log import log_prefix
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="NFLOG",
    kind="target",
    summary="log the packet over nfnetlink_log",
    options=(
        opt("--nflog-group", v.uint(0, 0xFFFF, "group")),
        opt("--nflog-prefix", log_prefix),
        opt("--nflog-range", v.uint(0, 0xFFFFFFFF, "copy range"), excludes=("--nflog-size",)),
        opt("--nflog-size", v.uint(0, 0xFFFFFFFF, "copy size"), excludes=("--nflog-range",)),
        opt("--nflog-threshold", v.uint(0, 0xFFFF, "threshold")),
    ),
)
