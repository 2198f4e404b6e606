"""esp: the SPI of IPsec ESP packets (libxt_esp).

    -p esp -m esp --espspi 0x100:0x1ff -j ACCEPT

`--espspi SPI` or `--espspi MIN:MAX` (0-4294967295; a missing end is open), may be
negated.  The kernel wants `-p esp`.  iptables 1.8.9 accepts an inverted range (`4:3`,
which matches nothing; 1.8.11 refuses it), so iptlint reads it too.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def id_range(what: str):
    """A 32-bit `N`, `MIN:MAX`, `:MAX`, `MIN:` or `:` as XTTYPE_UINT32RC reads it in iptables 1.8.9.

    MIN may exceed MAX there: the rule loads and never matches (`Range.lo > Range.hi`).
    Shared by the SPI, fragment id and segments-left options of esp, ah, ipcomp, frag and rt.
    """

    def parse(text: str, family) -> v.Range:
        first, colon, last = text.partition(":")
        lo = v.to_int(first, 0, 0xFFFFFFFF, what) if first else 0
        hi = (v.to_int(last, 0, 0xFFFFFFFF, what) if last else 0xFFFFFFFF) if colon else lo
        return v.Range(lo, hi)

    parse.__name__ = f"id_range_{what.replace(' ', '_')}"
    return parse


EXTENSION = Extension(
    name="esp",
    kind="match",
    summary="IPsec ESP security parameter index",
    protocols=(50,),
    options=(opt("--espspi", id_range("SPI"), invert=True),),
)
