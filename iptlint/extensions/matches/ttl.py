"""ttl: the IPv4 time-to-live field (libipt_ttl).

    -m ttl --ttl-lt 5 -j DROP
    -m ttl ! --ttl-eq 64

Exactly one of `--ttl-eq` (may be negated), `--ttl-lt` or `--ttl-gt`, each 0-255.
iptables still reads the old spelling `--ttl` for `--ttl-eq`.  IPv6 has `hl` instead.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_COMPARISONS = ("--ttl-eq", "--ttl-lt", "--ttl-gt")
_TTL = v.uint(0, 255, "TTL")


def _one_comparison(options, family, protocol) -> list[str]:
    if not any(name in options for name in _COMPARISONS):
        return ["give one of --ttl-eq, --ttl-lt or --ttl-gt"]
    return []


def _others(name: str) -> tuple[str, ...]:
    return tuple(other for other in _COMPARISONS if other != name)


EXTENSION = Extension(
    name="ttl",
    kind="match",
    summary="IPv4 time-to-live",
    family="ipv4",
    options=(
        opt("--ttl-eq", _TTL, "--ttl", invert=True, excludes=_others("--ttl-eq")),
        opt("--ttl-lt", _TTL, excludes=_others("--ttl-lt")),
        opt("--ttl-gt", _TTL, excludes=_others("--ttl-gt")),
    ),
    check=_one_comparison,
)
