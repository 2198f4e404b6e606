"""Docker's iptables rules on a real dockerd, and what they really let through.

Issue "Docker-aware policies ... proven on a real dockerd": every scenario below starts
busybox containers on a real dockerd (tests/dockerlab.py), sometimes applies a common
user mistake with `iptables`, and records the `iptables-save` / `ip6tables-save` dumps
together with the reality of every published port, as seen by an outside client
(`Scenario`).  The tests assert that reality (what the kernel did, not what we hoped),
and the recordings are kept in tests/data/docker-real/<scenario>.json so that iptlint's
Docker checks can be developed against real dumps without root.

* With root and dockerd: the scenarios run once per module (one dockerd per daemon
  configuration), the reality is asserted, the table is printed (`-s`, and in the
  terminal summary), and the recordings are compared with the stored fixtures
  (`DOCKERLAB_UPDATE=1` rewrites those that really differ).
* Without: the live tests skip with the reason (fail under `CI=true`); the same
  assertions still run on the stored fixtures.

`scenarios()` runs them all and returns the list: the later comparison with iptlint's
exposure findings builds on it (or on `dockerlab.load_recorded()` without root).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

import dockerlab
import pytest
from conftest import in_ci, report_summary
from dockerlab import (
    CLIENT_ADDR_V4,
    CLIENT_SERVER_PORT,
    HOST_ADDR_V4,
    HOST_ADDR_V6,
    UNPUBLISHED_PORT,
    Container,
    DockerHost,
    LabUnavailable,
    Probe,
    Scenario,
    rolled_back,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Subnets of the user-defined networks: fixed, so a scenario records the same dump alone or
# after others (documentation prefixes, only ever inside the lab's namespaces).
NET_A = "192.0.2.0/24"
NET_B = "198.51.100.0/24"
NET_A_WEB = "192.0.2.2"
NET_A_PEER = "192.0.2.3"
NET_B_WEB = "198.51.100.2"

IPV6_DAEMON = ("--ipv6", "--fixed-cidr-v6=fd00:dead:beef::/64", "--ip6tables", "--experimental")
NO_PROXY_DAEMON = ("--userland-proxy=false",)


# ---------------------------------------------------------------------------------------
# Recording one scenario


def client_probe(host: DockerHost, address: str, port: int, note: str, proto: str = "tcp") -> Probe:
    """The outside client (routing container subnets via the host) tries address:port."""
    return Probe("client", address, port, proto, host.reachable_direct(address, port, proto), note)


def l2_probe(host: DockerHost, address: str, port: int, note: str) -> Probe:
    """The client, as an L2 neighbour, sends a raw TCP SYN for address:port to the host's MAC."""
    return Probe("client-l2", address, port, "tcp", host.reachable_l2(address, port), note)


def container_probe(host: DockerHost, source: Container, target: Container, port: int, note: str) -> Probe:
    """Container `source` tries `target`'s address (in the first network they share, else its first)."""
    shared = [net for net in source.addresses if net in target.addresses]
    address = target.addresses[shared[0]] if shared else target.address
    return address_probe(host, source, address, port, note)


def address_probe(host: DockerHost, source: Container, address: str, port: int, note: str) -> Probe:
    """Container `source` tries address:port (the client's server, or the host's published port)."""
    reached = host.container_reaches(source.name, address, port)
    return Probe(f"container:{source.name}", address, port, "tcp", reached, note)


def outbound_probe(host: DockerHost, source: Container) -> Probe:
    """Container `source` opens a connection to the client's HTTP server (egress and its replies)."""
    return address_probe(host, source, CLIENT_ADDR_V4, CLIENT_SERVER_PORT, "outbound to the client's server")


def hairpin_probe(host: DockerHost, source: Container, port: int) -> Probe:
    """Container `source` tries a published port at the host's own address (hairpin NAT or proxy)."""
    return address_probe(host, source, HOST_ADDR_V4, port, "hairpin: the host's address and published port")


ProbeMaker = Callable[[], Probe]


