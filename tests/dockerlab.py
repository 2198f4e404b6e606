"""A real dockerd in a throwaway network namespace, and a client that tries its published ports.

iptlint's Docker checks claim things such as "this port is reachable from outside" or
"this DROP never sees the traffic".  This module produces the ground truth for those
claims: it runs the distribution's `dockerd` (20.10 here) inside a fresh network
namespace that looks like a small host, starts busybox containers with published ports,
lets a test apply the usual user mistakes with `iptables`, records the
`iptables-save` / `ip6tables-save` dumps and asks a second namespace, the *client*, which
ports really answer.  See docs/docker-lab.md for the whole picture.

Topology of one `DockerHost`::

    client namespace                      host namespace (dockerd runs here)
    eth0 10.203.0.2/24  <-- veth -->  eth0 10.203.0.1/24       docker0 172.17.0.1/16
         fd00:203::2/64                    fd00:203::1/64        br-... (user networks)
    default route via 10.203.0.1

* dockerd runs with `nsenter --net=...` (not `ip netns exec`, which remounts /sys and
  hides the cgroups dockerd needs), a private data root, exec root, socket and pid file,
  the `vfs` storage driver and an empty config file, so nothing is shared with a
  system dockerd.  dockerd itself turns `ip_forward` on and therefore sets the
  `FORWARD` policy to DROP, as on the fresh host of the seed blog post.
* The image is built with `docker import` from a tar holding `/bin/busybox` and its
  applet links (`httpd`, `wget`, `sh`, `timeout`, ...), a `/www/index.html`, and
  `lib`/`lib64` links into `/usr` so that the host's `/usr` can be bind-mounted read-only
  for the UDP echo server (`/usr/bin/python3`): busybox's `nc` in this build has no UDP.
* Reachability is decided by a small Python program run in the client namespace (see
  `PROBE_PROGRAM`): TCP = an HTTP request answered with `HTTP/`; UDP = a datagram echoed
  back by the container's echo server.  Each target gets a bounded number of attempts
  with a short timeout; all targets of one call are tried in parallel.

Everything the lab creates (daemon, containerd, shims, docker-proxy, namespaces, veth,
mounts, directories) is removed by `DockerHost.close()`, also when a step fails.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NamedTuple

HOST_ADDR_V4 = "10.203.0.1"
CLIENT_ADDR_V4 = "10.203.0.2"
HOST_ADDR_V6 = "fd00:203::1"
CLIENT_ADDR_V6 = "fd00:203::2"
CLIENT_SERVER_PORT = 8000  # an HTTP server in the client namespace, for outbound probes
PREFIX_V4 = 24
PREFIX_V6 = 64

IMAGE = "iptlint-lab/busybox:1"
BUSYBOX = Path("/bin/busybox")
HOST_PYTHON = Path("/usr/bin/python3")  # runs the UDP echo server inside containers (host /usr mounted)
APPLETS = ("sh", "httpd", "wget", "nc", "timeout", "sleep", "cat", "ip", "ls")

DAEMON_START_TIMEOUT = 40.0  # seconds; dockerd 20.10 answers after ~1 s here
DAEMON_STOP_TIMEOUT = 20.0
COMMAND_TIMEOUT = 60.0
SERVICE_READY_TIMEOUT = 15.0
PROBE_TIMEOUT = 1.5  # seconds per attempt
PROBE_ATTEMPTS = 2  # bounded: an unreachable target costs PROBE_TIMEOUT * PROBE_ATTEMPTS

FIXTURE_DIR = Path(__file__).resolve().parent / "data" / "docker-real"

_counter = itertools.count()


# ---------------------------------------------------------------------------------------
# What a scenario records


class PublishedPort(NamedTuple):
    """One published port and what the kernel did with it.

    `host_addr` is the binding as Docker reports it (`0.0.0.0`, `::`, `127.0.0.1`).  The
    client tries the host's own address of that family (10.203.0.1 or fd00:203::1, also
    for a `127.0.0.1` binding: that is what an outside client can do).  `reachable` is
    whether the service answered there.  `direct_reachable` is whether the client reached
    `container_addr:container_port` itself after routing the container subnet via the
    host (the "direct routing" pitfall); None when not tried (IPv6 bindings).
    """

    host_addr: str
    host_port: int
    proto: str
    container_addr: str
    container_port: int
    reachable: bool
    direct_reachable: bool | None


class Probe(NamedTuple):
    """Another fact about reality: an unpublished port, or one container reaching another.

    `source` is "client" (the outside client, routing container subnets via the host) or
    "container:<name>" (a `docker exec` in that container).
    """

    source: str
    address: str
    port: int
    proto: str
    reachable: bool
    note: str = ""


@dataclass
class Scenario:
    """A scenario's dumps and the reality of its ports, as recorded on a real dockerd."""

    name: str
    description: str
    dumps: dict[str, str | None]  # "ipv4" / "ipv6" -> iptables-save text (None: empty)
    ports: list[PublishedPort]
    probes: list[Probe] = field(default_factory=list)
    counters: dict[str, str | None] = field(default_factory=dict)  # `iptables-save -c` after the probes
    mistakes: list[str] = field(default_factory=list)  # commands applied after the containers started
    containers: dict[str, str] = field(default_factory=dict)  # name -> IPv4 address
    environment: dict[str, str] = field(default_factory=dict)  # docker / iptables / kernel versions

    def to_json(self) -> str:
        data = asdict(self)
        data["ports"] = [port._asdict() for port in self.ports]
        data["probes"] = [probe._asdict() for probe in self.probes]
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Scenario:
        data = json.loads(text)
        data["ports"] = [PublishedPort(**port) for port in data["ports"]]
        data["probes"] = [Probe(**probe) for probe in data.get("probes", [])]
        return cls(**data)

    def port(self, host_addr: str, host_port: int, proto: str = "tcp") -> PublishedPort:
        """The recorded port with this binding (KeyError when the scenario has none)."""
        for port in self.ports:
            if (port.host_addr, port.host_port, port.proto) == (host_addr, host_port, proto):
                return port
        raise KeyError(f"{self.name}: no published port {host_addr}:{host_port}/{proto}")

    def probe(self, source: str, port: int, proto: str = "tcp") -> Probe:
        """The recorded probe from `source` to `port` (KeyError when absent)."""
        for probe in self.probes:
            if (probe.source, probe.port, probe.proto) == (source, port, proto):
                return probe
        raise KeyError(f"{self.name}: no probe from {source} to port {port}/{proto}")


