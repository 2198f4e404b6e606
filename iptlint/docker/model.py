"""What a dump says about Docker: its engine generation, bridges, published ports.

Read once per ruleset (`read(ruleset)`), never by walking packets: the rules Docker
writes have fixed shapes (see ../shared/docker/LAYOUTS.md), so the model is recognised
from them.  A dump without Docker chains has no model (`read` returns None), and then no
Docker check says anything.

Generations (LAYOUTS.md §1, §9), by id:

    v17     17.06 - 18.04   DOCKER-USER + a single DOCKER-ISOLATION chain
    v18-27  18.05 - 27.x    DOCKER-ISOLATION-STAGE-1/2 ending in RETURN, per-bridge rules in FORWARD
    v28.0   28.0.0          FORWARD rules matching the ipset docker-ext-bridges-v4/-v6
    v28     28.0.1 - 28.x   DOCKER-FORWARD, DOCKER-BRIDGE, DOCKER-CT; isolation stages kept
    v29     29.x            DOCKER-INTERNAL; no isolation stages
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from iptlint.syntax.ast import Chain, Family, Rule, Ruleset, Table
from iptlint.syntax.values import Address, Endpoint, Interface, Range

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

GENERATIONS = ("v17", "v18-27", "v28.0", "v28", "v29")
DOCKER_FILTER_CHAINS = (
    "DOCKER",
    "DOCKER-USER",
    "DOCKER-ISOLATION",
    "DOCKER-ISOLATION-STAGE-1",
    "DOCKER-ISOLATION-STAGE-2",
    "DOCKER-FORWARD",
    "DOCKER-BRIDGE",
    "DOCKER-CT",
    "DOCKER-INTERNAL",
    "DOCKER-INGRESS",
)


@dataclass(frozen=True, slots=True)
class Bridge:
    """A Docker network's Linux bridge (`docker0`, `br-1a2b3c...`)."""

    name: str
    subnets: tuple[Network, ...] = ()
    internal: bool = False
    icc: bool = True  # containers on the bridge may talk to each other
    masquerade: bool = False  # outgoing traffic is NATed (gateway mode nat)


@dataclass(frozen=True, slots=True)
class PublishedPort:
    """`docker run -p [HOST_ADDR:]HOST_PORT:CONTAINER_PORT[/PROTO]`, read from its rules."""

    protocol: str  # tcp, udp, sctp
    host_address: Network | None  # None: every host address
    host_ports: Range
    container_address: IPAddress
    container_ports: Range
    bridge: str | None
    dnat: Rule  # nat DOCKER ... -j DNAT
    accept: Rule | None = None  # filter DOCKER ... -j ACCEPT (None: missing)
    hairpin: Rule | None = None  # nat POSTROUTING -s C -d C ... -j MASQUERADE
    ingress: bool = False  # swarm routing mesh (DOCKER-INGRESS)

    @property
    def loopback_only(self) -> bool:
        return self.host_address is not None and self.host_address.network_address.is_loopback

    def describe(self) -> str:
        host = "*" if self.host_address is None else _address_text(self.host_address)
        container = str(self.container_address)
        if self.container_address.version == 6:
            container = f"[{container}]"
        return f"{host}:{self.host_ports}/{self.protocol} -> {container}:{self.container_ports}"


@dataclass(frozen=True, slots=True)
class DockerModel:
    family: Family
    generation: str | None  # one of GENERATIONS, None when the layout matches none
    bridges: tuple[Bridge, ...]
    ports: tuple[PublishedPort, ...]
    userland_proxy: bool | None  # False: hairpin NAT (`--userland-proxy=false`) rules seen
    chains: frozenset[str]  # Docker's filter chains present in the dump

    def bridge(self, name: str) -> Bridge | None:
        for bridge in self.bridges:
            if bridge.name == name:
                return bridge
        return None

    def bridge_of(self, address: IPAddress) -> Bridge | None:
        for bridge in self.bridges:
            if any(address in subnet for subnet in bridge.subnets):
                return bridge
        return None


