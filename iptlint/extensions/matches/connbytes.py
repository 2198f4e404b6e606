"""connbytes: how much a connection has transferred so far (libxt_connbytes).

    -m connbytes --connbytes 10000000: --connbytes-mode bytes --connbytes-dir both -j CLASSIFY --set-class 1:20

All three are required: `--connbytes FROM[:TO]` (0 to 2^64-1; may be negated),
`--connbytes-mode packets|bytes|avgpkt` and `--connbytes-dir original|reply|both`.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="connbytes",
    kind="match",
    summary="bytes or packets a connection has transferred",
    options=(
        opt("--connbytes", v.uint_range(0, 2**64 - 1, "count"), invert=True, required=True),
        opt("--connbytes-dir", v.choice("original", "reply", "both", what="direction"), required=True),
        opt("--connbytes-mode", v.choice("packets", "bytes", "avgpkt", what="mode"), required=True),
    ),
)
