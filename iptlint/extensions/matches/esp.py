"""esp: the SPI of IPsec ESP packets (libxt_esp).

    -p esp -m esp --espspi 0x100:0x1ff -j ACCEPT

`--espspi SPI` or `--espspi MIN:MAX` (0-4294967295; a missing end is open), may be
negated.  The kernel wants `-p esp`.  iptables 1.8.9 accepts an inverted range (`4:3`,
which matches nothing; 1.8.11 refuses it), so iptlint reads it too.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="esp",
    kind="match",
    summary="IPsec ESP security parameter index",
    protocols=(50,),
    options=(opt("--espspi", v.uint_range_as_written(0, 0xFFFFFFFF, "SPI"), invert=True),),
)