def rule_packets(counted: str, rule: str) -> int:
    """The packet count of a rule in an `iptables-save -c` text (`rule` as `-A CHAIN ...`).

    KeyError when the rule is not there.  Counts include every probe of the scenario.
    """
    for line in counted.splitlines():
        found = re.match(r"\[(\d+):\d+\] (-A .*)$", line)
        if found and found.group(2) == rule:
            return int(found.group(1))
    raise KeyError(rule)


def fixture_path(name: str) -> Path:
    return FIXTURE_DIR / f"{name}.json"


def save_fixture(scenario: Scenario) -> Path:
    """Write a scenario to tests/data/docker-real/<name>.json."""
    FIXTURE_DIR.mkdir(parents=True, exist_ok=True)
    path = fixture_path(scenario.name)
    path.write_text(scenario.to_json(), encoding="utf-8")
    return path


def load_fixture(name: str) -> Scenario:
    return Scenario.from_json(fixture_path(name).read_text(encoding="utf-8"))


def load_recorded() -> list[Scenario]:
    """Every recorded scenario (no root needed): for developing checks against real dumps."""
    return [Scenario.from_json(path.read_text(encoding="utf-8")) for path in sorted(FIXTURE_DIR.glob("*.json"))]


# ---------------------------------------------------------------------------------------
# Comparing a fresh recording with a stored one


def normalize_dump(text: str | None, containers: dict[str, str]) -> str | None:
    """A dump without what changes from run to run: comments, counters, bridge ids, container IPs."""
    if text is None:
        return None
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    normalized = re.sub(r"\[\d+:\d+\]", "[0:0]", "\n".join(lines))
    normalized = _rename_in_order(normalized, re.compile(r"\bbr-[0-9a-f]{12}\b"), "br-{}")
    return _replace_container_addresses(normalized, containers)


def normalize_reality(scenario: Scenario) -> list[tuple]:
    """Ports and probes with container addresses replaced by the container names."""
    rename = dict(sorted(((addr, f"<{name}>") for name, addr in scenario.containers.items()), reverse=True))
    ports = [
        port._replace(container_addr=rename.get(port.container_addr, port.container_addr)) for port in scenario.ports
    ]
    probes = [probe._replace(address=rename.get(probe.address, probe.address)) for probe in scenario.probes]
    return sorted(tuple(port) for port in ports) + sorted(tuple(probe) for probe in probes)


def _rename_in_order(text: str, pattern: re.Pattern, template: str) -> str:
    names: dict[str, str] = {}

    def rename(found: re.Match) -> str:
        return names.setdefault(found.group(0), template.format(len(names)))

    return pattern.sub(rename, text)


def _replace_container_addresses(text: str, containers: dict[str, str]) -> str:
    for name, address in containers.items():
        text = re.sub(rf"(?<![\d.]){re.escape(address)}(?![\d])", f"<{name}>", text)
    return text


# ---------------------------------------------------------------------------------------
# Can the lab run here?


