"""CONNMARK: set the connection's mark, or copy it to/from the packet mark (libxt_CONNMARK).

    -A PREROUTING -j CONNMARK --restore-mark --nfmask 0xff --ctmask 0xff
    -A POSTROUTING -m mark --mark 0x1 -j CONNMARK --save-mark
    -A PREROUTING -j CONNMARK --set-xmark 0x100/0xff00

Exactly one action: `--set-xmark VALUE[/MASK]` (printed by iptables-save), `--set-mark
VALUE[/MASK]`, `--and-mark`, `--or-mark`, `--xor-mark` BITS, `--save-mark` (packet mark to
connection) or `--restore-mark` (connection to packet).  The copies take `--nfmask` and
`--ctmask` (or `--mask`, both at once, which excludes them) and, in revision 2,
`--left-shift-mark` / `--right-shift-mark` 0-32.  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_CONNMARK.c (connmark_tg_opts_v2, F_OP_ANY
# exclusions, connmark_tg_check: "No operation specified"); kernel
# net/netfilter/xt_connmark.c (no .table, no .hooks), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

ACTIONS = ("--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark", "--save-mark", "--restore-mark")

_BITS = v.uint(0, 0xFFFFFFFF, "mark")
_MASK = v.uint(0, 0xFFFFFFFF, "mask")
_SHIFT = v.uint(0, 32, "shift")


def _action(name, parse=None):
    return opt(name, parse, excludes=_checks.others(name, ACTIONS))


EXTENSION = Extension(
    name="CONNMARK",
    kind="target",
    summary="set, save or restore the connection mark",
    check=_checks.at_least_one(*ACTIONS, message="give an operation: " + ", ".join(ACTIONS)),
    options=(
        _action("--set-xmark", v.mark),
        _action("--set-mark", v.mark),
        _action("--and-mark", _BITS),
        _action("--or-mark", _BITS),
        _action("--xor-mark", _BITS),
        _action("--save-mark"),
        _action("--restore-mark"),
        opt("--left-shift-mark", _SHIFT),
        opt("--right-shift-mark", _SHIFT),
        opt("--ctmask", _MASK, excludes=("--mask",)),
        opt("--nfmask", _MASK, excludes=("--mask",)),
        opt("--mask", _MASK, excludes=("--ctmask", "--nfmask")),
    ),
)
