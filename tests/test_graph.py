"""`iptlint graph`: the flow graph in DOT (rendered by the real Graphviz), Mermaid and SVG.

* The DOT is valid: the real `dot` renders it without a warning (skipped when Graphviz
  is missing, failed instead under CI=true).
* The path a traced packet takes on the graph is the path `iptlint trace` reports: for
  the seed's nginx example (`examples/nginx-published.rules`), the hops marked on the
  DOT edges, followed in order, visit the chains the trace's steps visit.
* Mermaid output is compared with snapshots in `tests/snapshots/graph/` (run with
  `UPDATE_SNAPSHOTS=1` to rewrite them) and checked line by line against the flowchart
  grammar it uses.  When npm can fetch Mermaid itself (pinned, cached in
  ~/.cache/iptlint-tests), real Mermaid parses and draws it in headless Chromium; without
  npm or the registry that one test is skipped, in CI too: the grammar check stays.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import in_ci
from test_html_report import chromium, requires_chromium

from iptlint.cli import main
from iptlint.graph import PACKET_IN, PACKET_OUT, ROUTING, build
from iptlint.report import graph_dot, graph_mermaid
from iptlint.semantics.walk import packet_from_words, walk
from iptlint.syntax.parser import parse as parse_result

ROOT = Path(__file__).resolve().parents[1]
NGINX = ROOT / "examples" / "nginx-published.rules"
DOCKER_HOST = ROOT / "examples" / "docker-host.rules"
SNAPSHOTS = Path(__file__).parent / "snapshots" / "graph"
NGINX_PACKET = ["--in", "eth0", "--src", "198.51.100.7", "--dst", "203.0.113.10", "--dport", "80"]
NGINX_LOCAL = ["--local-address", "203.0.113.10"]
NGINX_PATH = (
    PACKET_IN,
    "nat/PREROUTING",
    "nat/DOCKER",
    ROUTING,
    "filter/FORWARD",
    "filter/DOCKER-USER",
    "filter/FORWARD",
    "filter/DOCKER-ISOLATION-STAGE-1",
    "filter/FORWARD",
    "filter/DOCKER",
    "nat/POSTROUTING",
    PACKET_OUT,
)
GOTO_RULES = """\
*filter
:INPUT DROP [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:SSH - [0:0]
:WEB - [0:0]
-A INPUT -p tcp -m tcp --dport 22 -g SSH
-A INPUT -p tcp -m tcp --dport 80 -j WEB
-A INPUT -p tcp -m tcp --dport 443 -j WEB
-A SSH -s 10.0.0.0/8 -j ACCEPT
-A WEB -j ACCEPT
COMMIT
"""


def parse(text: str, name: str):
    """The Ruleset of a dump's text."""
    return parse_result(text, name).ruleset


def requires_dot() -> str:
    """The path of Graphviz's `dot`; skips the test when missing, fails under CI=true."""
    program = shutil.which("dot")
    if program is None:
        if in_ci():
            pytest.fail("CI=true but Graphviz's dot is missing (apt-get install graphviz)", pytrace=False)
        pytest.skip("Graphviz's dot is not installed")
    return program


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def nginx_trace():
    ruleset = parse(NGINX.read_text(), str(NGINX.relative_to(ROOT)))
    words = {"in": "eth0", "src": "198.51.100.7", "dst": "203.0.113.10", "dport": "80"}
    return ruleset, walk(ruleset, packet_from_words(words, ruleset.family), local_addresses=["203.0.113.10"])


def dot_renders(program: str, dot_text: str) -> str:
    """SVG from the real `dot`; fails on an error or any warning."""
    done = subprocess.run([program, "-Tsvg"], input=dot_text.encode(), capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr.decode().strip() == "", done.stderr.decode()
    return done.stdout.decode()


# ---------------------------------------------------------------------------------------
# DOT is valid Graphviz
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("example", [NGINX, DOCKER_HOST], ids=lambda p: p.name)
def test_dot_renders_with_real_graphviz(example):
    program = requires_dot()
    code, dot_text, _ = run_cli("graph", str(example))
    assert code == 0
    assert dot_text.startswith("digraph iptlint {")
    assert "<svg" in dot_renders(program, dot_text)


def test_traced_dot_renders_with_real_graphviz():
    program = requires_dot()
    code, dot_text, _ = run_cli("graph", str(NGINX), *NGINX_PACKET, *NGINX_LOCAL)
    assert code == 0
    svg = dot_renders(program, dot_text)
    # Graphviz keeps `class`: each traversed edge is a `<g class="edge trace">`.
    traversed = [line for line in dot_text.splitlines() if "->" in line and 'class="trace"' in line]
    assert svg.count('class="edge trace"') == len(traversed) > 0


def test_goto_is_dashed_jump_is_solid_and_policies_are_shown():
    program = requires_dot()
    dot_text = graph_dot.render(build(parse(GOTO_RULES, "goto.rules")))
    lines = dot_text.splitlines()
    goto = next(line for line in lines if '"filter/INPUT" -> "filter/SSH"' in line)
    jump = next(line for line in lines if '"filter/INPUT" -> "filter/WEB"' in line)
    assert "style=dashed" in goto and 'label="-g line 7"' in goto
    assert "dashed" not in jump and 'label="-j lines 8, 9"' in jump
    assert 'label="filter INPUT\\npolicy DROP\\n3 rules"' in dot_text
    assert 'subgraph "cluster_user-filter"' in dot_text
    dot_renders(program, dot_text)


def test_docker_chains_are_grouped_in_a_cluster():
    dot_text = graph_dot.render(build(parse(NGINX.read_text(), "nginx.rules")))
    docker = dot_text[dot_text.index('subgraph "cluster_docker"') :]
    for chain in ("filter/DOCKER-USER", "filter/DOCKER-ISOLATION-STAGE-1", "filter/DOCKER", "nat/DOCKER"):
        assert f'"{chain}" [label=' in docker
    assert '"filter/FORWARD" [label=' not in docker


def test_hooks_are_in_the_kernel_order():
    dot_text = graph_dot.render(build(parse(DOCKER_HOST.read_text(), "host.rules")))
    hooks = re.findall(r'subgraph "cluster_hook-([A-Z]+)"', dot_text)
    assert hooks == ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]


# ---------------------------------------------------------------------------------------
# The highlighted path is the path `iptlint trace` reports
# ---------------------------------------------------------------------------------------


def path_from_trace_json(trace_json: dict) -> list[str]:
    """The chains `iptlint trace --format json` visits, in order, as graph node ids."""
    visited = [PACKET_IN if trace_json["origin"] == "incoming" else "LOCAL"]
    for step in trace_json["steps"]:
        if step["kind"] == "skip":
            continue
        node = ROUTING if step["kind"] == "route" else f"{step['table']}/{step['chain']}"
        if node != visited[-1]:
            visited.append(node)
    return visited


def path_from_dot(dot_text: str) -> list[str]:
    """The highlighted path read back from the DOT: its hops sorted by number, followed."""
    hops: dict[int, tuple[str, str]] = {}
    edge = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[.*class="trace" comment="hops ([0-9,]+)"')
    for line in dot_text.splitlines():
        found = edge.match(line)
        if found:
            for number in found.group(3).split(","):
                hops[int(number)] = (found.group(1), found.group(2))
    assert sorted(hops) == list(range(1, len(hops) + 1)), "hop numbers must run 1..N without a gap"
    path = [hops[1][0]]
    for number in sorted(hops):
        source, target = hops[number]
        assert source == path[-1], f"hop {number} starts at {source}, the packet was at {path[-1]}"
        path.append(target)
    return path


def test_highlighted_path_equals_the_trace_of_the_nginx_example():
    code, trace_text, _ = run_cli("trace", str(NGINX), *NGINX_PACKET, *NGINX_LOCAL, "--format", "json")
    assert code == 0
    trace_json = json.loads(trace_text)
    code, dot_text, _ = run_cli("graph", str(NGINX), "--trace", *NGINX_PACKET, *NGINX_LOCAL)
    assert code == 0
    highlighted = path_from_dot(dot_text)
    assert highlighted[:-1] == path_from_trace_json(trace_json)  # the trace JSON has no "packet out" step
    assert tuple(highlighted) == NGINX_PATH
    assert trace_json["verdict"] == "ACCEPT"
    assert "verdict: ACCEPT by " in dot_text and "nginx-published.rules:44 (filter DOCKER)" in dot_text


def test_nodes_are_numbered_in_visiting_order():
    ruleset, trace = nginx_trace()
    graph = build(ruleset, trace)
    assert graph.path == NGINX_PATH
    assert graph.node("filter/FORWARD").visits == (5, 7, 9)
    assert graph.node("filter/DOCKER-ISOLATION-STAGE-2").visits == ()
    assert 'label="filter FORWARD\\npolicy DROP\\n6 rules\\n#5, #7, #9"' in graph_dot.render(graph)


def test_a_dropped_packet_ends_at_the_verdict():
    ruleset = parse(NGINX.read_text(), "nginx.rules")
    words = {"in": "eth0", "src": "198.51.100.7", "dst": "203.0.113.10", "dport": "8080"}
    trace = walk(ruleset, packet_from_words(words, ruleset.family), local_addresses=["203.0.113.10"])
    graph = build(ruleset, trace)
    assert trace.verdict == "DROP"
    assert graph.path == (
        PACKET_IN,
        "nat/PREROUTING",
        "nat/DOCKER",
        "nat/PREROUTING",
        ROUTING,
        "filter/INPUT",
        "VERDICT",
    )
    assert graph.verdict_text == "DROP by the policy of filter INPUT"
    last = next(edge for edge in graph.edges if edge.target == "VERDICT")
    assert last.source == "filter/INPUT" and last.label == "policy DROP"


def test_an_undetermined_packet_ends_at_the_verdict_with_what_was_unknown():
    ruleset = parse(NGINX.read_text(), "nginx.rules")
    trace = walk(ruleset, packet_from_words({"in": "eth0", "dport": "80"}, ruleset.family))
    graph = build(ruleset, trace)
    assert trace.verdict == "UNKNOWN"
    assert graph.path == (PACKET_IN, "nat/PREROUTING", "VERDICT")
    last = next(edge for edge in graph.edges if edge.target == "VERDICT")
    assert last.label.startswith("unknown: ") and last.hops == (2,)


def test_a_packet_the_host_sends_starts_at_the_local_process():
    ruleset = parse(NGINX.read_text(), "nginx.rules")
    packet = packet_from_words({"src": "203.0.113.10", "dst": "198.51.100.7", "dport": "443"}, ruleset.family)
    trace = walk(ruleset, packet, local_addresses=["203.0.113.10"])
    graph = build(ruleset, trace)
    assert graph.path == ("LOCAL", "nat/OUTPUT", "filter/OUTPUT", "nat/POSTROUTING", PACKET_OUT)
    assert all(edge.kind == "flow" for edge in graph.edges if edge.traversed)


# ---------------------------------------------------------------------------------------
# Mermaid
# ---------------------------------------------------------------------------------------

MERMAID_LINE = re.compile(
    r"""^(
        flowchart\ LR
      | %%\ .*
      | \s*subgraph\ [A-Za-z0-9_]+\["[^"]*"\]
      | \s*end
      | \s*n\d+(\["[^"]*"\]|\(\["[^"]*"\]\)|\{"[^"]*"\}|\{\{"[^"]*"\}\})
      | \s*n\d+\ (-->|-\.->|==>)(\|"[^"]*"\|)?\ n\d+
      | \s*classDef\ [a-z]+\ [a-z-]+:[^ ]+
      | \s*class\ n\d+(,n\d+)*\ [a-z]+
      | \s*linkStyle\ \d+(,\d+)*\ [a-z-]+:.+
    )$""",
    re.VERBOSE,
)


def assert_plausible_mermaid(text: str) -> None:
    """Every line is one of the flowchart statements used; subgraphs close; edges join defined nodes."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    for line in lines:
        assert MERMAID_LINE.match(line), f"not a Mermaid statement: {line!r}"
    opened = sum(1 for line in lines if line.strip().startswith("subgraph "))
    assert opened == sum(1 for line in lines if line.strip() == "end")
    defined = set(re.findall(r"^\s*(n\d+)[\[\(\{]", text, re.MULTILINE))
    edges = re.findall(r"^\s*(n\d+) \S+ (n\d+)$", re.sub(r'\|"[^"]*"\|', "", text), re.MULTILINE)
    for source, target in edges:
        assert source in defined and target in defined
    for styled in re.findall(r"^\s*linkStyle ([\d,]+)", text, re.MULTILINE):
        assert all(int(index) < len(edges) for index in styled.split(","))


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"{path} did not exist and was written: review it and run again")
    assert actual == path.read_text(), f"{name} changed; UPDATE_SNAPSHOTS=1 rewrites {path}"


def test_mermaid_of_the_docker_host():
    code, text, _ = run_cli("graph", str(DOCKER_HOST.relative_to(ROOT)), "--format", "mermaid")
    assert code == 0
    assert_plausible_mermaid(text)
    assert_snapshot("docker-host.mmd", text)


def test_mermaid_of_the_nginx_trace(monkeypatch):
    monkeypatch.chdir(ROOT)
    code, text, _ = run_cli(
        "graph", "examples/nginx-published.rules", "--format", "mermaid", *NGINX_PACKET, *NGINX_LOCAL
    )
    assert code == 0
    assert_plausible_mermaid(text)
    assert "%% verdict: ACCEPT by examples/nginx-published.rules:44 (filter DOCKER)" in text
    assert re.search(r"^  linkStyle [\d,]+ stroke:#d9480f", text, re.MULTILINE)
    assert_snapshot("nginx-trace.mmd", text)


def test_the_docs_show_the_nginx_trace_as_it_is_now():
    docs = (ROOT / "docs" / "graph.md").read_text()
    block = re.search(r"```mermaid\n(.*?)```", docs, re.DOTALL)
    assert block is not None
    assert block.group(1) == (SNAPSHOTS / "nginx-trace.mmd").read_text()


def test_mermaid_escapes_quotes_and_markup():
    ruleset, trace = nginx_trace()
    text = graph_mermaid.render(build(ruleset, trace))
    assert_plausible_mermaid(text)
    assert graph_mermaid.text('a "b" <c>\nd') == '"a #quot;b#quot; #lt;c#gt;<br/>d"'


MERMAID_VERSION = "11.17.2"
MERMAID_RUNNER = """
mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
mermaid.parse(document.querySelector("pre.mermaid").textContent)
  .then(() => mermaid.run())
  .then(() => document.body.setAttribute("data-result", "rendered"),
        (error) => document.body.setAttribute("data-result", "error: " + String((error && error.message) || error)));
"""


def mermaid_script() -> str:
    """mermaid.min.js of the pinned version, fetched once with `npm pack`; skips when that cannot be done."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "iptlint-tests"
    script = cache / f"mermaid-{MERMAID_VERSION}.min.js"
    if script.is_file():
        return script.read_text()
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed: real Mermaid not fetched (the grammar check still runs)")
    with tempfile.TemporaryDirectory(prefix="iptlint-mermaid-") as work:
        done = subprocess.run(
            [npm, "pack", f"mermaid@{MERMAID_VERSION}", "--silent"],
            cwd=work,
            capture_output=True,
            timeout=180,
            check=False,
        )
        packed = sorted(Path(work).glob("mermaid-*.tgz"))
        if done.returncode != 0 or not packed:
            pytest.skip(f"npm pack mermaid@{MERMAID_VERSION} failed: {done.stderr.decode()[-300:]}")
        with tarfile.open(packed[0]) as archive:
            member = archive.extractfile("package/dist/mermaid.min.js")
            assert member is not None
            text = member.read().decode("utf-8")
    cache.mkdir(parents=True, exist_ok=True)
    script.write_text(text)
    return text


def drawn_by_mermaid(program: str, source: str, page: Path) -> str:
    """What real Mermaid says of `source` in headless Chromium: `rendered` or `error: ...`."""
    script = mermaid_script().replace("</script", "<\\/script")
    page.write_text(
        f'<!DOCTYPE html><html><body><pre class="mermaid">{html.escape(source)}</pre>'
        f"<script>{script}</script><script>{MERMAID_RUNNER}</script></body></html>"
    )
    done = chromium(program, page, "--virtual-time-budget=15000", "--dump-dom")
    found = re.search(r'data-result="([^"]*)"', done.stdout.decode())
    return html.unescape(found.group(1)) if found else "no result"


def test_real_mermaid_draws_the_graphs(tmp_path):
    program = requires_chromium()
    ruleset, trace = nginx_trace()
    traced = graph_mermaid.render(build(ruleset, trace))
    plain = graph_mermaid.render(build(parse(DOCKER_HOST.read_text(), "host.rules")))
    assert drawn_by_mermaid(program, traced, tmp_path / "traced.html") == "rendered"
    assert drawn_by_mermaid(program, plain, tmp_path / "plain.html") == "rendered"
    # The control: Mermaid does refuse a broken flowchart, so "rendered" means something.
    broken = traced.replace("-->|", "-->|(", 1)
    assert drawn_by_mermaid(program, broken, tmp_path / "broken.html").startswith("error")


# ---------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------


def test_svg_format_writes_an_svg_file(tmp_path):
    requires_dot()
    output = tmp_path / "graph.svg"
    code, _, _ = run_cli("graph", str(NGINX), "--format", "svg", *NGINX_PACKET, *NGINX_LOCAL, "-o", str(output))
    assert code == 0
    svg = output.read_text()
    assert "<svg" in svg and 'class="edge trace"' in svg


def test_svg_without_graphviz_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    code, out, err = run_cli("graph", str(NGINX), "--format", "svg")
    assert code == 2
    assert out == ""
    assert err == "iptlint: install graphviz: apt-get install graphviz\n"


def test_a_bad_packet_option_is_a_usage_error():
    code, _, err = run_cli("graph", str(NGINX), "--dport", "eighty")
    assert code == 2
    assert err.startswith("iptlint: ") and len(err.splitlines()) == 1