def record(
    host: DockerHost,
    name: str,
    description: str,
    containers: list[Container],
    *,
    mistakes: tuple[tuple[str, ...], ...] = (),
    probes: tuple[ProbeMaker, ...] = (),
) -> Scenario:
    """Apply the mistakes, take the dumps, probe every published port and the extra probes.

    The mistakes are undone afterwards (snapshot/restore), then `remove_all` deletes
    the containers and networks so the next scenario starts from the pristine rules.
    """
    try:
        with rolled_back(host):
            for argv in mistakes:
                host.iptables(*argv[1:], family="ipv6" if argv[0] == "ip6tables" else "ipv4")
            dumps = host.dumps()
            ports = host.published_reality(containers)
            found = [make() for make in probes]
            counters = host.dumps(counters=True)
        return Scenario(
            name=name,
            description=description,
            dumps=dumps,
            counters=counters,
            ports=ports,
            probes=found,
            mistakes=[" ".join(argv) for argv in mistakes],
            containers={container.name: container.address for container in containers},
            environment=host.environment(),
        )
    finally:
        host.remove_all()


def web(host: DockerHost, publish: str = "8080:80", **kwargs) -> Container:
    """The busybox web container (80 published as told, 81 never), named `web` unless told otherwise."""
    return host.run(publish=[publish], name=kwargs.pop("name", "web"), **kwargs)


# ---------------------------------------------------------------------------------------
# The scenarios on a default dockerd (proxy on, ip6tables off: Debian's 20.10 defaults)


def default_bridge(host: DockerHost) -> Scenario:
    container = web(host, "80:80")
    return record(
        host,
        "default-bridge",
        "The seed blog post's `docker run -p 80:80 nginx` (busybox httpd) on the default bridge.",
        [container],
        probes=(
            lambda: client_probe(host, container.address, UNPUBLISHED_PORT, "unpublished port, direct routing"),
            lambda: outbound_probe(host, container),
        ),
    )


def user_network(host: DockerHost) -> Scenario:
    host.network_create("labnet", subnet=NET_A)
    container = web(host, network="labnet", ip=NET_A_WEB)
    peer = host.run(network="labnet", name="peer", ip=NET_A_PEER)
    return record(
        host,
        "user-network",
        "`-p 8080:80` on a user-defined bridge network; a second container on the same network (icc on).",
        [container, peer],
        probes=(
            lambda: container_probe(host, peer, container, 80, "same network, icc on"),
            lambda: hairpin_probe(host, peer, 8080),
            lambda: hairpin_probe(host, container, 8080),
        ),
    )


def loopback_binding(host: DockerHost) -> Scenario:
    container = web(host, "127.0.0.1:8080:80")
    return record(
        host,
        "loopback-binding",
        "`-p 127.0.0.1:8080:80`: published on the host's loopback only.",
        [container],
        probes=(
            lambda: l2_probe(host, "127.0.0.1", 8080, "crafted SYN for 127.0.0.1 to the host's MAC (moby#41872)"),
            lambda: l2_probe(host, "127.0.0.1", 9, "control: the same crafted SYN for a port nobody published"),
        ),
    )


def udp_port(host: DockerHost) -> Scenario:
    container = host.run(publish=["5353:5353/udp"], name="udp", udp_echo_port=5353)
    return record(host, "udp", "`-p 5353:5353/udp` to a UDP echo server.", [container])


def icc_disabled(host: DockerHost) -> Scenario:
    host.network_create("noicc", subnet=NET_A, icc=False)
    container = web(host, network="noicc", ip=NET_A_WEB)
    peer = host.run(network="noicc", name="peer", ip=NET_A_PEER)
    return record(
        host,
        "icc-disabled",
        "A network with `com.docker.network.bridge.enable_icc=false`: published port plus a peer on the same bridge.",
        [container, peer],
        probes=(lambda: container_probe(host, peer, container, 80, "same network, icc off"),),
    )


def internal_network(host: DockerHost) -> Scenario:
    host.network_create("internal", subnet=NET_A, internal=True)
    container = web(host, network="internal", ip=NET_A_WEB)
    return record(
        host,
        "internal-network",
        "`-p 8080:80` for a container on an `--internal` network.",
        [container],
        probes=(
            lambda: client_probe(host, HOST_ADDR_V4, 8080, "the requested host port (Docker reports no binding)"),
            lambda: client_probe(host, container.address, 80, "container port, direct routing"),
        ),
    )


