"""ECN: clear or set the ECN bits of IPv4 and TCP headers, to work around broken paths (libipt_ECN).

    -A POSTROUTING -p tcp -d 192.0.2.0/24 -j ECN --ecn-tcp-remove

`--ecn-tcp-remove` (clear ECE and CWR; excludes the next two), `--ecn-tcp-cwr 0|1`,
`--ecn-tcp-ece 0|1`, `--ecn-ip-ect 0-3`; at least one.  The TCP operations need
`-p tcp`: the kernel refuses them otherwise.  IPv4 only.  Not terminal.  Valid only in
the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libipt_ECN.c (ECN_opts, ECN_check); kernel
# net/ipv4/netfilter/ipt_ECN.c (.table = "mangle", ecn_tg_check: TCP operations only
# with -p tcp), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

TCP_OPERATIONS = ("--ecn-tcp-remove", "--ecn-tcp-cwr", "--ecn-tcp-ece")


def _tcp_operations_need_tcp(options, family, protocol) -> list[str]:
    used = [name for name in TCP_OPERATIONS if name in options]
    if used and protocol != 6:
        return [f"{used[0]} needs -p tcp before it: the kernel refuses the rule"]
    return []


EXTENSION = Extension(
    name="ECN",
    kind="target",
    summary="rewrite ECN bits",
    family="ipv4",
    tables=("mangle",),
    check=_checks.every(
        _checks.at_least_one(*TCP_OPERATIONS, "--ecn-ip-ect", message="an operation is required"),
        _tcp_operations_need_tcp,
    ),
    options=(
        opt("--ecn-tcp-remove", excludes=("--ecn-tcp-cwr", "--ecn-tcp-ece")),
        opt("--ecn-tcp-cwr", v.uint(0, 1, "CWR bit"), excludes=("--ecn-tcp-remove",)),
        opt("--ecn-tcp-ece", v.uint(0, 1, "ECE bit"), excludes=("--ecn-tcp-remove",)),
        opt("--ecn-ip-ect", v.uint(0, 3, "ECT codepoint")),
    ),
)
