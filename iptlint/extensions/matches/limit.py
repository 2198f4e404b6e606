"""limit: at most N matches per time unit on average, with a burst (libxt_limit).

    -m limit --limit 5/min --limit-burst 10 -j LOG --log-prefix "dropped: "

The rate is `N[/second|/minute|/hour|/day]` (any prefix of the unit: `5/s`, `3/min`);
the default burst is 5, at most 10000.  A rate faster than 10000/second cannot be
represented and is rejected.  The match cannot be negated.  The legacy kernel also
refuses `--limit-burst 0` and slow rates with big bursts (its 32-bit credit arithmetic
overflows); iptables-nft translates the match to nftables and loads both, as iptlint does.
"""

from __future__ import annotations

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

LIMIT_SCALE = 10000  # XT_LIMIT_SCALE: the kernel counts time in 1/10000 s
UNITS = (("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400))
_ATOI = re.compile(r"\s*([+-]?[0-9]+)")


def leading_number(text: str) -> int:
    """The number atoi() reads at the start of `text` (0 when there is none): `5x` is 5."""
    found = _ATOI.match(text)
    return int(found.group(1)) if found else 0


def rate_parser(scale: int, what: str = "rate") -> v.Parser:
    """A `N/unit` parser as parse_rate in libxt_limit/libxt_hashlimit, for `scale` ticks per second."""

    def parse(text: str, family) -> v.Rate:
        count_text, slash, unit = text.partition("/")
        # iptables reads the count with atoi: trailing characters are ignored (`5x/s` is 5/s).
        count = leading_number(count_text)
        if count <= 0:
            raise ValueError(f"{what} {text!r} is not a positive number of events per second, minute, hour or day")
        name, seconds = "second", 1
        if slash:
            found = [(n, s) for n, s in UNITS if unit and n.startswith(unit.lower())]
            if not found:
                raise ValueError(f"{what} unit {unit!r} is not second, minute, hour or day")
            name, seconds = found[0]
        if scale * seconds // count == 0:
            raise ValueError(f"{what} {text} is too fast: at most {scale} per second")
        return v.Rate(count, seconds, name)

    parse.__name__ = f"rate_{scale}"
    return parse


EXTENSION = Extension(
    name="limit",
    kind="match",
    summary="average rate limit with a burst",
    options=(
        opt("--limit", rate_parser(LIMIT_SCALE)),
        opt("--limit-burst", v.uint(0, 10000, "burst")),
    ),
)
