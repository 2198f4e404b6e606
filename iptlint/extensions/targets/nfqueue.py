"""NFQUEUE: hand the packet to a userspace program that gives the verdict (libxt_NFQUEUE).

    -A FORWARD -j NFQUEUE --queue-balance 0:3 --queue-bypass

`--queue-num` 0-65535 (default 0) or `--queue-balance FIRST:LAST` (FIRST < LAST; `:4`
and `4:` take the bounds 0 and 65535), `--queue-bypass` (accept when no program
listens), `--queue-cpu-fanout` (needs `--queue-balance`).  The kernel counts the queues
in 16 bits: `0:65535` (and so `:`) is 65536 queues, which it refuses.  Terminal: the
verdict comes from the program (or ACCEPT with `--queue-bypass` when none listens); no
later rule of the chain sees the packet.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_NFQUEUE.c (NFQUEUE_opts, NFQUEUE_parse_v3:
# queues_total = LAST - FIRST + 1 in a __u16; 1.8.9's XTTYPE_UINT16RC ignores the .max of
# 65534 that 1.8.11 enforces); kernel net/netfilter/xt_NFQUEUE.c (nfqueue_tg_check refuses
# queues_total 0; no .table, no .hooks), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

QUEUE_MAX = 0xFFFF


def queue_balance(text: str, family) -> v.Range:
    """`FIRST:LAST`, the queues to spread flows over, read as an XTTYPE_UINT16RC."""
    parts = text.split(":")
    if len(parts) == 1:
        raise ValueError(f"bad range {text!r}: give FIRST:LAST")
    if len(parts) > 2:
        raise ValueError(f"too many components in {text!r}: give FIRST:LAST")
    first = v.to_int(parts[0], 0, QUEUE_MAX, "queue") if parts[0] else 0
    last = v.to_int(parts[1], 0, QUEUE_MAX, "queue") if parts[1] else QUEUE_MAX
    if first >= last:
        raise ValueError(f"{first} should be less than {last}")
    if last - first + 1 > QUEUE_MAX:
        raise ValueError(f"{text!r} is 65536 queues, which the kernel's 16-bit count cannot hold: it refuses the rule")
    return v.Range(first, last)


EXTENSION = Extension(
    name="NFQUEUE",
    kind="target",
    summary="queue the packet to a userspace program",
    terminal=True,
    check=_checks.needs("--queue-cpu-fanout", "--queue-balance"),
    options=(
        opt("--queue-num", v.uint(0, 0xFFFF, "queue"), excludes=("--queue-balance",)),
        opt("--queue-balance", queue_balance, excludes=("--queue-num",)),
        opt("--queue-bypass"),
        opt("--queue-cpu-fanout"),
    ),
)
