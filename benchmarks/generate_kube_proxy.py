"""Generate a kube-proxy-sized `iptables-save` dump, deterministically.

The dump has the shape kube-proxy's iptables mode leaves on a large node (see
/work/shared/corpus/real/kubernetes/ and pkg/proxy/iptables/proxier.go):

- nat: KUBE-SERVICES (one rule per service port, cluster IP + port), a KUBE-SVC-<hash>
  chain per service port (masquerade off-cluster sources, then one
  `-m statistic --mode random --probability P` jump per endpoint), a KUBE-SEP-<hash>
  chain per endpoint (hairpin KUBE-MARK-MASQ, then DNAT `--to-destination`),
  KUBE-NODEPORTS and KUBE-EXT-<hash> for NodePort services, KUBE-MARK-MASQ
  (`-j MARK --or-mark 0x4000`) and KUBE-POSTROUTING (MASQUERADE of marked packets);
- filter: KUBE-FORWARD, KUBE-FIREWALL, conntrack rules, and REJECT rules for
  services without endpoints in KUBE-SERVICES / KUBE-EXTERNAL-SERVICES.

Chain names are kube-proxy's own: "KUBE-SVC-" + the first 16 characters of the base32
SHA-256 of "namespace/name:port" + protocol.  Probabilities are printed as
iptables-save prints libxt_statistic's fixed-point value (`%.11f`).  Rule options
are in iptables-save's canonical order (-s -d -i -o -p, then matches, then target).

The same seed always gives the same bytes.  `--variant` gives a second dump that
differs from the first in 1% of the services (one endpoint replaced: new pod IP, so
new KUBE-SEP chain and rules), for diff benchmarks.

    python benchmarks/generate_kube_proxy.py -o big.rules                 # ~10,500 services x 3
    python benchmarks/generate_kube_proxy.py --services 200 --endpoints 2 -o small.rules
    python benchmarks/generate_kube_proxy.py --variant -o big-changed.rules
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import ipaddress
import random
import sys
from dataclasses import dataclass, field

DEFAULT_SERVICES = 10_500
DEFAULT_ENDPOINTS = 3
DEFAULT_SEED = 20261125

CLUSTER_CIDR = ipaddress.ip_network("10.244.0.0/14")  # pod IPs
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")  # cluster IPs
NODE_PORTS = range(30000, 32768)

_WORDS = (
    "api", "auth", "billing", "cache", "cart", "catalog", "checkout", "config", "db", "dns",
    "events", "frontend", "gateway", "graph", "ingest", "inventory", "kafka", "ledger", "logs",
    "mail", "media", "metrics", "notify", "orders", "payments", "profile", "queue", "redis",
    "report", "search", "session", "shipping", "storage", "stream", "tracing", "users", "web",
)  # fmt: skip
_PORTS = (("http", 80, 8080), ("https", 443, 8443), ("grpc", 9090, 9090), ("metrics", 9100, 9100),
          ("dns", 53, 53), ("redis", 6379, 6379), ("pg", 5432, 5432), ("web", 8080, 3000))  # fmt: skip


def _hash16(text: str) -> str:
    """kube-proxy's portProtoHash: base32(sha256(text))[:16]."""
    return base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()[:16]


def _probability(n_left: int) -> str:
    """What iptables-save prints for kube-proxy's `--probability %0.10f` of 1/n_left."""
    asked = float(f"{1.0 / n_left:0.10f}")
    fixed = round(0x80000000 * asked)  # libxt_statistic: lround(0x80000000 * prob)
    return f"{fixed / 0x80000000:.11f}"


@dataclass
class Service:
    namespace: str
    name: str
    port_name: str
    protocol: str
    port: int
    target_port: int
    cluster_ip: str
    node_port: int | None
    endpoints: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port_name}"

    @property
    def svc_chain(self) -> str:
        return "KUBE-SVC-" + _hash16(self.key + self.protocol)

    @property
    def ext_chain(self) -> str:
        return "KUBE-EXT-" + _hash16(self.key + self.protocol)

    def sep_chain(self, endpoint: str) -> str:
        return "KUBE-SEP-" + _hash16(self.key + self.protocol + f"{endpoint}:{self.target_port}")