def two_networks(host: DockerHost) -> Scenario:
    containers = _two_networks(host)
    return record(
        host,
        "two-networks",
        "Two user networks, one published container in each: isolation between them.",
        containers,
        probes=_cross_network_probes(host, *containers),
    )


def _two_networks(host: DockerHost) -> list[Container]:
    host.network_create("neta", subnet=NET_A)
    host.network_create("netb", subnet=NET_B)
    return [
        web(host, "8080:80", network="neta", ip=NET_A_WEB, name="web-a"),
        web(host, "8081:80", network="netb", ip=NET_B_WEB, name="web-b"),
    ]


def _cross_network_probes(host: DockerHost, a: Container, b: Container) -> tuple[ProbeMaker, ...]:
    return (
        lambda: container_probe(host, a, b, 80, "network A to network B"),
        lambda: container_probe(host, b, a, 80, "network B to network A"),
    )


# -- the common mistakes, applied after the containers started --------------------------


def docker_user_appended(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-docker-user-append",
        "`iptables -A DOCKER-USER ... --dport 8080 -j DROP`: appended after DOCKER-USER's RETURN.",
        [container],
        mistakes=(("iptables", "-A", "DOCKER-USER", "-i", "eth0", "-p", "tcp", "--dport", "8080", "-j", "DROP"),),
    )


def docker_user_host_port(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-docker-user-host-port",
        "`iptables -I DOCKER-USER ... --dport 8080 -j DROP`: matches the host port, but DNAT already made it 80.",
        [container],
        mistakes=(("iptables", "-I", "DOCKER-USER", "-i", "eth0", "-p", "tcp", "--dport", "8080", "-j", "DROP"),),
    )


def input_drop(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-input-drop",
        "`iptables -I INPUT -p tcp --dport 8080 -j DROP`: a host firewall rule for the published port.",
        [container],
        mistakes=(("iptables", "-I", "INPUT", "-i", "eth0", "-p", "tcp", "--dport", "8080", "-j", "DROP"),),
    )


def isolation_drop_deleted(host: DockerHost) -> Scenario:
    a, b = _two_networks(host)
    bridge_b = host.bridge_name("netb")
    return record(
        host,
        "mistake-isolation-drop-deleted",
        "Two networks; the user deletes network B's `DOCKER-ISOLATION-STAGE-2 -o <bridge B> -j DROP`."
        " Only A tries B, so the DROP left for bridge A counts nothing but B's answers.",
        [a, b],
        mistakes=(("iptables", "-D", "DOCKER-ISOLATION-STAGE-2", "-o", bridge_b, "-j", "DROP"),),
        probes=_cross_network_probes(host, a, b)[:1],
    )


def isolation_jump_deleted(host: DockerHost) -> Scenario:
    a, b = _two_networks(host)
    return record(
        host,
        "mistake-isolation-jump-deleted",
        "Two networks; the user deletes `-A FORWARD -j DOCKER-ISOLATION-STAGE-1`.",
        [a, b],
        mistakes=(("iptables", "-D", "FORWARD", "-j", "DOCKER-ISOLATION-STAGE-1"),),
        probes=_cross_network_probes(host, a, b),
    )


ALLOWLIST_DROP = ("iptables", "-I", "DOCKER-USER", "-i", "eth0", "!", "-s", "10.203.0.99", "-j", "DROP")


def docker_user_allowlist(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-docker-user-allowlist",
        "Only 10.203.0.99 may reach the containers: `iptables -I DOCKER-USER -i eth0 ! -s 10.203.0.99 -j DROP`,"
        " without a RELATED,ESTABLISHED exception.",
        [container],
        mistakes=(ALLOWLIST_DROP,),
        probes=(lambda: outbound_probe(host, container),),
    )


def docker_user_allowlist_fixed(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "fix-docker-user-allowlist-established",
        "The same allow-list with the documented exception on top:"
        " `iptables -I DOCKER-USER -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`.",
        [container],
        mistakes=(
            ALLOWLIST_DROP,
            ("iptables", "-I", "DOCKER-USER", "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"),
        ),
        probes=(lambda: outbound_probe(host, container),),
    )


def nat_flushed(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-nat-flushed",
        "A firewall script runs `iptables -t nat -F` after Docker started: no DNAT, no MASQUERADE left.",
        [container],
        mistakes=(("iptables", "-t", "nat", "-F"),),
        probes=(lambda: outbound_probe(host, container),),
    )