def missing_requirements() -> str | None:
    """Why a real dockerd lab cannot run on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces, dockerd, iptables)"
    tools = ("dockerd", "docker", "containerd", "nsenter", "ip", "iptables", "iptables-save", "ip6tables-save")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return "needs " + ", ".join(missing)
    if not BUSYBOX.is_file():
        return f"needs a static busybox at {BUSYBOX} for the container image"
    if not HOST_PYTHON.is_file():
        return f"needs {HOST_PYTHON} (the UDP echo server runs it inside containers)"
    return None


# ---------------------------------------------------------------------------------------
# The image


def write_image_tar(path: Path) -> None:
    """A root file system with busybox, its applet links, /www/index.html and lib links into /usr."""
    with tarfile.open(path, "w") as tar:
        for directory in ("bin", "www", "usr", "tmp", "etc"):
            _add_directory(tar, directory)
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in APPLETS:
            _add_symlink(tar, f"bin/{applet}", "busybox")
        _add_symlink(tar, "lib", "usr/lib")
        _add_symlink(tar, "lib64", "usr/lib64")
        _add_file(tar, "www/index.html", b"<h1>iptlint docker lab</h1>\n")


def _add_directory(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o1777 if name == "tmp" else 0o755
    tar.addfile(info)


def _add_symlink(tar: tarfile.TarFile, name: str, target: str) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    tar.addfile(info)


def _add_file(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o644
    with tempfile.TemporaryFile() as data:
        data.write(content)
        data.seek(0)
        tar.addfile(info, data)


# Container commands.  The web container serves the same page on 80 (to publish) and on 81
# (never published: what direct routing can reach when FORWARD lets it through).
WEB_COMMAND = ("/bin/sh", "-c", "httpd -p 81 -h /www && exec httpd -f -p 80 -h /www")
UNPUBLISHED_PORT = 81

UDP_ECHO_SOURCE = """
import socket, sys
port = int(sys.argv[1])
try:
    server = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    server.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    server.bind(("::", port))
except OSError:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("0.0.0.0", port))
while True:
    data, peer = server.recvfrom(4096)
    server.sendto(data, peer)
"""


def udp_echo_command(port: int) -> tuple[str, ...]:
    return (str(HOST_PYTHON), "-c", UDP_ECHO_SOURCE, str(port))


# ---------------------------------------------------------------------------------------
# Reachability, decided inside a namespace

# Reads a JSON list of [proto, address, port] and prints a JSON list of booleans.
# TCP: connect, send an HTTP request, reachable when the answer starts with "HTTP/".
# UDP: send a random token on a connected socket, reachable when the same token comes
#      back (an ICMP error or silence is unreachable).
PROBE_PROGRAM = """
import json, os, socket, sys
from concurrent.futures import ThreadPoolExecutor
TIMEOUT, ATTEMPTS = float(sys.argv[1]), int(sys.argv[2])

