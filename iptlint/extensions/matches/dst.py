"""dst: the IPv6 Destination Options extension header (libip6t_dst).

    -m dst --dst-len 0 --dst-opts 201:16 -j DROP

`--dst-len` (may be negated) and `--dst-opts TYPE[:LENGTH],...` (up to 16 options, each
type 0-255), read as in `hbh`.
"""

from iptlint.extensions.matches.hbh import option_list
from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="dst",
    kind="match",
    summary="IPv6 destination options header",
    family="ipv6",
    options=(
        opt("--dst-len", v.uint(0, 0xFFFFFFFF, "header length"), invert=True),
        opt("--dst-opts", option_list),
    ),
)
