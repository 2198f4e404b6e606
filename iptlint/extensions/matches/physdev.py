"""physdev: the bridge ports a bridged packet came in on or goes out of (libxt_physdev).

    -m physdev --physdev-in veth1234 --physdev-is-bridged -j ACCEPT
    -m physdev ! --physdev-is-in

Sees bridge ports only when br_netfilter makes bridged traffic pass through iptables.
Names take a trailing `+` as a wildcard, like `-i`.  At least one option is required.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def _check(options, family, protocol):
    return [] if options else ["give at least one --physdev option"]


EXTENSION = Extension(
    name="physdev",
    kind="match",
    summary="bridge ports",
    options=(
        opt("--physdev-in", v.interface, invert=True),
        opt("--physdev-out", v.interface, invert=True),
        opt("--physdev-is-in", invert=True),
        opt("--physdev-is-out", invert=True),
        opt("--physdev-is-bridged", invert=True),
    ),
    check=_check,
)