def build_services(count: int, endpoints: int, seed: int) -> tuple[list[Service], list[int]]:
    """The cluster's services and the pod addresses still free (for variants)."""
    rng = random.Random(seed)
    pod_pool = rng.sample(range(1, CLUSTER_CIDR.num_addresses - 1), count * endpoints + count)
    service_ips = rng.sample(range(1, SERVICE_CIDR.num_addresses - 1), count)
    node_ports = rng.sample(NODE_PORTS, min(count // 10, len(NODE_PORTS)))
    services = []
    taken: set[tuple[str, str, str]] = set()
    pods = iter(pod_pool)
    for i in range(count):
        while True:
            namespace = f"{rng.choice(_WORDS)}-{rng.randrange(1000):03d}"
            name = f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}"
            port_name, port, target = rng.choice(_PORTS)
            if (namespace, name, port_name) not in taken:
                taken.add((namespace, name, port_name))
                break
        protocol = "udp" if port_name == "dns" else "tcp"
        node_port = node_ports[i // 10] if i % 10 == 7 and i // 10 < len(node_ports) else None
        service = Service(
            namespace, name, port_name, protocol, port, target,
            str(SERVICE_CIDR[service_ips[i]]), node_port,
        )  # fmt: skip
        if i % 50 != 7:  # 2% of the services have no endpoint: filter REJECTs them
            service.endpoints = [str(CLUSTER_CIDR[next(pods)]) for _ in range(endpoints)]
        services.append(service)
    return services, list(pods)


def make_variant(services: list[Service], free: list[int], seed: int, fraction: float = 0.01) -> list[Service]:
    """The same cluster after a rollout in `fraction` of the services: one pod replaced in each."""
    rng = random.Random(seed ^ 0x5EED)
    candidates = [i for i, s in enumerate(services) if s.endpoints]
    changed = rng.sample(candidates, max(1, round(len(services) * fraction)))
    fresh = iter(free)
    result = list(services)
    for i in changed:
        old = services[i]
        endpoints = list(old.endpoints)
        endpoints[rng.randrange(len(endpoints))] = str(CLUSTER_CIDR[next(fresh)])
        result[i] = Service(**{**old.__dict__, "endpoints": endpoints})
    return result


def render(services: list[Service]) -> str:
    when = "Wed Nov 25 12:00:00 2026"
    out: list[str] = []
    add = out.append
    comment = '-m comment --comment "{}"'.format

    # -- filter -----------------------------------------------------------------------
    add(f"# Generated by iptables-save v1.8.9 (nf_tables) on {when}")
    add("*filter")
    add(":INPUT ACCEPT [0:0]")
    add(":FORWARD ACCEPT [0:0]")
    add(":OUTPUT ACCEPT [0:0]")
    for chain in ("KUBE-EXTERNAL-SERVICES", "KUBE-FIREWALL", "KUBE-FORWARD", "KUBE-NODEPORTS",
                  "KUBE-PROXY-CANARY", "KUBE-PROXY-FIREWALL", "KUBE-SERVICES"):  # fmt: skip
        add(f":{chain} - [0:0]")
    add(f"-A INPUT -m conntrack --ctstate NEW {comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL")
    add(f"-A INPUT {comment('kubernetes health check service ports')} -j KUBE-NODEPORTS")
    add(
        f"-A INPUT -m conntrack --ctstate NEW {comment('kubernetes externally-visible service portals')} -j KUBE-EXTERNAL-SERVICES"
    )
    add("-A INPUT -j KUBE-FIREWALL")
    add(f"-A FORWARD -m conntrack --ctstate NEW {comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL")
    add(f"-A FORWARD {comment('kubernetes forwarding rules')} -j KUBE-FORWARD")
    add(f"-A FORWARD -m conntrack --ctstate NEW {comment('kubernetes service portals')} -j KUBE-SERVICES")
    add(
        f"-A FORWARD -m conntrack --ctstate NEW {comment('kubernetes externally-visible service portals')} -j KUBE-EXTERNAL-SERVICES"
    )
    add(f"-A OUTPUT -m conntrack --ctstate NEW {comment('kubernetes load balancer firewall')} -j KUBE-PROXY-FIREWALL")
    add(f"-A OUTPUT -m conntrack --ctstate NEW {comment('kubernetes service portals')} -j KUBE-SERVICES")
    add("-A OUTPUT -j KUBE-FIREWALL")
    for s in services:
        if not s.endpoints and s.node_port is not None:
            add(
                f"-A KUBE-EXTERNAL-SERVICES -p {s.protocol} {comment(s.key + ' has no endpoints')} "
                f"-m addrtype --dst-type LOCAL -m {s.protocol} --dport {s.node_port} "
                "-j REJECT --reject-with icmp-port-unreachable"
            )
    add(
        f"-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 {comment('block incoming localnet connections')} "
        "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP"
    )
    add("-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP")
    add(f"-A KUBE-FORWARD {comment('kubernetes forwarding rules')} -m mark --mark 0x4000/0x4000 -j ACCEPT")
    add(
        f"-A KUBE-FORWARD {comment('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
    )
    for s in services:
        if not s.endpoints:
            add(
                f"-A KUBE-SERVICES -d {s.cluster_ip}/32 -p {s.protocol} {comment(s.key + ' has no endpoints')} "
                f"-m {s.protocol} --dport {s.port} -j REJECT --reject-with icmp-port-unreachable"
            )
    add("COMMIT")
    add(f"# Completed on {when}")

    # -- nat --------------------------------------------------------------------------
    add(f"# Generated by iptables-save v1.8.9 (nf_tables) on {when}")
    add("*nat")
    for chain in ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"):
        add(f":{chain} ACCEPT [0:0]")
    for chain in ("KUBE-MARK-MASQ", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-PROXY-CANARY", "KUBE-SERVICES"):
        add(f":{chain} - [0:0]")
    live = [s for s in services if s.endpoints]
    user_chains = []
    for s in live:
        user_chains.append(s.svc_chain)
        if s.node_port is not None:
            user_chains.append(s.ext_chain)
        user_chains.extend(s.sep_chain(e) for e in s.endpoints)
    for chain in sorted(user_chains):  # iptables-save lists chains by name
        add(f":{chain} - [0:0]")
    add(f"-A PREROUTING {comment('kubernetes service portals')} -j KUBE-SERVICES")
    add(f"-A OUTPUT {comment('kubernetes service portals')} -j KUBE-SERVICES")
    add(f"-A POSTROUTING {comment('kubernetes postrouting rules')} -j KUBE-POSTROUTING")
    add("-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000")
    for s in live:
        if s.node_port is not None:
            add(
                f"-A KUBE-NODEPORTS -p {s.protocol} {comment(s.key)} -m {s.protocol} --dport {s.node_port} -j {s.ext_chain}"
            )
    add("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN")
    add("-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000")
    add(
        f"-A KUBE-POSTROUTING {comment('kubernetes service traffic requiring SNAT')} "
        "-m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully"
    )
    for s in live:
        add(
            f"-A KUBE-SERVICES -d {s.cluster_ip}/32 -p {s.protocol} {comment(s.key + ' cluster IP')} "
            f"-m {s.protocol} --dport {s.port} -j {s.svc_chain}"
        )
    add(
        "-A KUBE-SERVICES "
        + comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
        + " -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"
    )
    # iptables-save prints the chains' rules in chain order too: by name here.
    blocks: dict[str, list[str]] = {}
    for s in live:
        if s.node_port is not None:
            blocks[s.ext_chain] = [
                f"-A {s.ext_chain} {comment('masquerade traffic for ' + s.key + ' external destinations')} -j KUBE-MARK-MASQ",
                f"-A {s.ext_chain} -j {s.svc_chain}",
            ]
        svc = [
            f"-A {s.svc_chain} ! -s {CLUSTER_CIDR} -d {s.cluster_ip}/32 -p {s.protocol} "
            f"{comment(s.key + ' cluster IP')} -m {s.protocol} --dport {s.port} -j KUBE-MARK-MASQ"
        ]
        n = len(s.endpoints)
        for i, endpoint in enumerate(s.endpoints):
            sep = s.sep_chain(endpoint)
            statistic = f" -m statistic --mode random --probability {_probability(n - i)}" if i < n - 1 else ""
            svc.append(f"-A {s.svc_chain} {comment(f'{s.key} -> {endpoint}:{s.target_port}')}{statistic} -j {sep}")
            blocks[sep] = [
                f"-A {sep} -s {endpoint}/32 {comment(s.key)} -j KUBE-MARK-MASQ",
                f"-A {sep} -p {s.protocol} {comment(s.key)} -m {s.protocol} -j DNAT --to-destination {endpoint}:{s.target_port}",
            ]
        blocks[s.svc_chain] = svc
    for chain in sorted(blocks):
        out.extend(blocks[chain])
    add("COMMIT")
    add(f"# Completed on {when}")
    return "\n".join(out) + "\n"


def generate(services: int = DEFAULT_SERVICES, endpoints: int = DEFAULT_ENDPOINTS, seed: int = DEFAULT_SEED,
             variant: bool = False, fraction: float = 0.01) -> str:  # fmt: skip
    """The dump as text; the same arguments always give the same text."""
    model, free = build_services(services, endpoints, seed)
    if variant:
        model = make_variant(model, free, seed, fraction)
    return render(model)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=DEFAULT_SERVICES, help="service ports (default %(default)s)")
    parser.add_argument(
        "--endpoints", type=int, default=DEFAULT_ENDPOINTS, help="endpoints per service (default %(default)s)"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    parser.add_argument("--variant", action="store_true", help="the same dump with 1%% of the services changed")
    parser.add_argument("--variant-fraction", type=float, default=0.01, help="share of services changed by --variant")
    parser.add_argument("-o", "--output", help="write here instead of standard output")
    args = parser.parse_args(argv)
    if args.services < 1 or args.endpoints < 1:
        parser.error("--services and --endpoints must be at least 1")
    text = generate(args.services, args.endpoints, args.seed, args.variant, args.variant_fraction)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
        lines = text.count("\n")
        rules = sum(1 for line in text.splitlines() if line.startswith("-A "))
        print(f"{args.output}: {lines} lines, {rules} rules", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
