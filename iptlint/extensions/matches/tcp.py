"""tcp: TCP source and destination ports, flags and options (libxt_tcp).

    -p tcp -m tcp --dport 22 --tcp-flags SYN,RST,ACK SYN -j ACCEPT

Loaded implicitly by `-p tcp` when one of its options follows.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def _syn(texts, family):  # pragma: no cover - flag, never called
    return None


EXTENSION = Extension(
    name="tcp",
    kind="match",
    summary="TCP ports, flags and options",
    protocols=(6,),
    options=(
        opt("--sport", v.port_range, "--source-port", invert=True),
        opt("--dport", v.port_range, "--destination-port", invert=True),
        opt("--tcp-flags", v.tcp_flags, nargs=2, invert=True, excludes=("--syn",)),
        opt("--syn", None, invert=True, excludes=("--tcp-flags",)),
        opt("--tcp-option", v.uint8, invert=True),
    ),
)
