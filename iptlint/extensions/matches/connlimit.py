"""connlimit: the number of connections from (or to) an address or network (libxt_connlimit).

    -p tcp --syn --dport 22 -m connlimit --connlimit-above 3 --connlimit-mask 32 -j REJECT
    -m connlimit --connlimit-upto 100 --connlimit-daddr

One of `--connlimit-upto N` (at most N) or `--connlimit-above N` (more than N);
`--connlimit-mask` groups addresses by prefix length (0-32, or 0-128 for IPv6);
`--connlimit-saddr` (the default) or `--connlimit-daddr` counts per source or destination.
"""

import ipaddress

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

_COUNT = v.uint(0, 0xFFFFFFFF, "connection count")


def prefix_length(text: str, family) -> int | ipaddress.IPv4Address | ipaddress.IPv6Address:
    """A prefix length for the family, or a netmask in address form, as XTTYPE_PLENMASK reads it.

    A mask that is not a prefix (iptables lets `0.0.0.33`, or a plain 33 in IPv4, through)
    is returned as the address it spells.
    """
    limit = 32 if family is Family.IPV4 else 128
    try:
        return v.to_int(text, 0, limit, "prefix length")
    except ValueError:
        pass
    try:
        mask = _inet_aton(text) if family is Family.IPV4 else ipaddress.IPv6Address(text)
    except ValueError:
        raise ValueError(f"{text!r} is neither a prefix length 0-{limit} nor a netmask") from None
    inverted = ~int(mask) & ((1 << limit) - 1)
    return limit - inverted.bit_length() if inverted & (inverted + 1) == 0 else mask


def _inet_aton(text: str) -> ipaddress.IPv4Address:
    """An IPv4 address as inet_aton reads it: `a.b.c.d`, `a.b.c`, `a.b` or `a`, each part decimal, hex or octal."""
    parts = [v.to_int(part, 0, 0xFFFFFFFF, "address part") for part in text.split(".")]
    if not 1 <= len(parts) <= 4 or any(part > 255 for part in parts[:-1]):
        raise ValueError(f"{text!r} is not an IPv4 address")
    last_bits = 8 * (5 - len(parts))
    if parts[-1] >= 1 << last_bits:
        raise ValueError(f"{text!r} is not an IPv4 address")
    number = parts[-1]
    for index, part in enumerate(parts[:-1]):
        number |= part << (24 - 8 * index)
    return ipaddress.IPv4Address(number)


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