def forward_appended(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-forward-append",
        "`iptables -A FORWARD -i eth0 -p tcp --dport 80 -j DROP`: appended after Docker's ACCEPTs in FORWARD.",
        [container],
        mistakes=(("iptables", "-A", "FORWARD", "-i", "eth0", "-p", "tcp", "--dport", "80", "-j", "DROP"),),
    )


def forward_accept(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "mistake-forward-accept",
        "`iptables -P FORWARD ACCEPT`, with a client that routes the container subnet via the host.",
        [container],
        mistakes=(("iptables", "-P", "FORWARD", "ACCEPT"),),
        probes=(lambda: client_probe(host, container.address, UNPUBLISHED_PORT, "unpublished port, direct routing"),),
    )


CTORIGDSTPORT_FIX = tuple(
    shlex.split("iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP")
)


def ctorigdstport_fix(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "fix-docker-user-ctorigdstport",
        "The documented fix: `iptables -I DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP`.",
        [container],
        mistakes=(CTORIGDSTPORT_FIX,),
    )


def dual_stack_fix(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "fix-dual-stack-proxy",
        "The IPv4 fix plus `ip6tables -I INPUT -i eth0 -p tcp --dport 8080 -j DROP` for docker-proxy's [::]:8080.",
        [container],
        mistakes=(CTORIGDSTPORT_FIX, tuple(shlex.split("ip6tables -I INPUT -i eth0 -p tcp --dport 8080 -j DROP"))),
    )


DEFAULT_DAEMON_SCENARIOS = (
    default_bridge,
    user_network,
    loopback_binding,
    udp_port,
    icc_disabled,
    internal_network,
    two_networks,
    docker_user_appended,
    docker_user_host_port,
    input_drop,
    isolation_drop_deleted,
    isolation_jump_deleted,
    docker_user_allowlist,
    docker_user_allowlist_fixed,
    nat_flushed,
    forward_appended,
    forward_accept,
    ctorigdstport_fix,
    dual_stack_fix,
)


# -- other daemon configurations -------------------------------------------------------


def ipv6_ip6tables(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "ipv6-ip6tables-v4-fix-only",
        "dockerd --ipv6 --ip6tables: the `--ctorigdstport 8080` fix applied with iptables only.",
        [container],
        mistakes=(CTORIGDSTPORT_FIX,),
    )


def ipv6_ip6tables_both_fixed(host: DockerHost) -> Scenario:
    container = web(host)
    return record(
        host,
        "ipv6-ip6tables-both-fixed",
        "dockerd --ipv6 --ip6tables: the IPv4 fix plus"
        " `ip6tables -I FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP` (20.10 has no ip6tables DOCKER-USER).",
        [container],
        mistakes=(
            CTORIGDSTPORT_FIX,
            tuple(shlex.split("ip6tables -I FORWARD -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP")),
        ),
    )


def no_userland_proxy(host: DockerHost) -> Scenario:
    container = web(host)
    local = web(host, "127.0.0.1:8081:80", name="local")
    return record(
        host,
        "no-userland-proxy",
        "dockerd --userland-proxy=false (hairpin NAT): `-p 8080:80` and `-p 127.0.0.1:8081:80`.",
        [container, local],
        probes=(
            lambda: client_probe(host, HOST_ADDR_V6, 8080, "the host's IPv6 address (Docker reports no IPv6 binding)"),
            lambda: l2_probe(host, "127.0.0.1", 8081, "crafted SYN for 127.0.0.1 to the host's MAC (moby#41872)"),
            lambda: hairpin_probe(host, local, 8080),
            lambda: hairpin_probe(host, container, 8080),
        ),
    )


def legacy_default_bridge(host: DockerHost) -> Scenario:
    scenario = default_bridge(host)
    scenario.name = "legacy-default-bridge"
    scenario.description = "`default-bridge` with dockerd driving iptables-legacy (an x_tables host)."
    return scenario


@dataclass(frozen=True)
class DaemonGroup:
    """Scenarios sharing one dockerd started with the same options."""

    daemon_args: tuple[str, ...]
    scenarios: tuple[Callable[[DockerHost], Scenario], ...]
    backend: str | None = None  # None: the system's `iptables` alternative


