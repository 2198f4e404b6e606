"""esp: the SPI of IPsec ESP packets (libxt_esp).

    -p esp -m esp --espspi 0x100:0x1ff -j ACCEPT

`--espspi SPI` or `--espspi MIN:MAX` (0-4294967295; a missing end is open), may be
negated.  The kernel wants `-p esp`.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="esp",
    kind="match",
    summary="IPsec ESP security parameter index",
    protocols=(50,),
    options=(opt("--espspi", v.uint_range(0, 0xFFFFFFFF, "SPI"), invert=True),),
)
