"""CONNSECMARK: copy the security mark between the packet and its connection (libxt_CONNSECMARK).

    -A INPUT -m state --state NEW -j CONNSECMARK --save
    -A INPUT -m state --state ESTABLISHED,RELATED -j CONNSECMARK --restore

Exactly one of `--save` (packet to connection) and `--restore`.  Not terminal.  Valid in
the mangle and security tables.
"""

# Sources: iptables 1.8.9 extensions/libxt_CONNSECMARK.c (the options exclude each other,
# CONNSECMARK_check needs one); kernel net/netfilter/xt_CONNSECMARK.c (connsecmark_tg_check:
# only "mangle" or "security"), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks

EXTENSION = Extension(
    name="CONNSECMARK",
    kind="target",
    summary="save or restore the connection's security mark",
    tables=("mangle", "security"),
    check=_checks.at_least_one("--save", "--restore"),
    options=(
        opt("--save", excludes=("--restore",)),
        opt("--restore", excludes=("--save",)),
    ),
)