GROUPS = (
    DaemonGroup((), DEFAULT_DAEMON_SCENARIOS),
    DaemonGroup(IPV6_DAEMON, (ipv6_ip6tables, ipv6_ip6tables_both_fixed)),
    DaemonGroup(NO_PROXY_DAEMON, (no_userland_proxy,)),
    DaemonGroup((), (legacy_default_bridge,), backend="legacy"),
)


def scenarios() -> list[Scenario]:
    """Run every scenario, one dockerd per daemon configuration; needs root (see dockerlab)."""
    recorded = []
    for group in GROUPS:
        with DockerHost(group.daemon_args, backend=group.backend) as host:
            recorded.extend(run_scenario(host) for run_scenario in group.scenarios)
    return recorded


SCENARIO_NAMES = (
    "default-bridge",
    "user-network",
    "loopback-binding",
    "udp",
    "icc-disabled",
    "internal-network",
    "two-networks",
    "mistake-docker-user-append",
    "mistake-docker-user-host-port",
    "mistake-input-drop",
    "mistake-isolation-drop-deleted",
    "mistake-isolation-jump-deleted",
    "mistake-docker-user-allowlist",
    "fix-docker-user-allowlist-established",
    "mistake-nat-flushed",
    "mistake-forward-append",
    "mistake-forward-accept",
    "fix-docker-user-ctorigdstport",
    "fix-dual-stack-proxy",
    "ipv6-ip6tables-v4-fix-only",
    "ipv6-ip6tables-both-fixed",
    "no-userland-proxy",
    "legacy-default-bridge",
)


# ---------------------------------------------------------------------------------------
# Reality, as the kernel gave it (asserted on the live run and on the recordings)

V4, V6 = "0.0.0.0", "::"


def check_reality(scenario: Scenario) -> None:
    """The facts each scenario demonstrates; see docs/docker-lab.md for the explanations."""
    CHECKS[scenario.name](scenario)


def _reachable(scenario: Scenario, host_addr: str, host_port: int, proto: str = "tcp") -> bool:
    return scenario.port(host_addr, host_port, proto).reachable


def _direct(scenario: Scenario, host_addr: str, host_port: int, proto: str = "tcp") -> bool | None:
    return scenario.port(host_addr, host_port, proto).direct_reachable


def _check_default_bridge(s: Scenario) -> None:
    assert _reachable(s, V4, 80) and _reachable(s, V6, 80)
    assert _direct(s, V4, 80), "before 28.0 a neighbour routing the subnet reaches the published container port"
    assert not s.probe("client", UNPUBLISHED_PORT).reachable, "FORWARD policy DROP protects unpublished ports"
    assert s.probe("container:web", CLIENT_SERVER_PORT).reachable, "containers reach the outside (MASQUERADE)"


def _check_user_network(s: Scenario) -> None:
    assert _reachable(s, V4, 8080) and _direct(s, V4, 8080)
    assert s.probe("container:peer", 80).reachable
    assert s.probe("container:peer", 8080).reachable and s.probe("container:web", 8080).reachable, (
        "hairpin via the proxy"
    )


def _check_loopback(s: Scenario) -> None:
    assert [port.host_addr for port in s.ports] == ["127.0.0.1"]
    assert not _reachable(s, "127.0.0.1", 8080), "a 127.0.0.1 binding is not reachable at the host's address"
    assert _direct(s, "127.0.0.1", 8080), "but the container port is, by direct routing (pre-28)"
    assert s.probe("client-l2", 8080).reachable, "an L2 neighbour's packets for 127.0.0.1 are DNATed (moby#41872)"
    assert not s.probe("client-l2", 9).reachable, "control: without a DNAT rule the kernel drops them"


def _check_udp(s: Scenario) -> None:
    assert _reachable(s, V4, 5353, "udp") and _reachable(s, V6, 5353, "udp")
    assert _direct(s, V4, 5353, "udp")


def _check_icc_disabled(s: Scenario) -> None:
    assert _reachable(s, V4, 8080)
    assert not s.probe("container:peer", 80).reachable, "icc=false drops traffic between containers of the bridge"


def _check_internal(s: Scenario) -> None:
    assert s.ports == [], "Docker publishes nothing for a container on an internal network"
    assert "--dport 8080" not in s.dumps["ipv4"]
    assert not s.probe("client", 8080).reachable and not s.probe("client", 80).reachable