def family(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET

def tcp_once(address, port):
    with socket.socket(family(address), socket.SOCK_STREAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect((address, port))
        sock.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        return sock.recv(5) == b"HTTP/"

def udp_once(address, port):
    token = os.urandom(8).hex().encode()
    with socket.socket(family(address), socket.SOCK_DGRAM) as sock:
        sock.settimeout(TIMEOUT)
        sock.connect((address, port))
        sock.send(token)
        return sock.recv(64) == token

def reachable(target):
    proto, address, port = target
    once = tcp_once if proto == "tcp" else udp_once
    for _ in range(ATTEMPTS):
        try:
            if once(address, int(port)):
                return True
        except OSError:
            pass
    return False

targets = json.load(sys.stdin)
with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:
    print(json.dumps(list(pool.map(reachable, targets))))
"""


# A hand-made TCP SYN in an Ethernet frame to the host's MAC address, for destinations the
# client's own stack would never send out (127.0.0.1: the loopback-publishing pitfall,
# moby#41872).  Reachable when a SYN-ACK from that address and port comes back on the wire.
# argv: interface, client MAC, host MAC, client IPv4, destination IPv4, port, timeout, attempts.
L2_SYN_PROGRAM = """
import os, random, socket, struct, sys, time
ifname, src_mac, dst_mac, src_ip, dst_ip = sys.argv[1:6]
port, timeout, attempts = int(sys.argv[6]), float(sys.argv[7]), int(sys.argv[8])

def checksum(data):
    if len(data) % 2:
        data += b"\\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF

def syn_frame(sport, seq):
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    tcp = struct.pack("!HHIIBBHHH", sport, port, seq, 0, 5 << 4, 0x02, 64240, 0, 0)
    tcp_sum = checksum(src + dst + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
    tcp = tcp[:16] + struct.pack("!H", tcp_sum) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.randrange(65536), 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    mac = lambda text: bytes.fromhex(text.replace(":", ""))
    return mac(dst_mac) + mac(src_mac) + b"\\x08\\x00" + ip + tcp

def is_syn_ack(frame, sport):
    if len(frame) < 54 or frame[12:14] != b"\\x08\\x00" or frame[23] != 6:
        return False
    header = (frame[14] & 0x0F) * 4
    tcp = frame[14 + header:]
    source, dest = struct.unpack("!HH", tcp[:4])
    return frame[26:30] == socket.inet_aton(dst_ip) and source == port and dest == sport and tcp[13] & 0x12 == 0x12

with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)) as sock:
    sock.bind((ifname, 0))
    answered = False
    for _ in range(attempts):
        sport = random.randrange(20000, 60000)
        sock.send(syn_frame(sport, random.randrange(1 << 32)))
        deadline = time.monotonic() + timeout
        while not answered and time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                answered = is_syn_ack(sock.recv(2048), sport)
            except TimeoutError:
                break
        if answered:
            break
print("true" if answered else "false")
"""


# The client's HTTP server (not `http.server`, whose bind does a reverse DNS lookup that
# times out in a namespace without DNS).  argv: address, port.
CLIENT_SERVER_PROGRAM = """
import socketserver, sys

class Answer(socketserver.StreamRequestHandler):
    def handle(self):
        while self.rfile.readline().strip():
            pass
        self.wfile.write(b"HTTP/1.0 200 OK\\r\\nContent-Length: 7\\r\\n\\r\\nclient\\n")

socketserver.ThreadingTCPServer.allow_reuse_address = True
socketserver.ThreadingTCPServer((sys.argv[1], int(sys.argv[2])), Answer).serve_forever()
"""


def _bracket(address: str) -> str:
    return f"[{address}]" if ":" in address else address


# ---------------------------------------------------------------------------------------
# The lab


@dataclass
class Container:
    """A started container: its name and its address in each network it joined."""

    name: str
    addresses: dict[str, str]  # network name -> IPv4 address
    ipv6_addresses: dict[str, str]  # network name -> IPv6 address (empty without IPv6)
    published: list[tuple[str, int, str, int]]  # (host_addr, host_port, proto, container_port)

    @property
    def address(self) -> str:
        """The IPv4 address in the first network (the one given to `run`)."""
        return next(iter(self.addresses.values()))


class LabError(RuntimeError):
    """A command in the lab failed."""


class LabUnavailable(LabError):
    """The lab could not be set up at all (dockerd, namespaces, image): a reason to skip outside CI."""


def _run(argv: list[str], *, stdin: str = "", check: bool = True, timeout: float = COMMAND_TIMEOUT) -> str:
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=timeout, check=False)
    if check and done.returncode != 0:
        raise LabError(f"{' '.join(argv)!r} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


class DockerHost:
    """A dockerd in a fresh network namespace, with a client namespace on the other end of a veth.

    >>> with DockerHost() as host:                                   # doctest: +SKIP
    ...     web = host.run(publish=["8080:80"])
    ...     host.reachable(8080)
    True

    `daemon_args` adds dockerd options (e.g. `--userland-proxy=false`, or `--ipv6
    --fixed-cidr-v6=... --ip6tables --experimental`).
    """

    def __init__(self, daemon_args: tuple[str, ...] = (), *, backend: str | None = None) -> None:
        self.daemon_args = tuple(daemon_args)
        self.backend = backend  # "legacy" / "nft": force that iptables for dockerd and the lab
        tag = f"{os.getpid()}x{next(_counter)}"
        self.host_ns = f"dlh{tag}"
        self.client_ns = f"dlc{tag}"
        self.veth = f"dlv{tag}"
        self.root = Path(f"/tmp/dl{tag}")
        self.socket = self.root / "s"
        self.daemon: subprocess.Popen | None = None
        self.namespaces: list[str] = []
        self.baseline: dict[str, str] = {}
        self.client_routes: set[str] = set()
        self._serial = itertools.count()
        self.client_server: subprocess.Popen | None = None

    # -- life cycle -----------------------------------------------------------------

    def __enter__(self) -> DockerHost:
        try:
            self.start()
        except LabError as error:
            self.close()
            raise LabUnavailable(str(error)) from error
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self) -> None:
        """Namespaces, veth, dockerd, the image; then remember the pristine rule set."""
        for directory in ("data", "exec"):
            (self.root / directory).mkdir(parents=True, exist_ok=True)
        if self.backend:
            self._make_backend_links()
        self._create_namespaces()
        self._start_client_server()
        self._start_daemon()
        self._import_image()
        self.baseline = {family: self.save(family) or "" for family in ("ipv4", "ipv6")}

    def close(self) -> None:
        """Stop and delete everything this host created; never raises."""
        steps = (
            self._remove_all_containers,
            self._stop_daemon,
            self._stop_client_server,
            self._kill_leftovers,
            self._unmount_all,
        )
        for step in steps:
            with contextlib.suppress(Exception):
                step()
        for namespace in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True, check=False)
        self.namespaces.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def _create_namespaces(self) -> None:
        for namespace in (self.host_ns, self.client_ns):
            _run(["ip", "netns", "add", namespace])
            self.namespaces.append(namespace)
            _run(["ip", "-n", namespace, "link", "set", "lo", "up"])
        _run(
            [
                "ip",
                "link",
                "add",
                self.veth,
                "netns",
                self.host_ns,
                "type",
                "veth",
                "peer",
                "name",
                f"{self.veth}c",
                "netns",
                self.client_ns,
            ]
        )
        _run(["ip", "-n", self.host_ns, "link", "set", self.veth, "name", "eth0"])
        _run(["ip", "-n", self.client_ns, "link", "set", f"{self.veth}c", "name", "eth0"])
        for namespace, v4, v6 in (
            (self.host_ns, HOST_ADDR_V4, HOST_ADDR_V6),
            (self.client_ns, CLIENT_ADDR_V4, CLIENT_ADDR_V6),
        ):
            _run(["ip", "-n", namespace, "addr", "add", f"{v4}/{PREFIX_V4}", "dev", "eth0"])
            _run(["ip", "-n", namespace, "addr", "add", f"{v6}/{PREFIX_V6}", "dev", "eth0", "nodad"])
            _run(["ip", "-n", namespace, "link", "set", "eth0", "up"])
        _run(["ip", "-n", self.client_ns, "route", "add", "default", "via", HOST_ADDR_V4])
        _run(["ip", "-n", self.client_ns, "-6", "route", "add", "default", "via", HOST_ADDR_V6])

    def _start_client_server(self) -> None:
        """An HTTP server on the client (10.203.0.2:8000): what containers try to reach outbound."""
        argv = ["nsenter", f"--net=/var/run/netns/{self.client_ns}", sys.executable, "-c", CLIENT_SERVER_PROGRAM]
        argv += [CLIENT_ADDR_V4, str(CLIENT_SERVER_PORT)]
        self.client_server = subprocess.Popen(
            argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        deadline = time.monotonic() + SERVICE_READY_TIMEOUT
        ready = [("tcp", CLIENT_ADDR_V4, CLIENT_SERVER_PORT)]
        while not self._probe_in(self.host_ns, ready, attempts=1, timeout=0.5)[0]:
            if time.monotonic() > deadline or self.client_server.poll() is not None:
                raise LabError("the client's HTTP server did not start")
            time.sleep(0.1)

    def _stop_client_server(self) -> None:
        if self.client_server is not None and self.client_server.poll() is None:
            self.client_server.kill()
            self.client_server.wait(timeout=DAEMON_STOP_TIMEOUT)
        self.client_server = None

    def _start_daemon(self) -> None:
        config = self.root / "daemon.json"
        config.write_text("{}\n")
        argv = [
            "nsenter",
            f"--net=/var/run/netns/{self.host_ns}",
            "dockerd",
            "--data-root", str(self.root / "data"),
            "--exec-root", str(self.root / "exec"),
            "--pidfile", str(self.root / "dockerd.pid"),
            "--config-file", str(config),
            "-H", f"unix://{self.socket}",
            "--storage-driver", "vfs",
            "--iptables=true",
            *self.daemon_args,
        ]  # fmt: skip
        log = (self.root / "dockerd.log").open("wb")
        # nsenter execs dockerd: self.daemon.pid is dockerd's pid.
        environment = dict(os.environ)
        if self.backend:
            environment["PATH"] = f"{self.root / 'bin'}:{environment.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}"
        self.daemon = subprocess.Popen(
            argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, env=environment
        )
        log.close()
        self._wait_for_daemon()

    def _wait_for_daemon(self) -> None:
        deadline = time.monotonic() + DAEMON_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.daemon.poll() is not None:
                raise LabError(f"dockerd exited with {self.daemon.returncode}: {self.daemon_log_tail()}")
            done = subprocess.run(
                self._docker_argv("version", "--format", "{{.Server.Version}}"), capture_output=True, check=False
            )
            if done.returncode == 0:
                return
            time.sleep(0.3)
        raise LabError(f"dockerd did not answer within {DAEMON_START_TIMEOUT} s: {self.daemon_log_tail()}")

    def daemon_log_tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return " | ".join((self.root / "dockerd.log").read_text(errors="replace").splitlines()[-lines:])
        return "(no log)"

    def _import_image(self) -> None:
        tar = self.root / "image.tar"
        write_image_tar(tar)
        self.docker("import", str(tar), IMAGE)

    def _remove_all_containers(self) -> None:
        if self.daemon is None or self.daemon.poll() is not None:
            return
        ids = self.docker("ps", "-aq").split()
        if ids:
            self.docker("rm", "-f", *ids)

    def _stop_daemon(self) -> None:
        if self.daemon is None:
            return
        if self.daemon.poll() is None:
            self.daemon.send_signal(signal.SIGTERM)
            try:
                self.daemon.wait(timeout=DAEMON_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                self.daemon.wait(timeout=DAEMON_STOP_TIMEOUT)
        self.daemon = None

    def _kill_leftovers(self) -> None:
        """Kill what dockerd left behind: processes in our host namespace or naming our root.

        That is containerd, containerd-shim-runc-v2, docker-proxy and container processes
        started by this host's dockerd, never anything else.
        """
        for pid in self._our_processes():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    def _our_processes(self) -> list[int]:
        try:
            host_ns_inode = os.stat(f"/var/run/netns/{self.host_ns}").st_ino
        except OSError:
            host_ns_inode = None
        marker = str(self.root).encode()
        ours = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                in_our_ns = host_ns_inode is not None and os.stat(entry / "ns" / "net").st_ino == host_ns_inode
                if in_our_ns or marker in (entry / "cmdline").read_bytes():
                    ours.append(int(entry.name))
        return ours

    def _unmount_all(self) -> None:
        prefix = str(self.root) + "/"
        mounts = []
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            mount_point = line.split()[4]
            if mount_point.startswith(prefix):
                mounts.append(mount_point)
        for mount_point in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", mount_point], capture_output=True, check=False)

    # -- commands -------------------------------------------------------------------

    def _docker_argv(self, *args: str) -> list[str]:
        return ["docker", "-H", f"unix://{self.socket}", *args]

    def docker(self, *args: str, check: bool = True) -> str:
        """Run the docker client against this host's daemon; its stdout."""
        return _run(self._docker_argv(*args), check=check)

    def in_host(self, *argv: str, stdin: str = "", check: bool = True) -> str:
        """Run a command in the host (dockerd's) network namespace."""
        return _run(["nsenter", f"--net=/var/run/netns/{self.host_ns}", *argv], stdin=stdin, check=check)

    def in_client(self, *argv: str, stdin: str = "", check: bool = True, timeout: float = COMMAND_TIMEOUT) -> str:
        """Run a command in the client's network namespace."""
        return _run(
            ["nsenter", f"--net=/var/run/netns/{self.client_ns}", *argv], stdin=stdin, check=check, timeout=timeout
        )

    def iptables(self, *args: str, family: str = "ipv4") -> str:
        """`iptables ARGS` (or ip6tables) inside the host namespace, e.g. a user's mistake."""
        return self.in_host(self._tool("iptables" if family == "ipv4" else "ip6tables"), *args)

    def restore(self, text: str, family: str = "ipv4") -> None:
        """`iptables-restore` (or ip6tables-restore) of a whole text inside the host namespace."""
        self.in_host(self._tool("iptables-restore" if family == "ipv4" else "ip6tables-restore"), stdin=text)

    def save(self, family: str = "ipv4", *, counters: bool = False) -> str | None:
        """The `iptables-save` (or `ip6tables-save`) text of the host namespace; None when empty.

        `counters=True` adds `-c`: every rule with its [packets:bytes], to see which rules
        the probes' packets really hit.
        """
        argv = [self._tool("iptables-save" if family == "ipv4" else "ip6tables-save")]
        if counters:
            argv.append("-c")
        text = self.in_host(*argv)
        return text if text.strip() else None

    def dumps(self, *, counters: bool = False) -> dict[str, str | None]:
        return {family: self.save(family, counters=counters) for family in ("ipv4", "ipv6")}

    def _tool(self, name: str) -> str:
        """An iptables command of this host's backend (the system's alternative when none was chosen)."""
        return str(self.root / "bin" / name) if self.backend else name

    def _make_backend_links(self) -> None:
        """A bin directory whose iptables* commands are the chosen backend's; first on dockerd's PATH."""
        directory = self.root / "bin"
        directory.mkdir(parents=True, exist_ok=True)
        for family in ("iptables", "ip6tables"):
            for suffix in ("", "-save", "-restore"):
                target = shutil.which(f"{family}-{self.backend}{suffix}")
                if target is None:
                    raise LabError(f"no {family}-{self.backend}{suffix} for the {self.backend} backend")
                (directory / f"{family}{suffix}").symlink_to(target)

    def sysctl(self, key: str) -> str:
        """A sysctl of the host namespace, e.g. `net/ipv4/ip_forward`."""
        return self.in_host("cat", f"/proc/sys/{key}").strip()

    def environment(self) -> dict[str, str]:
        """The versions a recording depends on."""
        iptables_version = self.in_host(self._tool("iptables"), "--version").strip()
        return {
            "docker": self.docker("version", "--format", "{{.Server.Version}}").strip(),
            "iptables": iptables_version,
            "kernel": os.uname().release,
            "daemon_args": " ".join(self.daemon_args),
        }

    # -- networks and containers ------------------------------------------------------

    def network_create(
        self,
        name: str,
        *,
        internal: bool = False,
        icc: bool = True,
        subnet: str | None = None,
        ipv6_subnet: str | None = None,
        options: dict[str, str] | None = None,
    ) -> str:
        """`docker network create` of a bridge network; returns its name."""
        args = ["network", "create", "--driver", "bridge"]
        if internal:
            args.append("--internal")
        if subnet:
            args += ["--subnet", subnet]
        if ipv6_subnet:
            args += ["--ipv6", "--subnet", ipv6_subnet]
        all_options = dict(options or {})
        if not icc:
            all_options["com.docker.network.bridge.enable_icc"] = "false"
        for key, value in all_options.items():
            args += ["--opt", f"{key}={value}"]
        self.docker(*args, name)
        return name

    def network_subnets(self, network: str) -> list[str]:
        text = self.docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", network)
        return text.split()

    def bridge_name(self, network: str) -> str:
        """The Linux bridge of a network: docker0 for `bridge`, else br-<first 12 hex of the id>."""
        if network == "bridge":
            return "docker0"
        network_id = self.docker("network", "inspect", "--format", "{{.Id}}", network).strip()
        return f"br-{network_id[:12]}"

    def run(
        self,
        *,
        publish: list[str] | tuple[str, ...] = (),
        network: str | None = None,
        name: str | None = None,
        ip: str | None = None,
        command: tuple[str, ...] = WEB_COMMAND,
        udp_echo_port: int | None = None,
        extra_args: tuple[str, ...] = (),
        wait_ports: tuple[tuple[int, str], ...] | None = None,
    ) -> Container:
        """`docker run -d` of the lab image (busybox httpd on 80 and 81 unless told otherwise).

        `udp_echo_port` runs the UDP echo server on that port instead (with the host's /usr
        mounted read-only).  Returns once the services answer from the host namespace.
        """
        name = name or f"c{next(self._serial)}"
        args = ["run", "-d", "--name", name]
        for spec in publish:
            args += ["-p", spec]
        if network:
            args += ["--network", network]
        if ip:
            args += ["--ip", ip]
        if udp_echo_port is not None:
            args += ["-v", "/usr:/usr:ro"]
            command = udp_echo_command(udp_echo_port)
        self.docker(*args, *extra_args, IMAGE, *command)
        container = self.inspect(name)
        if wait_ports is None:
            wait_ports = (
                ((udp_echo_port, "udp"),) if udp_echo_port is not None else ((80, "tcp"), (UNPUBLISHED_PORT, "tcp"))
            )
        self._wait_for_service(container, wait_ports)
        return container

    def connect(self, network: str, container: str) -> None:
        """`docker network connect` (a container in two networks)."""
        self.docker("network", "connect", network, container)

    def inspect(self, name: str) -> Container:
        """Addresses and published ports of a container, as Docker reports them."""
        data = json.loads(self.docker("inspect", name))[0]
        networks = data["NetworkSettings"]["Networks"]
        addresses = {net: info["IPAddress"] for net, info in networks.items() if info.get("IPAddress")}
        ipv6 = {net: info["GlobalIPv6Address"] for net, info in networks.items() if info.get("GlobalIPv6Address")}
        published = []
        for key, bindings in sorted((data["NetworkSettings"].get("Ports") or {}).items()):
            container_port, proto = key.split("/")
            for binding in bindings or ():
                published.append((binding["HostIp"], int(binding["HostPort"]), proto, int(container_port)))
        return Container(name, addresses, ipv6, published)

    def _wait_for_service(self, container: Container, ports: tuple[tuple[int, str], ...]) -> None:
        """Wait until the container's services answer the host namespace (no FORWARD involved)."""
        targets = [(proto, container.address, port) for port, proto in ports]
        deadline = time.monotonic() + SERVICE_READY_TIMEOUT
        while time.monotonic() < deadline:
            if all(self._probe_in(self.host_ns, targets, attempts=1, timeout=0.5)):
                return
            time.sleep(0.2)
        raise LabError(f"container {container.name} did not serve {ports} within {SERVICE_READY_TIMEOUT} s")

    def remove_all(self) -> None:
        """Remove every container and user network, then put the pristine rules back.

        Docker removes its own rules; restoring the baseline on top undoes whatever a
        scenario's mistakes left, so the next scenario starts from the same rule set.
        """
        self._remove_all_containers()
        for network in self.docker("network", "ls", "--filter", "type=custom", "--format", "{{.Name}}").split():
            self.docker("network", "rm", network)
        for family, text in self.baseline.items():
            if text:
                self.restore(text, family)
        for subnet in sorted(self.client_routes):
            self.in_client("ip", "route", "del", subnet, check=False)
        self.client_routes.clear()

    # -- reachability -----------------------------------------------------------------

    def _probe_in(
        self,
        namespace: str,
        targets: list[tuple[str, str, int]],
        *,
        attempts: int = PROBE_ATTEMPTS,
        timeout: float = PROBE_TIMEOUT,
    ) -> list[bool]:
        if not targets:
            return []
        argv = [
            "nsenter",
            f"--net=/var/run/netns/{namespace}",
            sys.executable,
            "-c",
            PROBE_PROGRAM,
            str(timeout),
            str(attempts),
        ]
        budget = COMMAND_TIMEOUT + timeout * attempts * 2
        return json.loads(_run(argv, stdin=json.dumps(targets), timeout=budget))

    def reachable_many(self, targets: list[tuple[str, str, int]]) -> list[bool]:
        """Reachability of several (proto, address, port) from the client, tried in parallel."""
        return self._probe_in(self.client_ns, targets)

    def reachable(self, port: int, proto: str = "tcp", address: str | None = None) -> bool:
        """Whether the client gets an answer from `address:port` (default: the host's IPv4 address).

        TCP: an HTTP answer; UDP: the echo of a random token (see PROBE_PROGRAM).
        """
        return self.reachable_many([(proto, address or HOST_ADDR_V4, port)])[0]

    def route_container_subnets(self) -> None:
        """Let the client route every container subnet via the host (the direct-routing neighbour)."""
        for network in self.docker("network", "ls", "--filter", "driver=bridge", "--format", "{{.Name}}").split():
            for subnet in self.network_subnets(network):
                if subnet in self.client_routes:
                    continue
                gateway = HOST_ADDR_V6 if ":" in subnet else HOST_ADDR_V4
                self.in_client("ip", "route", "replace", subnet, "via", gateway)
                self.client_routes.add(subnet)

    def reachable_direct(self, container_ip: str, port: int, proto: str = "tcp") -> bool:
        """Whether the client reaches `container_ip:port` itself, routing container subnets via the host."""
        self.route_container_subnets()
        return self.reachable(port, proto, container_ip)

    def reachable_l2(self, address: str, port: int) -> bool:
        """Whether a TCP SYN to address:port, sent by the client as a raw frame to the host's MAC, is answered.

        This is what an L2 neighbour can do that a normal client cannot: send packets for
        127.0.0.1 (moby#41872, fixed in 28.0 by a raw-table DROP).  Only the handshake is
        tried (a SYN-ACK counts as reachable); the client's kernel resets it afterwards.
        """
        client_mac = self._mac(self.client_ns)
        host_mac = self._mac(self.host_ns)
        argv = [
            sys.executable,
            "-c",
            L2_SYN_PROGRAM,
            "eth0",
            client_mac,
            host_mac,
            CLIENT_ADDR_V4,
            address,
            str(port),
            str(PROBE_TIMEOUT),
            str(PROBE_ATTEMPTS),
        ]
        return self.in_client(*argv).strip() == "true"

    def _mac(self, namespace: str) -> str:
        return json.loads(_run(["ip", "-n", namespace, "-j", "link", "show", "eth0"]))[0]["address"]

    def container_reaches(self, container: str, address: str, port: int) -> bool:
        """Whether `container` gets an HTTP answer from address:port (busybox wget, 3 s)."""
        url = f"http://{_bracket(address)}:{port}/"
        argv = self._docker_argv("exec", container, "timeout", "3", "wget", "-q", "-O", "/dev/null", url)
        return subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT, check=False).returncode == 0

    # -- recording --------------------------------------------------------------------

    def published_reality(self, containers: list[Container]) -> list[PublishedPort]:
        """Every published port of these containers with its reachability from the client.

        An IPv4 binding is tried at the host's IPv4 address, an IPv6 one at its IPv6
        address.  The container address of an IPv6 binding is the container's IPv6
        address when it has one (ip6tables DNAT), else its IPv4 address (docker-proxy
        relays IPv6 clients to it).  All probes run in one parallel batch, after the
        container subnets were routed via the host for `direct_reachable`.
        """
        self.route_container_subnets()
        rows, targets = [], []
        for container in containers:
            for host_addr, host_port, proto, container_port in container.published:
                ipv6 = ":" in host_addr
                container_addr = next(iter(container.ipv6_addresses.values()), None) if ipv6 else container.address
                direct = container_addr is not None
                rows.append((host_addr, host_port, proto, container_addr or container.address, container_port, direct))
                targets.append((proto, HOST_ADDR_V6 if ipv6 else HOST_ADDR_V4, host_port))
                if direct:
                    targets.append((proto, container_addr, container_port))
        answers = iter(self.reachable_many(targets))
        ports = []
        for host_addr, host_port, proto, container_addr, container_port, direct in rows:
            reachable = next(answers)
            direct_reachable = next(answers) if direct else None
            ports.append(
                PublishedPort(host_addr, host_port, proto, container_addr, container_port, reachable, direct_reachable)
            )
        return ports


