"""What DNPT and SNPT share: the prefixes of IPv6-to-IPv6 network prefix translation (RFC 6296).

`--src-pfx` and `--dst-pfx` (both required) are `ADDR/LEN` (or a host name); the kernel
refuses prefixes longer than /64 and addresses with bits set past the prefix
(`dead::beef` is a /128, so it is refused).
"""

# Sources: iptables 1.8.9 extensions/libip6t_DNPT.c, libip6t_SNPT.c (XTTYPE_HOSTMASK,
# XTOPT_MAND); kernel net/ipv6/netfilter/ip6t_NPT.c (ip6t_npt_checkentry: lengths <= 64,
# no bits past the prefix; .table = "mangle"), checked by loading in a namespace.

import ipaddress

from iptlint.extensions.spec import opt
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

MAX_PREFIX = 64


def npt_prefix(text: str, family: Family) -> ipaddress.IPv6Network | v.Address:
    """A translation prefix, checked as the kernel does; a host name is read as one."""
    host = text.partition("/")[0]
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return v.address(text, family)
    network = v.address(text, family).network
    if network.prefixlen > MAX_PREFIX:
        raise ValueError(f"prefix {text} is longer than /{MAX_PREFIX}: the kernel refuses it")
    if ipaddress.IPv6Address(host) != network.network_address:
        raise ValueError(f"{host} has bits set past /{network.prefixlen}: the kernel refuses it")
    return network


OPTIONS = (
    opt("--src-pfx", npt_prefix, required=True),
    opt("--dst-pfx", npt_prefix, required=True),
)
