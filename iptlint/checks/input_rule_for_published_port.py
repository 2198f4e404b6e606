"""Rule in INPUT meant to protect a published port: forwarded container traffic never crosses INPUT.

## What it does
On a Docker host, reports a rule in filter `INPUT` (or a chain reached only from INPUT)
that drops or rejects traffic to a port Docker publishes (by `--dport`/`--dports`,
for the port's protocol).  The related location is the DNAT that publishes the port.

## Why it matters
Connections to a published port are DNATed in PREROUTING and then *forwarded* to the
container: they go through FORWARD, never INPUT.  A DROP in INPUT (or in ufw, which
writes INPUT rules) for that port looks like protection and is none: the port stays
open (moby#4737, #22054).

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
-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -j DROP
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

CODE = "D006"
NAME = "input-rule-for-published-port"
SEVERITY = Severity.WARNING
DEFAULT = True

_DENY = frozenset({"DROP", "REJECT"})


def check(analysis: Analysis) -> Iterator[Finding]:
    docker = analysis.docker
    if docker is None or not docker.ports:
        return
    for table, chain in analysis.chains():
        if table.name != "filter" or analysis.hooks_reaching.get(("filter", chain.name)) != frozenset({"INPUT"}):
            continue
        for rule in chain.rules:
            if rule.target is None or rule.target.name not in _DENY:
                continue
            for option, ranges in destination_ports(rule):
                port = next(
                    (p for p in docker.ports if protocol_fits(rule, p) and ranges_cover(ranges, p.host_ports)), None
                )
                if port is None:
                    continue
                yield analysis.at_rule(
                    CODE,
                    rule,
                    f"this rule in {chain.name} cannot protect published port {port.describe()}: connections to it "
                    "are DNATed and forwarded to the container, they never cross INPUT, so the port stays open",
                    node=option,
                    related=(Related("the port is published here (nat DOCKER)", port.dnat.span),),
                    fix=Fix(
                        f"filter it in DOCKER-USER on the original port: `iptables -I DOCKER-USER -p {port.protocol} "
                        f"-m conntrack --ctorigdstport {port.host_ports} -j DROP` (add your conditions)"
                    ),
                    severity=SEVERITY,
                )
                break
