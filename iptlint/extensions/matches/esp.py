"""esp: the SPI of IPsec ESP packets (libxt_esp).

    -p esp -m esp --espspi 0x100:0x1ff -j ACCEPT

`--espspi SPI` or `--espspi MIN:MAX` (0-4294967295; a missing end is open), may be
negated.  The kernel wants `-p esp`.  iptables 1.8.9 accepts an inverted range (`4:3`,
which matches nothing; 1.8.11 refuses it), so iptlint reads it too.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_ID = 0xFFFFFFFF


def id_range(what: str) -> v.Parser:
    """A 32-bit `N`, `MIN:MAX`, `:MAX`, `MIN:` or `:` as XTTYPE_UINT32RC reads it in iptables 1.8.9.

    MIN may exceed MAX there: the rule loads and never matches (`Range.lo > Range.hi`).
    Shared by the SPI, fragment id and segments-left options of esp, ah, ipcomp, frag and rt.
    """

    def number(text: str, default: int) -> int:
        return v.to_int(text, 0, MAX_ID, what) if text else default

    def parse(text: str, family) -> v.Range:
        first, colon, last = text.partition(":")
        if not colon:
            return v.Range(number(first, 0), number(first, 0))
        return v.Range(number(first, 0), number(last, MAX_ID))

    parse.__name__ = f"id_range_{what.replace(' ', '_')}"
    return parse


EXTENSION = Extension(
    name="esp",
    kind="match",
    summary="IPsec ESP security parameter index",
    protocols=(50,),
    options=(opt("--espspi", id_range("SPI"), invert=True),),
)
