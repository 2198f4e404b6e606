"""iprange: a source or destination address within an arbitrary range (libxt_iprange).

    -m iprange --src-range 192.168.1.100-192.168.1.200 -j ACCEPT
    -m iprange ! --dst-range 2001:db8::1-2001:db8::ff

`FIRST-LAST` or a single address, numeric only, of the ruleset's family.  iptables
accepts a reversed range with a warning that it will never match.  At least one of
`--src-range`/`--dst-range` is required.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def address_range(text: str, family) -> v.AddressRange:
    """`10.0.0.1-10.0.0.9`, kept as written even when reversed (iptables only warns)."""
    first, dash, last = text.partition("-")
    lo = v.single_address(first, family)
    hi = v.single_address(last, family) if dash else lo
    return v.AddressRange(lo, hi)


def _check(options, family, protocol):
    return [] if options else ["give --src-range or --dst-range"]


EXTENSION = Extension(
    name="iprange",
    kind="match",
    summary="address ranges",
    options=(
        opt("--src-range", address_range, invert=True),
        opt("--dst-range", address_range, invert=True),
    ),
    check=_check,
)
