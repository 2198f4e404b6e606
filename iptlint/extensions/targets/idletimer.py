"""IDLETIMER: (re)start a timer each time a packet hits the rule; when it expires, userspace
is told through sysfs (or an alarm) that the traffic went idle (libxt_IDLETIMER).

    -A OUTPUT -o rmnet0 -j IDLETIMER --timeout 10 --label 0 --alarm

`--timeout SECONDS` and `--label NAME` are required (the kernel wants 1-2147482 seconds
and a label that is not empty; iptables cuts labels to 27 bytes), `--alarm` (revision 1)
wakes the system.  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_IDLETIMER.c (idletimer_tg_opts_v1, label[28]);
# kernel net/netfilter/xt_IDLETIMER.c (idletimer_tg_checkentry: timeout 0 and timeout >=
# INT_MAX / 1000 refused, empty label refused; no .table, no .hooks), checked by loading.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_TIMEOUT = 0x7FFFFFFF // 1000 - 1


def label(text: str, family) -> str:
    if not text:
        raise ValueError("the label is empty: the kernel refuses the rule")
    return text


EXTENSION = Extension(
    name="IDLETIMER",
    kind="target",
    summary="signal userspace when traffic stops",
    options=(
        opt("--timeout", v.uint(1, MAX_TIMEOUT, "timeout"), required=True),
        opt("--label", label, required=True),
        opt("--alarm"),
    ),
)
