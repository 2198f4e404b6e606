"""Half-configured port mapping: a DNAT without its filter ACCEPT, or an ACCEPT without its DNAT.

## What it does
On a Docker host, pairs each published port's `DNAT` in nat `DOCKER` with the `ACCEPT`
for the container address and port in filter `DOCKER` (see `iptlint exposure`), and
reports either half alone: a DNAT whose ACCEPT is missing (unless the bridge deliberately
accepts every port, Docker's `nat-unprotected` mode), and a per-container ACCEPT that no
DNAT leads to, on bridges in NAT mode (in `routed` gateway mode that is the design).

## Why it matters
A DNAT without its ACCEPT sends the connection to the container and then drops it in
FORWARD: the service looks published but is unreachable, usually after someone deleted
or re-created rules by hand.  An ACCEPT without its DNAT is left over from a container
that is gone: the next container to get that address inherits an open port, reachable
by any neighbour that routes to the bridge.

## Example
```
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
```

## Use instead
```
*nat
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-ISOLATION-STAGE-1
-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A FORWARD -o docker0 -j DOCKER
-A FORWARD -i docker0 ! -o docker0 -j ACCEPT
-A FORWARD -i docker0 -o docker0 -j ACCEPT
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -j RETURN
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.findings import Finding, Fix, Related, Severity
from iptlint.syntax.ast import Rule
from iptlint.syntax.values import Address, Interface

CODE = "D008"
NAME = "half-configured-port"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    docker = analysis.docker
    if docker is None:
        return
    filter_table = analysis.ruleset.table("filter")
    docker_chain = filter_table.chain("DOCKER") if filter_table else None
    accepts = docker_chain.rules if docker_chain else ()
    for port in docker.ports:
        if port.ingress or port.accept is not None or _accepts_every_port(accepts, port.bridge):
            continue
        container = f"{port.container_address}:{port.container_ports}"
        yield analysis.at_rule(
            CODE,
            port.dnat,
            f"published port {port.describe()} has no ACCEPT in filter DOCKER: connections are NATed to {container} "
            "and then dropped in FORWARD",
            fix=Fix(
                f"recreate the container (or add `-A DOCKER -d {port.container_address}/32 ! -i {port.bridge} "
                f"-o {port.bridge} -p {port.protocol} -m {port.protocol} --dport {port.container_ports} -j ACCEPT`)"
            ),
        )
    paired = {id(port.accept) for port in docker.ports if port.accept is not None}
    for rule in accepts:
        bridge = _nat_bridge_of(rule, docker)
        if rule.target is None or rule.target.name != "ACCEPT" or id(rule) in paired or bridge is None:
            continue
        if _container_address(rule) is None:
            continue
        yield analysis.at_rule(
            CODE,
            rule,
            f"this ACCEPT opens a container port that no DNAT publishes (left over from a removed container?): "
            f"neighbours routing to {bridge} reach it directly",
            related=tuple(Related("published ports are DNATed here", p.dnat.span) for p in docker.ports[:1]),
            fix=Fix("delete the rule, or publish the port again"),
        )


def _accepts_every_port(rules: tuple[Rule, ...], bridge: str | None) -> bool:
    """Docker's nat-unprotected mode: `-A DOCKER ! -i BR -o BR -j ACCEPT`."""
    for rule in rules:
        inside, outside = rule.in_interface, rule.out_interface
        if (
            rule.target is not None
            and rule.target.name == "ACCEPT"
            and not rule.matches
            and inside is not None
            and inside.negated
            and outside is not None
            and not outside.negated
            and isinstance(outside.value, Interface)
            and outside.value.name == bridge
            and rule.destination is None
        ):
            return True
    return False


def _container_address(rule: Rule):
    option = rule.destination
    if option is None or option.negated or not isinstance(option.value, Address) or option.value.network is None:
        return None
    network = option.value.network
    return network.network_address if network.prefixlen == network.max_prefixlen else None


def _nat_bridge_of(rule: Rule, docker) -> str | None:
    outside = rule.out_interface
    if outside is None or outside.negated or not isinstance(outside.value, Interface):
        return None
    bridge = docker.bridge(outside.value.name)
    return bridge.name if bridge is not None and bridge.masquerade and not bridge.internal else None
