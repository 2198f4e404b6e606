"""TCPMSS: rewrite the MSS option of TCP SYN packets, to get around paths that drop
"fragmentation needed" messages (libxt_TCPMSS).

    -A FORWARD -p tcp -m tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu

`--set-mss` 0-65515 (IPv6: 0-65495) or `--clamp-mss-to-pmtu` (the path MTU minus the
headers); at least one.  The kernel refuses the rule without `-p tcp`; iptables-legacy
also wants a match on the SYN flag (`--tcp-flags SYN,RST SYN`) and limits
`--clamp-mss-to-pmtu` to FORWARD, OUTPUT and POSTROUTING (see CLAMP_HOOKS; `--set-mss`
works from every hook, so `hooks` stays open).  Not terminal.  Valid in every table.
"""

# Sources: iptables 1.8.9 extensions/libxt_TCPMSS.c (TCPMSS4_opts, TCPMSS6_opts: .max =
# 65535 - header size; TCPMSS_check); kernel net/netfilter/xt_TCPMSS.c (.proto =
# IPPROTO_TCP; tcpmss_tg4_check: path-MTU clamping only from FORWARD, LOCAL_OUT and
# POST_ROUTING, SYN match unless nft_compat), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

CLAMP_HOOKS = ("FORWARD", "OUTPUT", "POSTROUTING")
HEADER_BYTES = {Family.IPV4: 20, Family.IPV6: 40}


def mss(text: str, family: Family) -> int:
    """An MSS that fits in a packet of at most 65535 bytes with its IP header."""
    return v.to_int(text, 0, 0xFFFF - HEADER_BYTES[family], "MSS")


EXTENSION = Extension(
    name="TCPMSS",
    kind="target",
    summary="set or clamp the TCP MSS option",
    check=_checks.every(
        _checks.at_least_one("--set-mss", "--clamp-mss-to-pmtu", message="at least one parameter is required"),
        _checks.protocol_in(6),
    ),
    options=(
        opt("--set-mss", mss),
        opt("--clamp-mss-to-pmtu"),
    ),
)