@dataclass(frozen=True, slots=True)
class MasqueradedBridge:
    """A bridge network as its nat POSTROUTING rule names it: `-s SUBNET ! -o BRIDGE -j MASQUERADE` (or SNAT).

    Docker writes one such rule per network with outgoing NAT; the bridge holds the
    subnet's first address (its gateway, Docker's default unless `--bip`/`--gateway`
    chose another).  The one reader of these rules: the Docker model takes its bridge
    names and subnets from it, and the packet walk (`iptlint.semantics.walk`) its local
    gateways and out interfaces, on any dump (a Docker-less router may write the same
    rule for its own bridge).
    """

    name: str
    subnet: Network
    line: int  # of the rule

    @property
    def gateway(self) -> IPAddress:
        return self.subnet.network_address + 1


def masqueraded_bridges(ruleset: Ruleset) -> tuple[MasqueradedBridge, ...]:
    """Every `-s SUBNET ! -o BRIDGE -j MASQUERADE|SNAT` rule of nat POSTROUTING, in order.

    The source must be a plain (not negated) subnet of at least 4 addresses and the
    out interface a negated name without wildcard: a single host's SNAT says nothing
    of a bridge.
    """
    found = []
    for rule in _rules(ruleset.table("nat"), "POSTROUTING"):
        if _target(rule) not in ("MASQUERADE", "SNAT"):
            continue
        source, source_negated = _network(rule, "-s")
        out, out_negated = _interface(rule, "-o")
        if source is None or source_negated or source.num_addresses < 4:
            continue
        if out is None or not out_negated or out.endswith("+"):
            continue
        found.append(MasqueradedBridge(out, source, rule.line))
    return tuple(found)


def _address_text(network: Network) -> str:
    return str(network.network_address) if network.prefixlen == network.max_prefixlen else str(network)


# ---------------------------------------------------------------------------------------
# Reading rules
# ---------------------------------------------------------------------------------------


def _rules(table: Table | None, chain: str) -> tuple[Rule, ...]:
    found: Chain | None = table.chain(chain) if table is not None else None
    return found.rules if found is not None else ()


def _interface(rule: Rule, name: str) -> tuple[str | None, bool]:
    option = rule.basic(name)
    if option is None or not isinstance(option.value, Interface):
        return None, False
    return option.value.name, option.negated


def _network(rule: Rule, name: str) -> tuple[Network | None, bool]:
    option = rule.basic(name)
    if option is None or not isinstance(option.value, Address) or option.value.network is None:
        return None, False
    return option.value.network, option.negated


def _target(rule: Rule) -> str | None:
    return rule.target.name if rule.target is not None else None


def _dport(rule: Rule) -> Range | None:
    for match in rule.matches:
        if match.name in ("tcp", "udp", "sctp"):
            option = match.get("--dport")
            if option is not None and not option.negated:
                return option.value
    return None


def _protocol(rule: Rule) -> str | None:
    option = rule.protocol
    return None if option is None or option.negated else option.value.name


def destination_ports(rule: Rule):
    """Each non-negated destination-port option of a rule with the port ranges it names.

    `--dport` of tcp/udp/sctp and `--dports`/`--ports` of multiport: what a rule written for a
    published port matches on (D004, D006).
    """
    for match in rule.matches:
        if match.name not in ("tcp", "udp", "sctp", "multiport"):
            continue
        for option in match.options:
            if option.negated:
                continue
            if option.name == "--dport" and isinstance(option.value, Range):
                yield option, (option.value,)
            elif option.name in ("--dports", "--ports") and isinstance(option.value, tuple):
                yield option, option.value


def ranges_cover(ranges: tuple[Range, ...], ports: Range) -> bool:
    """Whether one of `ranges` holds every port of `ports`."""
    return any(r.lo <= ports.lo and ports.hi <= r.hi for r in ranges)


