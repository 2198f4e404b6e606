"""`iptlint exposure`: the table of published ports and who really reaches them."""

from __future__ import annotations

import json
from collections.abc import Sequence

from iptlint.docker.exposure import Exposure

_STATUS = {
    "exposed": "EXPOSED",
    "possibly": "POSSIBLY",
    "closed": "closed",
    "host-only": "host only",
}


def _where(path: str, rule) -> str:
    return f"{path}:{rule.line}" if rule is not None else "-"


def _sources(exposure: Exposure) -> str:
    if exposure.status == "host-only":
        return "this host only (loopback)"
    if exposure.status == "possibly":
        probe = exposure.unknown_probes[0]
        return f"depends on {probe.unknown}"
    if exposure.status == "closed":
        return "nobody"
    return ", ".join(exposure.sources())


def rows(exposures: Sequence[Exposure], path: str) -> list[dict]:
    result = []
    for exposure in exposures:
        port = exposure.port
        direct = exposure.direct
        result.append(
            {
                "host_address": "*" if port.host_address is None else str(port.host_address.network_address),
                "host_port": str(port.host_ports),
                "protocol": port.protocol,
                "container": str(port.container_address),
                "container_port": str(port.container_ports),
                "bridge": port.bridge,
                "status": exposure.status,
                "sources": list(exposure.sources()) if exposure.status == "exposed" else [],
                "interfaces": exposure.interfaces_text() if exposure.status == "exposed" else None,
                "depends_on": exposure.unknown_probes[0].unknown if exposure.status == "possibly" else None,
                "decided_by": _where(path, exposure.deciding_rule) if exposure.deciding_rule else None,
                "published_by": _where(path, port.dnat),
                "direct": None if direct is None else {"reachable": direct.arrived, "verdict": direct.verdict},
            }
        )
    return result


def render_json(exposures: Sequence[Exposure], path: str) -> str:
    return json.dumps({"path": path, "ports": rows(exposures, path)}, indent=2) + "\n"


def render_text(exposures: Sequence[Exposure], path: str) -> str:
    if not exposures:
        return f"{path}: no published port\n"
    table = [("PUBLISHED", "CONTAINER", "STATUS", "REACHED FROM", "VIA", "DECIDED BY")]
    for row, exposure in zip(rows(exposures, path), exposures, strict=True):
        host = f"{row['host_address']}:{row['host_port']}/{row['protocol']}"
        container = f"{row['container']}:{row['container_port']}"
        status = _STATUS[row["status"]]
        if row["direct"] and row["direct"]["reachable"]:
            status += " (+direct)"
        table.append((host, container, status, _sources(exposure), row["interfaces"] or "-", row["decided_by"] or "-"))
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip() for r in table]
    notes = []
    if any(r["direct"] and r["direct"]["reachable"] for r in rows(exposures, path)):
        notes.append(
            "(+direct): also reachable at the container address itself by a neighbour routing the bridge subnet"
        )
    return "\n".join([f"{path}:", *lines, *notes]) + "\n"
