"""NFQUEUE: hand the packet to a userspace program that gives the verdict (libxt_NFQUEUE).

    -A FORWARD -j NFQUEUE --queue-balance 0:3 --queue-bypass

`--queue-num` 0-65535 (default 0) or `--queue-balance FIRST:LAST` (FIRST < LAST, at most
65534; `:4` and `4:` take the bounds), `--queue-bypass` (accept when no program listens),
`--queue-cpu-fanout` (needs `--queue-balance`).  Terminal: the verdict comes from the
program (or ACCEPT with `--queue-bypass` when none listens); no later rule of the chain
sees the packet.  Valid in every table and chain.
"""

# Sources: iptables 1.8.11 extensions/libxt_NFQUEUE.c (NFQUEUE_opts: queue-balance has
# .max = UINT16_MAX - 1, NFQUEUE_parse_v3); 1.8.9 ignored that maximum, but LAST = 65535
# makes queues_total overflow to 0, which the kernel refuses (net/netfilter/xt_NFQUEUE.c,
# nfqueue_tg_check), so iptlint follows 1.8.11.  No .table, no .hooks.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

BALANCE_MAX = 0xFFFF - 1


def queue_balance(text: str, family) -> v.Range:
    """`FIRST:LAST`, the queues to spread flows over, read as an XTTYPE_UINT16RC."""
    parts = text.split(":")
    if len(parts) == 1:
        raise ValueError(f"bad range {text!r}: give FIRST:LAST")
    if len(parts) > 2:
        raise ValueError(f"too many components in {text!r}: give FIRST:LAST")
    first = v.to_int(parts[0], 0, BALANCE_MAX, "queue") if parts[0] else 0
    last = v.to_int(parts[1], 0, BALANCE_MAX, "queue") if parts[1] else BALANCE_MAX
    if first >= last:
        raise ValueError(f"{first} should be less than {last}")
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
