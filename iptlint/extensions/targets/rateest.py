"""RATEEST: measure the rate of the packets that hit the rule, under a name `-m rateest`
compares against (libxt_RATEEST).

    -A FORWARD -o eth0 -j RATEEST --rateest-name uplink --rateest-interval 250ms --rateest-ewmalog 1s

`--rateest-name`, `--rateest-interval` and `--rateest-ewmalog` are all required.  Times
are numbers with s/sec/secs, ms/msec/msecs or us/usec/usecs (no unit: microseconds).  The
interval is at most 8 s; the averaging time constant must give an EWMA log between 1 and
30 for that interval (iptables computes it and refuses the rule otherwise).  Not
terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_RATEEST.c (RATEEST_opts, RATEEST_get_time,
# RATEEST_final_check); kernel net/netfilter/xt_RATEEST.c (no .table, no .hooks).

import math
import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MICROSECONDS = 1_000_000
_NUMBER = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_UNITS = {
    "s": MICROSECONDS, "sec": MICROSECONDS, "secs": MICROSECONDS,
    "ms": 1000, "msec": 1000, "msecs": 1000,
    "us": 1, "usec": 1, "usecs": 1,
}  # fmt: skip


def duration(text: str, family) -> int:
    """A time in microseconds, read like RATEEST_get_time (strtod, then a unit)."""
    found = _NUMBER.match(text)
    if found is None:
        raise ValueError(f"bad time {text!r}: give a number with s, ms or us, as 250ms")
    unit = text[found.end() :]
    if unit and unit.lower() not in _UNITS:
        raise ValueError(f"bad time unit {unit!r} in {text!r}: use s, ms or us")
    microseconds = float(found.group()) * (_UNITS[unit.lower()] if unit else 1)
    if not 0 <= microseconds <= 0xFFFFFFFF:
        raise ValueError(f"time {text!r} is out of range")
    return int(microseconds)


def ewma_log(interval: int, ewma: int) -> int | None:
    """The EWMA log RATEEST_final_check derives (None if the interval is over 8 s)."""
    if not any(interval <= (1 << step) * (MICROSECONDS // 4) for step in range(6)):
        return None
    log = 1
    while log < 32:
        divisor = 1 << log if log < 31 else -(1 << 31)  # C int arithmetic, as iptables does
        weight = 1.0 - 1.0 / divisor
        if interval / (-math.log(weight)) > ewma:
            break
        log += 1
    return log - 1


def _check(options, family, protocol) -> list[str]:
    interval, ewma = options.get("--rateest-interval"), options.get("--rateest-ewmalog")
    if interval is None or ewma is None:
        return []
    log = ewma_log(interval.value, ewma.value)
    if log is None:
        return ["--rateest-interval is over 8 seconds"]
    if log == 0 or log >= 31:
        return ["--rateest-ewmalog does not fit --rateest-interval: the EWMA log must be 1-30"]
    return []


EXTENSION = Extension(
    name="RATEEST",
    kind="target",
    summary="estimate a named rate",
    check=_check,
    options=(
        opt("--rateest-name", v.string(), required=True),
        opt("--rateest-interval", duration, required=True),
        opt("--rateest-ewmalog", duration, required=True),
    ),
)
