"""connlimit: the number of connections from (or to) an address or network (libxt_connlimit).

    -p tcp --syn --dport 22 -m connlimit --connlimit-above 3 --connlimit-mask 32 -j REJECT
    -m connlimit --connlimit-upto 100 --connlimit-daddr

One of `--connlimit-upto N` (at most N) or `--connlimit-above N` (more than N);
`--connlimit-mask` groups addresses by prefix length (0-32, or 0-128 for IPv6);
`--connlimit-saddr` (the default) or `--connlimit-daddr` counts per source or destination.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

_COUNT = v.uint(0, 0xFFFFFFFF, "connection count")


def prefix_length(text: str, family) -> int:
    """A prefix length for the family, as XTTYPE_PLENMASK reads it."""
    limit = 32 if family is Family.IPV4 else 128
    return v.to_int(text, 0, limit, "prefix length")


def _limit_given(options, family, protocol) -> list[str]:
    if "--connlimit-upto" not in options and "--connlimit-above" not in options:
        return ["give --connlimit-above or --connlimit-upto"]
    return []


EXTENSION = Extension(
    name="connlimit",
    kind="match",
    summary="number of connections per address",
    options=(
        opt("--connlimit-upto", _COUNT, invert=True, excludes=("--connlimit-above",)),
        opt("--connlimit-above", _COUNT, invert=True, excludes=("--connlimit-upto",)),
        opt("--connlimit-mask", prefix_length),
        opt("--connlimit-saddr", excludes=("--connlimit-daddr",)),
        opt("--connlimit-daddr", excludes=("--connlimit-saddr",)),
    ),
    check=_limit_given,
)
