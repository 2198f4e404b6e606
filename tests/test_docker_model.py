"""The Docker model read from real recorded layouts (../shared/corpus/real/moby-docker)."""

from pathlib import Path

import pytest

from iptlint.docker.model import detect_generation, read
from iptlint.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[1]
MOBY = ROOT.parent / "shared" / "corpus" / "real" / "moby-docker"


def model_of(name: str):
    path = MOBY / name
    if not path.exists():
        pytest.skip(f"{path} is not there (../shared is missing)")
    return read(parse(path.read_text(), str(path)).ruleset)


@pytest.mark.parametrize(
    ("prefix", "generation"),
    [
        ("v27-era", "v18-27"),
        ("first-2024-10-10", "v18-27"),
        ("v28.0.0", "v28.0"),
        ("v28.5.2", "v28"),
        ("v29-dev", "v29"),
    ],
)
def test_generation_of_every_recorded_layout(prefix, generation):
    files = sorted(MOBY.glob(f"{prefix}*iptablesdoc*.rules"))
    if not files:
        pytest.skip("../shared is missing")
    for path in files:
        assert detect_generation(parse(path.read_text(), str(path)).ruleset) == generation, path.name


def test_usernet_portmap_bridges_and_port():
    model = model_of("v28.5.2__iptablesdoc__usernet-portmap.rules")
    assert [b.name for b in model.bridges] == ["docker0", "bridge1"]
    assert [str(s) for s in model.bridge("bridge1").subnets] == ["192.0.2.0/24"]
    (port,) = model.ports
    assert port.describe() == "*:8080/tcp -> 192.0.2.2:80"
    assert port.bridge == "bridge1"
    assert port.accept is not None and port.accept.chain == "DOCKER"


def test_loopback_binding_and_internal_and_noicc():
    assert model_of("v28.5.2__iptablesdoc__usernet-portmap-lo.rules").ports[0].loopback_only
    internal = model_of("v28.5.2__iptablesdoc__usernet-internal.rules")
    assert internal.bridge("bridgeICC").internal and internal.bridge("bridgeICC").icc
    assert not internal.bridge("bridgeNoICC").icc
    assert not model_of("first-2024-10-10__iptablesdoc__usernet-portmap-noicc.rules").bridge("bridge1").icc


def test_hairpin_and_missing_accept():
    g2 = model_of("first-2024-10-10__iptablesdoc__usernet-portmap.rules")
    assert g2.ports[0].hairpin is not None
    unprotected = model_of("v28.5.2__iptablesdoc__usernet-portmap-natunprot.rules")
    assert unprotected.ports[0].accept is None


def test_swarm_ingress_port():
    (port,) = model_of("v28.5.2__iptablesdoc__swarm-portmap.rules").ports
    assert port.ingress and port.describe() == "*:8080/tcp -> 172.18.0.2:8080"


def test_no_docker_no_model():
    text = "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
    assert read(parse(text).ruleset) is None


def test_example_host():
    model = read(parse((ROOT / "examples" / "docker-host.rules").read_text()).ruleset)
    assert model.generation == "v18-27"
    assert [p.describe() for p in model.ports] == ["*:8080/tcp -> 172.17.0.2:80"]
