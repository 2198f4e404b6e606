"""hl: the IPv6 hop limit (libip6t_hl).

    -m hl --hl-lt 5 -j DROP
    -m hl ! --hl-eq 255

Exactly one of `--hl-eq` (may be negated), `--hl-lt` or `--hl-gt`, each 0-255.
ip6tables still reads the old spelling `--hl` for `--hl-eq`.  IPv4 has `ttl` instead.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_COMPARISONS = ("--hl-eq", "--hl-lt", "--hl-gt")
_HOP_LIMIT = v.uint(0, 255, "hop limit")


def _one_comparison(options, family, protocol) -> list[str]:
    if not any(name in options for name in _COMPARISONS):
        return ["give one of --hl-eq, --hl-lt or --hl-gt"]
    return []


def _others(name: str) -> tuple[str, ...]:
    return tuple(other for other in _COMPARISONS if other != name)


EXTENSION = Extension(
    name="hl",
    kind="match",
    summary="IPv6 hop limit",
    family="ipv6",
    options=(
        opt("--hl-eq", _HOP_LIMIT, "--hl", invert=True, excludes=_others("--hl-eq")),
        opt("--hl-lt", _HOP_LIMIT, excludes=_others("--hl-lt")),
        opt("--hl-gt", _HOP_LIMIT, excludes=_others("--hl-gt")),
    ),
    check=_one_comparison,
)
