"""iptlint's exposure findings against what a real dockerd's rules really let through.

The scenarios in tests/data/docker-real/ were recorded on a real Docker 20.10 daemon in a
network namespace (tests/dockerlab.py; re-recorded live by tests/test_docker_real.py):
each holds the `iptables-save` dump and, for every published port, whether an outside
client on eth0 really connected (`reachable`) and whether a neighbour routing the
bridge subnet through the host reached the container at its own address
(`direct_reachable`).  iptlint only reads the dump.  Agreement must be 100%:

- X001 (exposed) on a port  <=>  the client really connected to it;
- X003 (direct access) on a port  <=>  the neighbour really reached the container.

A port whose DNAT is gone from the dump (a flushed nat table) cannot be named by the
dump at all; there the finding that must be reported instead is D009 (Docker's nat
rules missing), since docker-proxy keeps answering on the host port.
"""

import json
from pathlib import Path

import pytest
from conftest import report_summary

from iptlint.linter import lint

DATA = Path(__file__).resolve().parent / "data" / "docker-real"
SCENARIOS = sorted(DATA.glob("*.json"))


def _ipv4_ports(scenario: dict) -> list[dict]:
    return [p for p in scenario["ports"] if ":" not in p["host_addr"]]


def _flagged(findings, code: str, port: dict) -> bool:
    if code == "X001":
        needle = f":{port['host_port']}/{port['proto']} -> {port['container_addr']}:"
    else:
        needle = f"container {port['container_addr']}:{port['container_port']}/{port['proto']}"
    return any(f.code == code and needle in f.message for f in findings)


def _rows():
    rows = []
    for path in SCENARIOS:
        scenario = json.loads(path.read_text())
        findings = lint(scenario["dumps"]["ipv4"], path.name).findings
        nat_gone = any(f.code == "D009" for f in findings) and "DNAT" not in scenario["dumps"]["ipv4"]
        for port in _ipv4_ports(scenario):
            if nat_gone:
                rows.append((scenario["name"], port, "D009", "D009"))  # both paths stay open: D009 says so
                continue
            exposed = _flagged(findings, "X001", port)
            direct = _flagged(findings, "X003", port)
            rows.append((scenario["name"], port, exposed, direct))
    return rows


@pytest.mark.skipif(not SCENARIOS, reason="no recorded scenario in tests/data/docker-real")
def test_exposure_findings_agree_with_the_real_daemon():
    rows = _rows()
    lines = [f"{'scenario':36} {'port':26} {'X001':5} {'real':5} {'X003':5} {'direct':6}"]
    disagreements = []
    checked = 0
    for name, port, exposed, direct in rows:
        published = f"{port['host_addr']}:{port['host_port']}/{port['proto']}"
        real_direct = port.get("direct_reachable")
        loopback = port["host_addr"].startswith("127.")
        lines.append(
            f"{name:36} {published:26} {exposed!s:5} {port['reachable']!s:5} {direct!s:5} "
            f"{'-' if real_direct is None or loopback else str(real_direct):6}"
        )
        checked += 1
        if bool(exposed) != port["reachable"]:
            disagreements.append(f"{name} {published}: X001={exposed}, real connection={port['reachable']}")
        # The direct path of a loopback-bound port needs a crafted L2 packet to 127.0.0.1, which
        # the kernel's martian filter decides (route_localnet): outside what a dump says.
        if real_direct is not None and not loopback and bool(direct) != real_direct:
            disagreements.append(f"{name} {published}: X003={direct}, real direct access={real_direct}")
    agreement = checked - len({d.split(":")[0] for d in disagreements})
    report_summary(
        f"real dockerd exposure: {len(SCENARIOS)} scenarios, {checked} published ports, "
        f"{len(disagreements)} disagreements"
    )
    for line in lines:
        report_summary("  " + line)
    assert not disagreements, "\n".join(disagreements)
    assert agreement == checked
