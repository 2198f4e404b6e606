"""ipcomp: the CPI of IPComp (IP payload compression) packets (libxt_ipcomp).

    -p ipcomp -m ipcomp --ipcompspi 18 -j ACCEPT

`--ipcompspi CPI` or `MIN:MAX` (0-4294967295), may be negated; `--compres` matches a
set reserved field.  The kernel wants `-p ipcomp` (protocol 108).
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="ipcomp",
    kind="match",
    summary="IPComp compression parameter index",
    protocols=(108,),
    options=(
        opt("--ipcompspi", v.uint_range_as_written(0, 0xFFFFFFFF, "CPI"), invert=True),
        opt("--compres"),
    ),
)
