"""DSCP: set the DiffServ code point, the top six bits of the TOS / traffic class byte (libxt_DSCP).

    -A POSTROUTING -p udp -m udp --dport 5060 -j DSCP --set-dscp-class EF

Exactly one of `--set-dscp` 0-63 and `--set-dscp-class` (BE, EF, CS0-CS7, AF11-AF43, any
case; saved as `--set-dscp 0x2e`).  Not terminal.  Valid only in the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libxt_DSCP.c (DSCP_opts, DSCP_check) and
# extensions/dscp_helper.c (class_to_dscp); kernel net/netfilter/xt_DSCP.c
# (dscp_tg_reg: .table = "mangle"), checked by loading in a namespace.

from iptlint.extensions.matches.dscp import dscp_class
from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="DSCP",
    kind="target",
    summary="set the DiffServ code point",
    tables=("mangle",),
    check=_checks.at_least_one("--set-dscp", "--set-dscp-class"),
    options=(
        opt("--set-dscp", v.uint(0, 63, "DSCP"), excludes=("--set-dscp-class",)),
        opt("--set-dscp-class", dscp_class, excludes=("--set-dscp",)),
    ),
)
