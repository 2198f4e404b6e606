"""MARK: set the packet's mark (nfmark), read later by `-m mark`, routing rules and tc (libxt_MARK).

    -A PREROUTING -i eth1 -j MARK --set-xmark 0x4000/0x4000
    -A OUTPUT -j MARK --set-mark 0x1/0xff

Exactly one of `--set-xmark VALUE[/MASK]` (zero the MASK bits, then XOR VALUE: the form
iptables-save prints), `--set-mark VALUE[/MASK]` (zero MASK, OR VALUE), `--and-mark`,
`--or-mark`, `--xor-mark` BITS.  `effect()` gives every form as the kernel's (value, mask)
pair.  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_MARK.c (mark_tg_opts, revision 2, all options
# exclude each other; mark_tg_parse computes mark/mask; mark_tg_check needs one);
# kernel net/netfilter/xt_mark.c (mark_tg: mark = (mark & ~mask) ^ value; no .table or
# .hooks), checked by loading in a namespace.

from collections.abc import Mapping

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v
from iptlint.syntax.ast import Option

ACTIONS = ("--set-xmark", "--set-mark", "--and-mark", "--or-mark", "--xor-mark")
FULL = 0xFFFFFFFF


def effect(option: Option) -> v.Masked:
    """What an action does, as the kernel's pair: new = (old & ~mask) ^ value."""
    value = option.value
    if option.name == "--set-xmark":
        return v.Masked(value.value, value.mask)
    if option.name == "--set-mark":
        return v.Masked(value.value, value.value | value.mask)
    if option.name == "--and-mark":
        return v.Masked(0, ~value & FULL)
    if option.name == "--or-mark":
        return v.Masked(value, value)
    return v.Masked(value, 0)  # --xor-mark


def action(options: Mapping[str, Option]) -> Option | None:
    """The one action of a MARK target."""
    return next((options[name] for name in ACTIONS if name in options), None)


_BITS = v.uint(0, FULL, "mark")

EXTENSION = Extension(
    name="MARK",
    kind="target",
    summary="set the packet mark",
    check=_checks.at_least_one(*ACTIONS),
    options=(
        opt("--set-xmark", v.mark, excludes=_checks.others("--set-xmark", ACTIONS)),
        opt("--set-mark", v.mark, excludes=_checks.others("--set-mark", ACTIONS)),
        opt("--and-mark", _BITS, excludes=_checks.others("--and-mark", ACTIONS)),
        opt("--or-mark", _BITS, excludes=_checks.others("--or-mark", ACTIONS)),
        opt("--xor-mark", _BITS, excludes=_checks.others("--xor-mark", ACTIONS)),
    ),
)
