"""DOCKER-USER rule that matches a published host port or host address, which DNAT already rewrote.

## What it does
On a Docker host, reports a rule in `DOCKER-USER` (or a chain it jumps to) that matches
the **host** side of a published port: a `--dport`/`--dports` that covers a published
host port but not the container port it is mapped to, or a `-d` that names the host
address a port is published on.  The fix uses the conntrack original destination
(`-m conntrack --ctorigdstport`/`--ctorigdst`), which keeps the values before DNAT.

## Why it matters
nat PREROUTING rewrites the destination of published traffic before the filter table
runs, so `DOCKER-USER` sees the container's address and port.  A rule written for the
port users connect to (`-p 8080:80`, then `--dport 8080`) never matches that traffic:
the port it was meant to close stays open.

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
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP
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
-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.docker.model import destination_ports, protocol_fits, ranges_cover
from iptlint.findings import Finding, Fix, Related, Severity
from iptlint.syntax.ast import Rule
from iptlint.syntax.values import Address

CODE = "D004"
NAME = "docker-user-matches-host-port"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    docker = analysis.docker
    if docker is None or not docker.ports:
        return
    for table, chain in analysis.chains():
        if table.name != "filter" or not _reached_from_docker_user(analysis, chain.name):
            continue
        for rule in chain.rules:
            yield from _port_findings(analysis, rule, docker.ports)
            yield from _address_findings(analysis, rule, docker.ports)


def _reached_from_docker_user(analysis: Analysis, chain: str) -> bool:
    if chain == "DOCKER-USER":
        return True
    return chain in analysis.reachable_from("filter", "DOCKER-USER")


def _port_findings(analysis: Analysis, rule: Rule, ports) -> Iterator[Finding]:
    for option, ranges in destination_ports(rule):
        for port in ports:
            if not protocol_fits(rule, port) or port.ingress:
                continue
            if ranges_cover(ranges, port.host_ports) and not ranges_cover(ranges, port.container_ports):
                yield analysis.at_rule(
                    CODE,
                    rule,
                    f"{option.name} {option.text} is the host port of published port {port.describe()}, but DNAT "
                    f"rewrote it before DOCKER-USER: this traffic arrives here as port {port.container_ports}, so "
                    "the rule never matches it",
                    node=option,
                    related=(Related("the port is rewritten here (nat DOCKER)", port.dnat.span),),
                    fix=Fix(
                        f"match the port before DNAT: `-m conntrack --ctorigdstport {port.host_ports}` "
                        f"instead of `{option.name} {option.text}`"
                    ),
                    severity=SEVERITY,
                )
                break


def _address_findings(analysis: Analysis, rule: Rule, ports) -> Iterator[Finding]:
    option = rule.destination
    if option is None or option.negated or not isinstance(option.value, Address) or option.value.network is None:
        return
    network = option.value.network
    for port in ports:
        host = port.host_address
        if host is None or host.network_address.is_loopback or port.container_address in network:
            continue
        if host.network_address in network:
            yield analysis.at_rule(
                CODE,
                rule,
                f"-d {option.text} is the host address of published port {port.describe()}, but DNAT rewrote it "
                f"to {port.container_address} before DOCKER-USER: the rule never matches that traffic",
                node=option,
                related=(Related("the address is rewritten here (nat DOCKER)", port.dnat.span),),
                fix=Fix(f"match the address before DNAT: `-m conntrack --ctorigdst {option.text}`"),
                severity=SEVERITY,
            )
            return
