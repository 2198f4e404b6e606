"""conntrack: connection tracking state and the original/reply tuples (libxt_conntrack).

    -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -m conntrack --ctorigdst 203.0.113.10 --ctorigdstport 8080 -j DROP

`--ctorigdst`/`--ctorigdstport` see the destination before DNAT: the way to match a
published Docker port in DOCKER-USER.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_STATES = v.name_list(*v.CT_STATES, what="conntrack state")
_STATUS = v.name_list("NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED", what="conntrack status")
_DIRECTION = v.choice("ORIGINAL", "REPLY", what="direction", fold=True)

EXTENSION = Extension(
    name="conntrack",
    kind="match",
    summary="connection tracking state and tuples",
    options=(
        opt("--ctstate", _STATES, invert=True),
        opt("--ctproto", v.protocol, invert=True),
        opt("--ctorigsrc", v.address, invert=True),
        opt("--ctorigdst", v.address, invert=True),
        opt("--ctreplsrc", v.address, invert=True),
        opt("--ctrepldst", v.address, invert=True),
        opt("--ctorigsrcport", v.uint_range(0, 65535, "port"), invert=True),
        opt("--ctorigdstport", v.uint_range(0, 65535, "port"), invert=True),
        opt("--ctreplsrcport", v.uint_range(0, 65535, "port"), invert=True),
        opt("--ctrepldstport", v.uint_range(0, 65535, "port"), invert=True),
        opt("--ctstatus", _STATUS, invert=True),
        opt("--ctexpire", v.uint_range(0, 0xFFFFFFFF, "expiry"), invert=True),
        opt("--ctdir", _DIRECTION),
    ),
)
