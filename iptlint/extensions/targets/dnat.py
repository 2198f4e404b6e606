"""DNAT: rewrite the destination address and port of a new connection (libxt_DNAT).

    -A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80

Valid in the nat table, in PREROUTING and OUTPUT and the chains they reach.
A port needs `-p tcp`, `udp`, `sctp`, `dccp` or `udplite`.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_PORT_PROTOCOLS = (6, 17, 33, 132, 136)


def _check(options, family, protocol):
    errors = []
    to = options.get("--to-destination")
    if to is not None and to.value.ports is not None and protocol not in _PORT_PROTOCOLS:
        errors.append("a port in --to-destination needs -p tcp, udp, sctp, dccp or udplite")
    return errors


EXTENSION = Extension(
    name="DNAT",
    kind="target",
    summary="rewrite the destination of a new connection",
    tables=("nat",),
    hooks=("PREROUTING", "OUTPUT"),
    terminal=True,
    check=_check,
    options=(
        opt("--to-destination", v.endpoint, multi=True),
        opt("--random"),
        opt("--persistent"),
    ),
)
