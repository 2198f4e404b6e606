"""ipsets from `ipset save`: what `-m set --match-set NAME src` really matches.

    create office hash:net family inet hashsize 1024 maxelem 65536
    add office 198.51.100.0/24
    add office 203.0.113.7

`iptlint check --ipset FILE` (and `trace`, `exposure`) read such a file; without it a
set match is known only within bounds (any packet might match, none certainly does).
Supported types, exactly: hash:ip, hash:net, bitmap:ip (one address), hash:ip,port and
hash:net,port (an address and a protocol:port).  Entries marked `nomatch` are holes in a
hash:net set.  Other types (with interfaces, marks, MACs) stay unknown.
"""

from __future__ import annotations

import ipaddress
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from iptlint.semantics import packets as p
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Family
from iptlint.syntax.values import PROTOCOLS, Range

SUPPORTED = ("hash:ip", "hash:net", "bitmap:ip", "hash:ip,port", "hash:net,port")


class IpsetError(Exception):
    """An `ipset save` file iptlint cannot read; the message starts with file:line."""


@dataclass(frozen=True, slots=True)
class IpSet:
    name: str
    type: str
    family: Family
    members: tuple[tuple[str, bool], ...]  # (entry, nomatch)


def parse_ipset_save(text: str, path: str = "-") -> dict[str, IpSet]:
    sets: dict[str, dict] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            words = shlex.split(stripped)
        except ValueError as error:
            raise IpsetError(f"{path}:{number}: {error}") from None
        command = words[0]
        if command in ("create", "-N", "-exist") and len(words) >= 3:
            family = Family.IPV6 if "inet6" in words[3:] else Family.IPV4
            sets[words[1]] = {"type": words[2], "family": family, "members": []}
        elif command in ("add", "-A") and len(words) >= 3:
            if words[1] not in sets:
                raise IpsetError(f"{path}:{number}: 'add' to set {words[1]!r} that no 'create' line made")
            sets[words[1]]["members"].append((words[2], "nomatch" in words[3:]))
        else:
            raise IpsetError(f"{path}:{number}: not an `ipset save` line: {stripped[:60]!r}")
    return {name: IpSet(name, data["type"], data["family"], tuple(data["members"])) for name, data in sets.items()}


def _address_blocks(entry: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The networks of a member's address part: `10.0.0.0/8`, `10.0.0.1`, `10.0.0.1-10.0.0.9`; ValueError if none."""
    if "-" in entry and "/" not in entry:
        lo, hi = (ipaddress.ip_address(x) for x in entry.split("-", 1))
        return list(ipaddress.summarize_address_range(lo, hi))
    return [ipaddress.ip_network(entry, strict=False)]


def _address_set(entry: str, family: Family, field: str) -> PacketSet:
    result = PacketSet.none(family)
    for block in _address_blocks(entry):
        result = result | p.from_network(block, family, field)
    return result


def _port_set(entry: str, family: Family, field: str) -> PacketSet:
    protocol, colon, port = entry.partition(":")
    if not colon:
        protocol, port = "tcp", entry
    lo, _, hi = port.partition("-")
    number = PROTOCOLS.get(protocol.lower())
    if number is None:
        raise ValueError(f"unknown protocol {protocol!r}")
    ranges = p.from_ports(Range(int(lo), int(hi or lo)), family, field)
    return p.from_protocol(number, family) & ranges


def members(ipset: IpSet, directions: tuple[str, ...], family: Family) -> Bounds:
    """The packets whose fields (per direction: src or dst) are in the set."""
    kind = ipset.type
    if kind not in SUPPORTED or ipset.family is not family:
        return Bounds.unknown(family)
    fields = [("src" if d == "src" else "dst") for d in directions]
    port_fields = [("sport" if d == "src" else "dport") for d in directions]
    included = PacketSet.none(family)
    holes = PacketSet.none(family)
    try:
        for entry, nomatch in ipset.members:
            parts = entry.split(",")
            packets = _address_set(parts[0], family, fields[0])
            if kind.endswith(",port"):
                if len(parts) < 2 or len(directions) < 2:
                    return Bounds.unknown(family)
                packets = packets & _port_set(parts[1], family, port_fields[1])
            if nomatch:
                holes = holes | packets
            else:
                included = included | packets
    except ValueError:
        return Bounds.unknown(family)
    return Bounds.exactly(included - holes)


def member_networks(ipsets: Mapping[str, IpSet], family: Family) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """The address blocks of every member of the sets of `family` (what a `--match-set` can tell apart)."""
    found = []
    for ipset in ipsets.values():
        if ipset.family is not family:
            continue
        for entry, _ in ipset.members:
            try:
                found.extend(_address_blocks(entry.split(",")[0]))
            except (ValueError, TypeError):
                continue  # `members` makes such a set unknown; the walk says so
    return found


def docker_ipsets(docker, family: Family) -> dict[str, IpSet]:
    """The ipset Docker 28.0.0 fills itself: every non-internal bridge's subnet."""
    if docker is None:
        return {}
    suffix = "v4" if family is Family.IPV4 else "v6"
    version = 4 if family is Family.IPV4 else 6
    entries = tuple(
        (str(subnet), False)
        for bridge in docker.bridges
        if not bridge.internal
        for subnet in bridge.subnets
        if subnet.version == version
    )
    return {f"docker-ext-bridges-{suffix}": IpSet(f"docker-ext-bridges-{suffix}", "hash:net", family, entries)}


def merged(*sources: Mapping[str, IpSet]) -> dict[str, IpSet]:
    result: dict[str, IpSet] = {}
    for source in sources:
        result.update(source)
    return result
