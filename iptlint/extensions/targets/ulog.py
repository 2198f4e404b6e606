"""ULOG: the old netlink packet logger, IPv4 only (libipt_ULOG).

    -A INPUT -j ULOG --ulog-nlgroup 1 --ulog-prefix "in: "

`--ulog-nlgroup` 1-32, `--ulog-prefix` (not empty, no newline), `--ulog-cprange` bytes
to copy, `--ulog-qthreshold` 1-50.  iptables 1.8.9 still reads it, but the kernel module
was removed in Linux 3.17: a rule with ULOG fails to load on any current kernel; NFLOG
replaces it.  Not terminal.
"""

# Sources: iptables 1.8.9 extensions/libipt_ULOG.c (ULOG_opts, ULOG_MAX_QLEN = 50);
# kernel: net/ipv4/netfilter/ipt_ULOG.c, removed in Linux 3.17 (no .table, no .hooks).

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets.log import log_prefix
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="ULOG",
    kind="target",
    summary="log the packet over netlink (obsolete, use NFLOG)",
    family="ipv4",
    options=(
        opt("--ulog-nlgroup", v.uint(1, 32, "netlink group")),
        opt("--ulog-prefix", log_prefix),
        opt("--ulog-cprange", v.uint(0, 2**64 - 1, "copy range")),
        opt("--ulog-qthreshold", v.uint(1, 50, "queue threshold")),
    ),
)
