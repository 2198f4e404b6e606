"""HL: set, decrement or increment the IPv6 hop limit (libip6t_HL).

    -A POSTROUTING -o wwan0 -j HL --hl-set 65

Exactly one of `--hl-set` 0-255, `--hl-dec` 1-255, `--hl-inc` 1-255.  IPv6 only (TTL is
the IPv4 counterpart).  Not terminal.  Valid only in the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libip6t_HL.c (HL_opts: dec/inc .min = 1, all
# exclusive, HL_check); kernel net/netfilter/xt_HL.c (hl_tg6_reg: .table = "mangle"),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

ACTIONS = ("--hl-set", "--hl-dec", "--hl-inc")

EXTENSION = Extension(
    name="HL",
    kind="target",
    summary="change the IPv6 hop limit",
    family="ipv6",
    tables=("mangle",),
    check=_checks.at_least_one(*ACTIONS),
    options=(
        opt("--hl-set", v.uint(0, 255, "hop limit"), excludes=_checks.others("--hl-set", ACTIONS)),
        opt("--hl-dec", v.uint(1, 255, "hop limit decrement"), excludes=_checks.others("--hl-dec", ACTIONS)),
        opt("--hl-inc", v.uint(1, 255, "hop limit increment"), excludes=_checks.others("--hl-inc", ACTIONS)),
    ),
)
