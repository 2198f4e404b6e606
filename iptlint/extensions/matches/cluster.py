"""cluster: share load between the nodes of a cluster by a hash of the source (libxt_cluster).

    -m cluster --cluster-total-nodes 2 --cluster-local-node 1 --cluster-hash-seed 0xdeadbeef -j MARK --set-mark 0xffff

`--cluster-total-nodes N` (1-32) and `--cluster-hash-seed SEED` are required, with one of
`--cluster-local-node N` (1 to the total) or `--cluster-local-nodemask MASK`; either
may be negated.  iptables-save prints the node as a mask.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

NODES_MAX = 32  # XT_CLUSTER_NODES_MAX
_NODES = v.uint(1, NODES_MAX, "node count")


def _check(options, family, protocol) -> list[str]:
    node, mask = options.get("--cluster-local-node"), options.get("--cluster-local-nodemask")
    if node is None and mask is None:
        return ["give --cluster-local-node or --cluster-local-nodemask"]
    total = options.get("--cluster-total-nodes")
    if total is None:
        return []
    node_mask = 1 << (node.value - 1) if node is not None else mask.value
    if node_mask >= 1 << total.value:
        return [f"the local node is not one of the {total.value} nodes of --cluster-total-nodes"]
    return []


EXTENSION = Extension(
    name="cluster",
    kind="match",
    summary="cluster node by source hash",
    options=(
        opt("--cluster-total-nodes", _NODES, required=True),
        opt("--cluster-local-node", _NODES, invert=True, excludes=("--cluster-local-nodemask",)),
        opt("--cluster-local-nodemask", _NODES, invert=True, excludes=("--cluster-local-node",)),
        opt("--cluster-hash-seed", v.uint(0, 0xFFFFFFFF, "hash seed"), required=True),
    ),
    check=_check,
)
