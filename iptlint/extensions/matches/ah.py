"""ah: the SPI of IPsec AH packets, and in IPv6 the AH header length (libipt_ah, libip6t_ah).

    -p ah -m ah --ahspi 500 -j ACCEPT
    -m ah --ahspi 0x100:0x1ff --ahlen 4 --ahres          (ip6tables)

`--ahspi SPI` or `MIN:MAX` (0-4294967295), may be negated.  In IPv4 the kernel wants
`-p ah`; in IPv6 AH is an extension header, found anywhere in the chain of headers, and
`--ahlen` (may be negated) and `--ahres` (reserved field set) exist too.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

PROTOCOL_AH = 51
_IPV6_ONLY = ("--ahlen", "--ahres")


def _check(options, family, protocol) -> list[str]:
    if family is Family.IPV6:
        return []
    given = [name for name in _IPV6_ONLY if name in options]
    if given:
        return [f"{given[0]} exists only in ip6tables"]
    if protocol != PROTOCOL_AH:
        return ["needs -p ah before it (the kernel refuses the rule)"]
    return []


EXTENSION = Extension(
    name="ah",
    kind="match",
    summary="IPsec AH security parameter index",
    options=(
        opt("--ahspi", v.uint_range_as_written(0, 0xFFFFFFFF, "SPI"), invert=True),
        opt("--ahlen", v.uint(0, 0xFFFFFFFF, "header length"), invert=True),
        opt("--ahres"),
    ),
    check=_check,
)
