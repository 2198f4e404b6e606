"""MASQUERADE: source NAT to the address of the outgoing interface (libxt_MASQUERADE).

    -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE

Valid in the nat table, POSTROUTING only.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def _ports(text, family):
    first, dash, last = text.partition("-")
    lo = v.to_int(first, 0, 65535, "port")
    hi = v.to_int(last, 0, 65535, "port") if dash else lo
    if lo > hi:
        raise ValueError(f"port range {text} is inverted")
    return v.Range(lo, hi)


EXTENSION = Extension(
    name="MASQUERADE",
    kind="target",
    summary="source NAT to the outgoing interface's address",
    tables=("nat",),
    hooks=("POSTROUTING",),
    terminal=True,
    options=(
        opt("--to-ports", _ports),
        opt("--random"),
        opt("--random-fully"),
    ),
)
