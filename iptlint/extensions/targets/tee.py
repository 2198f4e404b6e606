"""TEE: send a copy of the packet to another host on the local network (libxt_TEE).

    -A PREROUTING -i eth0 -j TEE --gateway 192.0.2.9
    -A PREROUTING -j TEE --gateway 2001:db8::1 --oif eth1

`--gateway ADDR` (required, cannot be negated): the next hop that receives the copy, an
address of the rule's family (or a host name that resolves to one address when the
rules load); `--oif NAME` the interface to send it from.  Not terminal: the original
packet goes on.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_TEE.c (tee_tg_opts: XTTYPE_HOST, XTOPT_MAND;
# oif[16]); kernel net/netfilter/xt_TEE.c (no .table, no .hooks), checked by loading.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def host(text: str, family) -> v.Address:
    """One host, as XTTYPE_HOST reads it: an address of the family or a host name; no mask."""
    if "/" in text:
        raise ValueError(f"{text!r} has a mask: give a single host")
    return v.address(text, family)


EXTENSION = Extension(
    name="TEE",
    kind="target",
    summary="clone the packet to another gateway",
    options=(
        opt("--gateway", host, required=True),
        opt("--oif", v.interface),
    ),
)