def _check_two_networks(s: Scenario) -> None:
    assert _reachable(s, V4, 8080) and _reachable(s, V4, 8081)
    assert not s.probe("container:web-a", 80).reachable and not s.probe("container:web-b", 80).reachable


def _check_still_open(s: Scenario) -> None:
    assert _reachable(s, V4, 8080), f"{s.mistakes} does not block the published port"
    assert _reachable(s, V6, 8080)
    assert _packets(s, USER_RULES[s.name]) == 0, "the user's rule never saw a packet"


# The user's rule of each "still open" scenario, as iptables-save prints it.
USER_RULES = {
    "mistake-docker-user-append": "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
    "mistake-docker-user-host-port": "-A DOCKER-USER -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
    "mistake-input-drop": "-A INPUT -i eth0 -p tcp -m tcp --dport 8080 -j DROP",
    "mistake-forward-append": "-A FORWARD -i eth0 -p tcp -m tcp --dport 80 -j DROP",
}


def _packets(s: Scenario, rule: str) -> int:
    return dockerlab.rule_packets(s.counters["ipv4"], rule)


def _check_isolation_drop_deleted(s: Scenario) -> None:
    assert _reachable(s, V4, 8080) and _reachable(s, V4, 8081)
    assert not s.probe("container:web-a", 80).reachable, "one deleted DROP does not connect the networks over TCP"
    # A's SYN got into B (its DROP is gone), and B's answers died at the DROP left for bridge A:
    # nothing else goes from B to A in this scenario.
    left = [
        line
        for line in s.counters["ipv4"].splitlines()
        if re.search(r"-A DOCKER-ISOLATION-STAGE-2 -o br-\w+ -j DROP$", line)
    ]
    assert len(left) == 1
    assert dockerlab.rule_packets(s.counters["ipv4"], left[0].split("] ", 1)[1]) > 0, (
        "B answered; the answer was dropped"
    )


def _check_allowlist_without_established(s: Scenario) -> None:
    assert not _reachable(s, V4, 8080) and not _direct(s, V4, 8080), "the client is not on the allow-list"
    assert _reachable(s, V6, 8080), "docker-proxy answers on [::]:8080, where DOCKER-USER has no say"
    assert not s.probe("container:web", CLIENT_SERVER_PORT).reachable, "the DROP also eats the replies to egress"


def _check_allowlist_with_established(s: Scenario) -> None:
    assert not _reachable(s, V4, 8080) and _reachable(s, V6, 8080)
    assert s.probe("container:web", CLIENT_SERVER_PORT).reachable, "RELATED,ESTABLISHED first lets replies in"


def _check_nat_flushed(s: Scenario) -> None:
    assert "DNAT" not in s.dumps["ipv4"] and "MASQUERADE" not in s.dumps["ipv4"]
    assert _reachable(s, V4, 8080), "without DNAT the packets reach INPUT, where docker-proxy listens on 0.0.0.0:8080"
    assert s.probe("container:web", CLIENT_SERVER_PORT).reachable, "the client routes replies back via the host"


def _check_legacy_default_bridge(s: Scenario) -> None:
    assert "legacy" in s.environment["iptables"]
    _check_default_bridge(s)


def _check_isolation_jump_deleted(s: Scenario) -> None:
    assert s.probe("container:web-a", 80).reachable and s.probe("container:web-b", 80).reachable


def _check_forward_accept(s: Scenario) -> None:
    assert _reachable(s, V4, 8080)
    assert s.probe("client", UNPUBLISHED_PORT).reachable, "FORWARD ACCEPT opens every container port to direct routing"


def _check_ctorigdstport(s: Scenario) -> None:
    assert not _reachable(s, V4, 8080), "--ctorigdstport matches the port before DNAT"
    assert _direct(s, V4, 8080), "direct routing to the container port has no original port 8080"
    assert _packets(s, "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP") > 0
    assert _reachable(s, V6, 8080), "docker-proxy still answers on [::]:8080, which no iptables rule sees"