def protocol_fits(rule: Rule, port: PublishedPort) -> bool:
    """Whether the rule's `-p` (if any, and not negated) is the published port's protocol."""
    option = rule.protocol
    return option is None or option.negated or option.value.name == port.protocol


def _bridge_names(filter_table: Table | None, masqueraded: tuple[MasqueradedBridge, ...]) -> list[str]:
    """Every interface Docker treats as a bridge, in the order the dump first names it."""
    names: list[str] = []

    def add(name: str | None) -> None:
        if name and name not in names and not name.endswith("+"):
            names.append(name)

    for rule in _rules(filter_table, "FORWARD") + _rules(filter_table, "DOCKER-BRIDGE"):
        out, negated = _interface(rule, "-o")
        if _target(rule) == "DOCKER" and not negated:
            add(out)
    for rule in _rules(filter_table, "DOCKER-CT") + _rules(filter_table, "DOCKER-FORWARD"):
        add(_interface(rule, "-o")[0] if rule.chain == "DOCKER-CT" else _interface(rule, "-i")[0])
    for chain in ("DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION-STAGE-2", "DOCKER-INTERNAL"):
        for rule in _rules(filter_table, chain):
            add(_interface(rule, "-i")[0])
            add(_interface(rule, "-o")[0])
    for bridge in masqueraded:
        add(bridge.name)
    return names


def _bridge(name: str, filter_table: Table | None, masqueraded: tuple[MasqueradedBridge, ...]) -> Bridge:
    subnets: list[Network] = []
    masquerade = internal = False
    icc = True
    for bridge in masqueraded:
        if bridge.name == name:
            masquerade = True
            if bridge.subnet not in subnets:
                subnets.append(bridge.subnet)
    for chain in ("DOCKER-ISOLATION-STAGE-1", "DOCKER-INTERNAL"):
        for rule in _rules(filter_table, chain):
            if _target(rule) != "DROP":
                continue
            for interface, address in (("-o", "-s"), ("-i", "-d")):
                iface, iface_negated = _interface(rule, interface)
                network, network_negated = _network(rule, address)
                if iface == name and not iface_negated and network is not None and network_negated:
                    internal = True
                    if network not in subnets:
                        subnets.append(network)
    for chain in ("FORWARD", "DOCKER-FORWARD"):
        for rule in _rules(filter_table, chain):
            inside, in_negated = _interface(rule, "-i")
            out, out_negated = _interface(rule, "-o")
            if inside == name and out == name and not in_negated and not out_negated and _target(rule) == "DROP":
                icc = False
    return Bridge(name, tuple(subnets), internal, icc, masquerade)


def _published_ports(
    filter_table: Table | None, nat: Table | None, bridges: list[Bridge], family: Family
) -> list[PublishedPort]:
    ports = []
    for chain_name, ingress in (("DOCKER", False), ("DOCKER-INGRESS", True)):
        for rule in _rules(nat, chain_name):
            port = _published_port(rule, filter_table, nat, bridges, ingress)
            if port is not None:
                ports.append(port)
    return ports


def _published_port(
    rule: Rule, filter_table: Table | None, nat: Table | None, bridges: list[Bridge], ingress: bool
) -> PublishedPort | None:
    if _target(rule) != "DNAT" or rule.target is None:
        return None
    destination = rule.target.get("--to-destination")
    protocol = _protocol(rule)
    host_ports = _dport(rule)
    if destination is None or protocol is None or host_ports is None:
        return None
    endpoint: Endpoint = destination.value
    if endpoint.addresses is None:
        return None
    container = endpoint.addresses.lo
    container_ports = endpoint.ports or host_ports
    host, host_negated = _network(rule, "-d")
    bridge_name, negated = _interface(rule, "-i")
    bridge = bridge_name if negated else None
    if bridge is None:
        owner = next((b for b in bridges if any(container in s for s in b.subnets)), None)
        bridge = owner.name if owner else None
    accept = _find_accept(filter_table, container, protocol, container_ports, bridge)
    hairpin = _find_hairpin(nat, container, protocol, container_ports)
    return PublishedPort(
        protocol=protocol,
        host_address=None if host_negated else host,
        host_ports=host_ports,
        container_address=container,
        container_ports=container_ports,
        bridge=bridge,
        dnat=rule,
        accept=accept,
        hairpin=hairpin,
        ingress=ingress,
    )


