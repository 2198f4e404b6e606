"""Container reachable directly at its own address, with no DNAT (engines before 28).

## What it does
On layouts older than engine 28, walks a NEW connection that a neighbour routing the
bridge subnet through this host would send straight to the container's address and
port, and reports each published port such a packet reaches.  The message gives the
packet that proves it.

## Why it matters
Before engine 28, Docker's filter rules accept the container port for any packet that
arrives from outside the bridge, DNATed or not.  Anyone on the same L2 network (or a
router) can add a route to 172.17.0.0/16 via this host and reach the container without
the published host port, so rules written for the host port never apply; with a FORWARD
policy of ACCEPT every port of every container is reachable (moby#14041, #22054, fixed
in 28.0 by raw-table DROPs).

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
-A DOCKER-USER -j RETURN
COMMIT
```

## Use instead
```
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
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

CODE = "X003"
NAME = "direct-container-access"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    for exposure in analysis.exposures:
        probe = exposure.direct
        if probe is None or not probe.arrived:
            continue
        port = exposure.port
        container = f"{port.container_address}:{port.container_ports}/{port.protocol}"
        related = (Related("accepted here", probe.decided_by.span),) if probe.decided_by is not None else ()
        yield analysis.at_rule(
            CODE,
            port.dnat,
            f"container {container} is reachable directly, without the published port: a NEW connection from "
            f"{probe.source} via {probe.in_iface} to {port.container_address} port {port.container_ports.lo} is "
            f"accepted (any neighbour that routes {port.bridge or 'the bridge'}'s subnet through this host)",
            related=related,
            fix=Fix(
                f"drop direct traffic in raw PREROUTING: `-A PREROUTING -d {port.container_address}/32 "
                f"! -i {port.bridge or 'BRIDGE'} -j DROP` (what engine 28 does), or upgrade Docker"
            ),
            severity=SEVERITY,
        )
