"""TPROXY: deliver the packet to a local socket without changing its destination, for
transparent proxies (libxt_TPROXY).

    -A PREROUTING -p tcp -m tcp --dport 80 -j TPROXY --on-port 3129 --tproxy-mark 0x1/0x1

`--on-port PORT` (required; a decimal number or a service name; the kernel gets the low
16 bits of a larger number), `--on-ip ADDR` (the local address to redirect to; default:
the address the packet came in on), `--tproxy-mark VALUE[/MASK]` (mark the packet, for
the policy route that delivers it locally).  The kernel refuses the rule without
`-p tcp` or `-p udp`.  Terminal: the packet is accepted
when a socket takes it and dropped otherwise (nft's tproxy statement is not terminal, the
xtables target is).  Valid only in the mangle table, from PREROUTING.
"""

# Sources: iptables 1.8.9 extensions/libxt_TPROXY.c (tproxy_tg1_opts: XTTYPE_PORT with
# XTOPT_MAND, XTTYPE_HOST, XTTYPE_MARKMASK32); kernel net/netfilter/xt_TPROXY.c
# (.table = "mangle", .hooks = PRE_ROUTING, tproxy_tg4_check: -p tcp or udp; returns
# NF_ACCEPT or NF_DROP), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.extensions.targets.tee import host
from iptlint.syntax import values as v


def on_port(text: str, family) -> int:
    """XTTYPE_PORT, resolved by getaddrinfo: a service name, or decimal digits whose value
    glibc keeps as a C int (negative: refused) and the kernel gets cut to 16 bits (70000
    is 4464)."""
    if text in v.SERVICES:
        return v.SERVICES[text]
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"port {text!r} does not resolve to anything")
    number = int(text) & 0xFFFFFFFF
    if number >= 1 << 31:
        raise ValueError(f"port {text!r} does not resolve to anything")
    return number & 0xFFFF


EXTENSION = Extension(
    name="TPROXY",
    kind="target",
    summary="hand the packet to a local transparent proxy socket",
    tables=("mangle",),
    hooks=("PREROUTING",),
    terminal=True,
    check=_checks.protocol_in(6, 17),
    options=(
        opt("--on-port", on_port, required=True),
        opt("--on-ip", host),
        opt("--tproxy-mark", v.mark),
    ),
)
