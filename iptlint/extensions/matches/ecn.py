"""ecn: Explicit Congestion Notification bits of the IP header and TCP header (libxt_ecn).

    -p tcp -m ecn --ecn-tcp-ece --ecn-tcp-cwr -j ACCEPT
    -m ecn ! --ecn-ip-ect 3

At least one of `--ecn-tcp-cwr`, `--ecn-tcp-ece` (TCP flags: the kernel wants `-p tcp`)
or `--ecn-ip-ect` (the IP ECN field, 0-3); each may be negated.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_TCP_FLAGS = ("--ecn-tcp-cwr", "--ecn-tcp-ece")


def _check(options, family, protocol) -> list[str]:
    if not options:
        return ["give --ecn-tcp-cwr, --ecn-tcp-ece or --ecn-ip-ect"]
    if protocol != 6 and any(name in options for name in _TCP_FLAGS):
        return ["--ecn-tcp-cwr and --ecn-tcp-ece need -p tcp before the match (the kernel refuses the rule)"]
    return []


EXTENSION = Extension(
    name="ecn",
    kind="match",
    summary="ECN bits of the IP and TCP headers",
    options=(
        opt("--ecn-tcp-cwr", None, invert=True),
        opt("--ecn-tcp-ece", None, invert=True),
        opt("--ecn-ip-ect", v.uint(0, 3, "ECN codepoint"), invert=True),
    ),
    check=_check,
)