def _find_accept(filter_table: Table | None, container, protocol: str, ports: Range, bridge: str | None) -> Rule | None:
    for chain in ("DOCKER", "DOCKER-INGRESS"):
        for rule in _rules(filter_table, chain):
            if _target(rule) != "ACCEPT" or _protocol(rule) != protocol:
                continue
            destination, negated = _network(rule, "-d")
            dport = _dport(rule)
            if chain == "DOCKER" and (destination is None or negated or container not in destination):
                continue
            if dport is not None and dport.lo <= ports.lo and ports.hi <= dport.hi:
                return rule
    return None


def _find_hairpin(nat: Table | None, container, protocol: str, ports: Range) -> Rule | None:
    for rule in _rules(nat, "POSTROUTING"):
        source, _ = _network(rule, "-s")
        destination, _ = _network(rule, "-d")
        if (
            _target(rule) == "MASQUERADE"
            and source is not None
            and destination is not None
            and container in source
            and container in destination
            and _protocol(rule) == protocol
        ):
            return rule
    return None


# ---------------------------------------------------------------------------------------
# The generation
# ---------------------------------------------------------------------------------------


def detect_generation(ruleset: Ruleset) -> str | None:
    """The layout generation (LAYOUTS.md §9), or None when no Docker chain is there."""
    filter_table = ruleset.table("filter")
    chains = {c.name for c in filter_table.chains} if filter_table else set()
    if "DOCKER-FORWARD" in chains:
        if "DOCKER-INTERNAL" in chains or "DOCKER-ISOLATION-STAGE-1" not in chains:
            return "v29"
        return "v28"
    for rule in ruleset.rules:
        set_match = rule.match("set")
        if set_match is not None:
            option = set_match.get("--match-set")
            if option is not None and option.raw and option.raw[0].startswith("docker-ext-bridges-"):
                return "v28.0"
    if "DOCKER-ISOLATION-STAGE-1" in chains:
        return "v18-27"
    if "DOCKER-ISOLATION" in chains:
        return "v17"
    return None


def has_docker(ruleset: Ruleset) -> bool:
    filter_table = ruleset.table("filter")
    nat = ruleset.table("nat")
    names = {c.name for c in filter_table.chains} if filter_table else set()
    nat_names = {c.name for c in nat.chains} if nat else set()
    return bool(names & set(DOCKER_FILTER_CHAINS)) or "DOCKER" in nat_names


def read(ruleset: Ruleset, generation: str | None = None) -> DockerModel | None:
    """Docker's part of a dump; None when the dump has no Docker chains.

    `generation` forces a layout generation instead of detecting it.
    """
    if not has_docker(ruleset):
        return None
    filter_table = ruleset.table("filter")
    nat = ruleset.table("nat")
    masqueraded = masqueraded_bridges(ruleset)
    bridges = [_bridge(name, filter_table, masqueraded) for name in _bridge_names(filter_table, masqueraded)]
    ports = _published_ports(filter_table, nat, bridges, ruleset.family)
    proxy_off = any(
        _target(rule) == "MASQUERADE" and rule.match("addrtype") is not None for rule in _rules(nat, "POSTROUTING")
    )
    names = (
        frozenset(c.name for c in filter_table.chains) & frozenset(DOCKER_FILTER_CHAINS)
        if filter_table
        else frozenset()
    )
    return DockerModel(
        family=ruleset.family,
        generation=generation or detect_generation(ruleset),
        bridges=tuple(bridges),
        ports=tuple(ports),
        userland_proxy=False if proxy_off else None,
        chains=names,
    )