def _check_ipv6_v4_fix_only(s: Scenario) -> None:
    assert not _reachable(s, V4, 8080)
    assert _reachable(s, V6, 8080), "an iptables-only DOCKER-USER rule leaves the IPv6 published port open"
    assert ":" in s.port(V6, 8080).container_addr and _direct(s, V6, 8080)
    assert ":DOCKER-USER" not in s.dumps["ipv6"], "20.10 creates DOCKER-USER in iptables only"


def _check_dual_stack_fix(s: Scenario) -> None:
    assert not _reachable(s, V4, 8080) and not _reachable(s, V6, 8080), (
        "IPv4 in DOCKER-USER, IPv6 at docker-proxy's INPUT"
    )
    assert _direct(s, V4, 8080), "neither rule covers direct routing to the container port"
    assert s.dumps["ipv6"] and "--dport 8080 -j DROP" in s.dumps["ipv6"]


def _check_ipv6_both_fixed(s: Scenario) -> None:
    assert not _reachable(s, V4, 8080) and not _reachable(s, V6, 8080)
    assert _direct(s, V4, 8080) and _direct(s, V6, 8080), "direct routing has no original port 8080"


def _check_no_proxy(s: Scenario) -> None:
    assert [(port.host_addr, port.host_port) for port in s.ports] == [(V4, 8080), ("127.0.0.1", 8081)]
    assert _reachable(s, V4, 8080) and not _reachable(s, "127.0.0.1", 8081)
    assert not s.probe("client", 8080).reachable, "without docker-proxy nothing answers on the host's IPv6 address"
    assert s.probe("client-l2", 8081).reachable, "the 127.0.0.1 DNAT has no `! -i` either: L2 neighbours get in"
    assert s.probe("container:local", 8080).reachable and s.probe("container:web", 8080).reachable, "hairpin NAT"


CHECKS: dict[str, Callable[[Scenario], None]] = {
    "default-bridge": _check_default_bridge,
    "user-network": _check_user_network,
    "loopback-binding": _check_loopback,
    "udp": _check_udp,
    "icc-disabled": _check_icc_disabled,
    "internal-network": _check_internal,
    "two-networks": _check_two_networks,
    "mistake-docker-user-append": _check_still_open,
    "mistake-docker-user-host-port": _check_still_open,
    "mistake-input-drop": _check_still_open,
    "mistake-isolation-drop-deleted": _check_isolation_drop_deleted,
    "mistake-isolation-jump-deleted": _check_isolation_jump_deleted,
    "mistake-docker-user-allowlist": _check_allowlist_without_established,
    "fix-docker-user-allowlist-established": _check_allowlist_with_established,
    "mistake-nat-flushed": _check_nat_flushed,
    "mistake-forward-append": _check_still_open,
    "mistake-forward-accept": _check_forward_accept,
    "fix-docker-user-ctorigdstport": _check_ctorigdstport,
    "ipv6-ip6tables-v4-fix-only": _check_ipv6_v4_fix_only,
    "ipv6-ip6tables-both-fixed": _check_ipv6_both_fixed,
    "fix-dual-stack-proxy": _check_dual_stack_fix,
    "no-userland-proxy": _check_no_proxy,
    "legacy-default-bridge": _check_legacy_default_bridge,
}


# ---------------------------------------------------------------------------------------
# The live run


def requires_docker_lab() -> None:
    """Skip when a real dockerd lab cannot run here; fail instead under CI=true."""
    reason = dockerlab.missing_requirements()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI=true but the real-dockerd lab cannot run: {reason}", pytrace=False)
    pytest.skip(f"real dockerd lab unavailable: {reason}")


@pytest.fixture(scope="module")
def live() -> dict[str, Scenario]:
    """Every scenario, run once for the module on real dockerds."""
    requires_docker_lab()
    try:
        recorded = scenarios()
    except LabUnavailable as error:
        if in_ci():
            pytest.fail(f"CI=true but the real-dockerd lab failed: {error}", pytrace=False)
        pytest.skip(f"real dockerd lab could not start: {error}")
    table = dockerlab.format_table(recorded)
    print("\n" + "\n".join(table))
    report_summary("real dockerd: published ports and what the outside client reached")
    for line in table:
        report_summary("  " + line)
    return {scenario.name: scenario for scenario in recorded}


def test_every_scenario_ran(live):
    assert sorted(live) == sorted(SCENARIO_NAMES)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_reality_live(live, name):
    check_reality(live[name])


