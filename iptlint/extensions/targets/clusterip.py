"""CLUSTERIP: share one IPv4 address among the nodes of a cluster without a load balancer:
each node answers for its share of the hashed flows (libipt_CLUSTERIP).

    -A INPUT -d 192.0.2.100/32 -i eth0 -j CLUSTERIP --new --hashmode sourceip
        --clustermac 01:00:5E:00:00:20 --total-nodes 2 --local-node 1

The first rule for an address gives all of `--new`, `--hashmode` (sourceip,
sourceip-sourceport, sourceip-sourceport-destport), `--clustermac` (a multicast MAC),
`--total-nodes` and `--local-node` (at most 16), optionally `--hash-init`; later rules
for the same address may give none.  The kernel module was removed in Linux 6.3 (nft
offers the same with `jhash`): the rule does not load on current kernels.  IPv4 only.
Not terminal.
"""

# Sources: iptables 1.8.9 extensions/libipt_CLUSTERIP.c (CLUSTERIP_opts, CLUSTERIP_parse,
# CLUSTERIP_check: none or all of F_FULL; CLUSTERIP_MAX_NODES = 16); kernel
# net/ipv4/netfilter/ipt_CLUSTERIP.c (no .table, no .hooks), removed in Linux 6.3.

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_NODES = 16
FULL = ("--new", "--hashmode", "--clustermac", "--total-nodes", "--local-node")
_MAC = re.compile(r"[0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2}){5}\Z")


def cluster_mac(text: str, family) -> str:
    """A multicast Ethernet address, `01:00:5E:00:00:20`."""
    if _MAC.match(text) is None:
        raise ValueError(f"{text!r} is not a MAC address")
    if not int(text.split(":")[0], 16) & 1:
        raise ValueError(f"{text} is not a multicast MAC address (the first byte must be odd)")
    return ":".join(f"{int(part, 16):02X}" for part in text.split(":"))


def _all_or_none(options, family, protocol) -> list[str]:
    given = [name for name in FULL if name in options]
    if (given and len(given) < len(FULL)) or ("--hash-init" in options and not given):
        missing = [name for name in FULL if name not in options]
        return [f"a new cluster needs all of {', '.join(FULL)}: {', '.join(missing)} missing"]
    return []


_NODES = v.uint(0, MAX_NODES, "node count")

EXTENSION = Extension(
    name="CLUSTERIP",
    kind="target",
    summary="share an IPv4 address among cluster nodes (obsolete)",
    family="ipv4",
    check=_all_or_none,
    options=(
        opt("--new"),
        opt(
            "--hashmode", v.choice("sourceip", "sourceip-sourceport", "sourceip-sourceport-destport", what="hash mode")
        ),
        opt("--clustermac", cluster_mac),
        opt("--total-nodes", _NODES),
        opt("--local-node", _NODES),
        opt("--hash-init", v.uint32),
    ),
)
