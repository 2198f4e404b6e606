"""Exposed published port: a NEW connection from outside reaches the container.

## What it does
For each port Docker publishes, walks a NEW connection to the host port from every kind
of outside packet the ruleset tells apart (source cells, incoming interfaces other than
Docker's bridges; see `iptlint exposure`) and reports the port when some of them reach
the container.  Without a policy, a port is reported (as information) when it is open to
**every** source; with an exposure allow-list (`exposure: allow:` in a policy), it is
reported as a warning when it is open to **more** sources or interfaces than allowed,
naming them.  The message says host address:port/proto → container address:port, the
sources and the interfaces; the related location is the rule that lets the connection
in.  Ports bound to 127.0.0.1 and ports that `DOCKER-USER` blocks are not exposed.

## Why it matters
`docker run -p 8080:80` opens the port to the world even when the host's own firewall
(INPUT, ufw) says otherwise: published traffic is forwarded, never crosses INPUT, and is
accepted by Docker's chains.  This finding says what really is reachable.

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
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.2:5432
COMMIT
*filter
:INPUT DROP [0:0]
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
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT
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
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.2:5432
COMMIT
*filter
:INPUT DROP [0:0]
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
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-1 -j RETURN
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-ISOLATION-STAGE-2 -j RETURN
-A DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
-A DOCKER-USER ! -s 10.0.0.0/8 -p tcp -m conntrack --ctorigdstport 5432 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.docker.exposure import Exposure, probe_allowed, summarize_cells
from iptlint.findings import Finding, Fix, Related, Severity

CODE = "X001"
NAME = "exposed-port"
SEVERITY = Severity.INFO
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    allow_lists = analysis.exposure_allow
    for exposure in analysis.exposures:
        if exposure.status != "exposed":
            continue
        if not allow_lists:
            if exposure.exposed_to_all:
                yield _finding(analysis, CODE, exposure, exposure.open_probes, Severity.INFO, "any source")
            continue
        for code, entries in allow_lists:
            beyond = [p for p in exposure.open_probes if not probe_allowed(p, exposure.port, entries)]
            if beyond:
                yield _finding(
                    analysis, code, exposure, beyond, Severity.WARNING, "more sources than the policy allows"
                )


def _finding(analysis: Analysis, code: str, exposure: Exposure, probes, severity: Severity, who: str) -> Finding:
    port = exposure.port
    sources = ", ".join(summarize_cells({p.cell for p in probes}, port.container_address.version))
    interfaces = exposure.interfaces_text(probes)
    decider = next((p.decided_by for p in probes if p.decided_by is not None), None)
    related = (Related("the connection is accepted here", decider.span),) if decider is not None else ()
    message = (
        f"published port {port.describe()} is exposed to {who}: a NEW connection from {sources} "
        f"via {interfaces} reaches the container"
    )
    host_port = port.host_ports
    fix = Fix(
        f"to limit it, insert in DOCKER-USER a rule on the original port: `-I DOCKER-USER -p {port.protocol} "
        f"-m conntrack --ctorigdstport {host_port} ! -s <allowed network> -j DROP`, or publish on one address "
        f"(`-p 127.0.0.1:{host_port}:{port.container_ports}`)"
    )
    return analysis.at_rule(code, port.dnat, message, related=related, fix=fix, severity=severity)