def test_ip_forward_and_forward_policy_set_by_dockerd(live):
    """dockerd turned ip_forward on itself, so it set the FORWARD policy to DROP (LAYOUTS §2)."""
    assert ":FORWARD DROP" in live["default-bridge"].dumps["ipv4"]


def recording_differences(fresh: Scenario, stored: Scenario) -> list[str]:
    """What differs between a live run and a stored recording, after normalization.

    Reality always counts; the dumps only when both were recorded with the same Docker
    version and iptables (another engine legitimately writes other rules).
    """
    differences = []
    if dockerlab.normalize_reality(fresh) != dockerlab.normalize_reality(stored):
        differences.append("reality (ports or probes)")
    if set(fresh.counters) != set(stored.counters):
        differences.append("counted dumps (iptables-save -c) missing")
    same_tools = all(fresh.environment.get(key) == stored.environment.get(key) for key in ("docker", "iptables"))
    for family in ("ipv4", "ipv6"):
        now = dockerlab.normalize_dump(fresh.dumps[family], fresh.containers)
        then = dockerlab.normalize_dump(stored.dumps[family], stored.containers)
        if same_tools and now != then:
            differences.append(f"{family} dump")
    return differences


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_recording_matches_live_run(live, name):
    """The stored fixture says what the live run says; DOCKERLAB_UPDATE=1 rewrites those that differ.

    Only a real difference rewrites a file, so re-recording does not churn timestamps and counters.
    """
    scenario = live[name]
    if not dockerlab.fixture_path(name).is_file():
        dockerlab.save_fixture(scenario)
        return
    differences = recording_differences(scenario, dockerlab.load_fixture(name))
    if differences and os.environ.get("DOCKERLAB_UPDATE") == "1":
        dockerlab.save_fixture(scenario)
        return
    assert not differences, f"{name}: {', '.join(differences)} differ from the recording; DOCKERLAB_UPDATE=1 re-records"


# ---------------------------------------------------------------------------------------
# The recordings (no root needed)


@pytest.mark.parametrize("name", SCENARIO_NAMES)
def test_reality_recorded(name):
    path = dockerlab.fixture_path(name)
    if not path.is_file():
        pytest.skip(f"no recording at {path} yet (run the live tests as root)")
    scenario = dockerlab.load_fixture(name)
    assert scenario.dumps["ipv4"] and "*filter" in scenario.dumps["ipv4"]
    check_reality(scenario)


def test_published_ports_have_published_rules():
    """Sanity of the recordings: every IPv4 published port has its DNAT rule in the dump."""
    for scenario in dockerlab.load_recorded():
        if any("-t nat" in mistake for mistake in scenario.mistakes):
            continue  # the mistake removed them
        for port in scenario.ports:
            if ":" in port.host_addr:
                continue
            dnat = f"--dport {port.host_port} -j DNAT --to-destination {port.container_addr}:{port.container_port}"
            assert dnat in scenario.dumps["ipv4"], f"{scenario.name}: {dnat}"


def test_iptlint_parses_every_real_dump():
    """Real dumps (plain and with -c counters, nft and legacy) parse without syntax findings."""
    from iptlint.syntax.parser import parse

    for scenario in dockerlab.load_recorded():
        for kind, texts in (("dump", scenario.dumps), ("counted", scenario.counters)):
            for family, text in texts.items():
                if text is None:
                    continue
                findings = parse(text, f"{scenario.name}:{kind}:{family}").findings
                syntax = [f"{f.code} {f.message}" for f in findings if f.code.startswith("S1")]
                assert not syntax, f"{scenario.name} {kind} {family}: {syntax}"


def test_every_scenario_has_a_check_and_a_recording():
    assert sorted(CHECKS) == sorted(SCENARIO_NAMES)
    assert sum(len(group.scenarios) for group in GROUPS) == len(SCENARIO_NAMES)
    missing = [name for name in SCENARIO_NAMES if not dockerlab.fixture_path(name).is_file()]
    assert not missing, f"no recording for {missing}: run the live tests as root"


def test_recorder_table_lists_every_port():
    stored = dockerlab.load_recorded()
    lines = dockerlab.format_table(stored)
    assert len(lines) == 1 + sum(len(s.ports) + len(s.probes) for s in stored)
