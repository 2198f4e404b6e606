"""length: the length of the packet's layer-3 payload plus header (libxt_length).

    -m length --length 0:128 -j ACCEPT
    -m length ! --length 1400:

A length or an inclusive range `MIN:MAX` in 0-65535 (either end may be left out).
iptables 1.8.9 loads an inverted range (`4:3`, which never matches; 1.8.11 refuses it),
so iptlint reads it too.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="length",
    kind="match",
    summary="packet length",
    options=(opt("--length", v.uint_range_as_written(0, 65535, "length"), invert=True, required=True),),
)
