"""TOS: change the IPv4 Type of Service / IPv6 traffic class byte (libxt_TOS, revision 1).

    -A PREROUTING -p tcp -m tcp --dport 22 -j TOS --set-tos Minimize-Delay
    -A POSTROUTING -j TOS --and-tos 0x03

Exactly one of `--set-tos VALUE[/MASK]` (zero MASK, XOR VALUE; a symbolic name such as
Minimize-Delay uses the mask 0x3f), `--and-tos`, `--or-tos`, `--xor-tos` BITS (0-255).
Not terminal.  Valid only in the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libxt_TOS.c (tos_tg_opts: set-tos XTTYPE_TOSMASK
# with .max = 0x3F, all options exclude each other, tos_tg_check needs one); kernel
# net/netfilter/xt_DSCP.c (tos_tg_reg: .table = "mangle"), checked by loading.

from iptlint.extensions.matches.tos import tos_value
from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

ACTIONS = ("--set-tos", "--and-tos", "--or-tos", "--xor-tos")
_BITS = v.uint(0, 0xFF, "TOS bits")

EXTENSION = Extension(
    name="TOS",
    kind="target",
    summary="change the TOS / traffic class byte",
    tables=("mangle",),
    check=_checks.at_least_one(*ACTIONS, message="an action is required: " + ", ".join(ACTIONS)),
    options=(
        opt("--set-tos", tos_value, excludes=_checks.others("--set-tos", ACTIONS)),
        opt("--and-tos", _BITS, excludes=_checks.others("--and-tos", ACTIONS)),
        opt("--or-tos", _BITS, excludes=_checks.others("--or-tos", ACTIONS)),
        opt("--xor-tos", _BITS, excludes=_checks.others("--xor-tos", ACTIONS)),
    ),
)
