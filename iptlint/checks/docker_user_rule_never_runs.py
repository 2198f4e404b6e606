"""DOCKER-USER rule that can never match: appended after the chain's RETURN.

## What it does
On a Docker host, reports each rule of `DOCKER-USER` placed after a rule that returns
(or otherwise ends the chain for) every packet, typically Docker's own `-A DOCKER-USER
-j RETURN`.  The fix says where to insert the rule instead (`-I DOCKER-USER N`).
Rules hidden by *conditions* of earlier DOCKER-USER rules are reported by R001.

## Why it matters
Up to engine 28.2.1 Docker creates `DOCKER-USER` with a final `-j RETURN`.  The natural
`iptables -A DOCKER-USER ... -j DROP` appends after it: the rule is accepted, listed,
saved and restored, and never runs.  The port it was meant to close stays open.

## Example
```
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
-A DOCKER-USER -i eth0 ! -s 198.51.100.0/24 -j DROP
COMMIT
```

## Use instead
```
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
-A DOCKER-USER -i eth0 ! -s 198.51.100.0/24 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
```
"""

from __future__ import annotations

from collections.abc import Iterator

from iptlint.analysis import Analysis
from iptlint.checks.unreachable_rule import ending, first_end
from iptlint.findings import Finding, Fix, Severity

CODE = "D003"
NAME = "docker-user-rule-never-runs"
SEVERITY = Severity.WARNING
DEFAULT = True


def check(analysis: Analysis) -> Iterator[Finding]:
    if analysis.docker is None:
        return
    chain = analysis.ruleset.chain("filter", "DOCKER-USER")
    if chain is None:
        return
    stop = first_end(chain)
    if stop is None:
        return
    position = analysis.position(stop)
    for rule in chain.rules[chain.rules.index(stop) + 1 :]:
        spec = rule.source_text.split(None, 2)[2] if rule.source_text.startswith("-A ") else rule.source_text
        yield analysis.at_rule(
            CODE,
            rule,
            f"this DOCKER-USER rule never runs: rule {position} {ending(stop)} before it "
            "(rules appended with `iptables -A DOCKER-USER` land after Docker's RETURN)",
            related=(analysis.related_rule(stop, f"{ending(stop)} here"),),
            fix=Fix(f"insert it before rule {position}: `iptables -I DOCKER-USER {position} {spec}`"),
            severity=SEVERITY,
        )