@contextlib.contextmanager
def rolled_back(host: DockerHost):
    """Run a block whose iptables changes are undone afterwards (snapshot and restore)."""
    snapshot = {family: host.save(family) for family in ("ipv4", "ipv6")}
    try:
        yield
    finally:
        for family, text in snapshot.items():
            if text:
                host.restore(text, family)


def format_table(scenarios: list[Scenario]) -> list[str]:
    """One line per published port and probe: the reality the kernel gave."""

    def yes_no(value: bool | None) -> str:
        return "-" if value is None else ("yes" if value else "NO")

    lines = [f"{'scenario':34} {'binding':24} {'container':22} {'outside':8} {'direct':6}"]
    for scenario in scenarios:
        for port in scenario.ports:
            binding = f"{_bracket(port.host_addr)}:{port.host_port}/{port.proto}"
            target = f"{_bracket(port.container_addr)}:{port.container_port}"
            lines.append(
                f"{scenario.name:34} {binding:24} {target:22} {yes_no(port.reachable):8} {yes_no(port.direct_reachable):6}"
            )
        for probe in scenario.probes:
            what = f"{probe.source} -> {_bracket(probe.address)}:{probe.port}/{probe.proto}"
            lines.append(f"{scenario.name:34} {what:47} {yes_no(probe.reachable):8} {probe.note}")
    return lines
