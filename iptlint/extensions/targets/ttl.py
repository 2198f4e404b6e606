"""TTL: set, decrement or increment the IPv4 time to live (libipt_TTL).

    -A POSTROUTING -o wwan0 -j TTL --ttl-set 65

Exactly one of `--ttl-set` 0-255, `--ttl-dec` 1-255, `--ttl-inc` 1-255.  IPv4 only (HL
is the IPv6 counterpart).  Not terminal.  Valid only in the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libipt_TTL.c (TTL_opts: dec/inc .min = 1, all
# exclusive, TTL_check); kernel net/netfilter/xt_HL.c (ttl_tg_reg: .table = "mangle"),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

ACTIONS = ("--ttl-set", "--ttl-dec", "--ttl-inc")

EXTENSION = Extension(
    name="TTL",
    kind="target",
    summary="change the IPv4 TTL",
    family="ipv4",
    tables=("mangle",),
    check=_checks.at_least_one(*ACTIONS),
    options=(
        opt("--ttl-set", v.uint(0, 255, "TTL"), excludes=_checks.others("--ttl-set", ACTIONS)),
        opt("--ttl-dec", v.uint(1, 255, "TTL decrement"), excludes=_checks.others("--ttl-dec", ACTIONS)),
        opt("--ttl-inc", v.uint(1, 255, "TTL increment"), excludes=_checks.others("--ttl-inc", ACTIONS)),
    ),
)
