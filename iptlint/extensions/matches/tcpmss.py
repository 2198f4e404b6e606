"""tcpmss: the MSS option of TCP SYN packets (libxt_tcpmss).

    -p tcp -m tcp --tcp-flags SYN,RST SYN -m tcpmss --mss 1400:65535 -j TCPMSS --clamp-mss-to-pmtu

`--mss VALUE` or `--mss MIN:MAX` (0-65535, MIN <= MAX), may be negated.  The kernel
wants `-p tcp`.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="tcpmss",
    kind="match",
    summary="TCP MSS option",
    protocols=(6,),
    options=(opt("--mss", v.uint_range(0, 65535, "MSS"), invert=True, required=True),),
)
