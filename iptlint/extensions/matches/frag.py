"""frag: the IPv6 Fragment extension header (libip6t_frag).

    -m frag --fragmore -j DROP
    -m frag ! --fragid 1:42 --fragfirst

`--fragid ID` or `MIN:MAX` and `--fraglen` (may be negated); flags `--fragres`
(reserved fields set), `--fragfirst` (offset 0), and `--fragmore` (more fragments
follow) or `--fraglast` (the last one).
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="frag",
    kind="match",
    summary="IPv6 fragment header",
    family="ipv6",
    options=(
        opt("--fragid", v.uint_range_as_written(0, 0xFFFFFFFF, "fragment id"), invert=True),
        opt("--fraglen", v.uint(0, 0xFFFFFFFF, "header length"), invert=True),
        opt("--fragres"),
        opt("--fragfirst"),
        opt("--fragmore", excludes=("--fraglast",)),
        opt("--fraglast", excludes=("--fragmore",)),
    ),
)
