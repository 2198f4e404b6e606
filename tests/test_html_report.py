"""`iptlint report FILE -o report.html`: one self-contained page, checked in a real browser.

* The page loads nothing from anywhere: no script, no external stylesheet, image or font.
* Real headless Chromium renders it with no console message from the page (a control page
  that throws proves the check sees errors), and its DOM shows the findings, the exposure
  table, the chains and the graph (`--dump-dom`); `--screenshot` makes a picture.
  Chromium missing: skipped, failed instead under CI=true.
* Without Graphviz, the graph is the Mermaid text in a `<pre>`.

`KEEP_SCREENSHOT=1` copies the screenshot to docs/report-screenshot.png.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import in_ci

from iptlint.cli import main
from iptlint.linter import Settings
from iptlint.report import html
from iptlint.syntax.parser import parse as parse_result

ROOT = Path(__file__).resolve().parents[1]
NGINX = "examples/nginx-published.rules"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
BROWSER_TIMEOUT = 60


def requires_chromium() -> str:
    """The path of a Chromium; skips the test when there is none, fails under CI=true."""
    for name in BROWSERS:
        program = shutil.which(name)
        if program:
            return program
    if in_ci():
        pytest.fail("CI=true but Chromium is missing (apt-get install chromium)", pytrace=False)
    pytest.skip("Chromium is not installed")


def chromium(program: str, page: Path, *action: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on `page` with a profile of its own, bounded in time."""
    with tempfile.TemporaryDirectory(prefix="iptlint-chromium-") as profile:
        return subprocess.run(
            [program, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *action, page.as_uri()],
            capture_output=True,
            timeout=BROWSER_TIMEOUT,
            check=False,
            cwd=profile,
        )


def console_messages(stderr: bytes, page: Path) -> list[str]:
    """What the page wrote to the console (errors, uncaught exceptions, failed loads)."""
    lines = stderr.decode("utf-8", "replace").splitlines()
    return [line for line in lines if ":CONSOLE" in line or "Uncaught" in line or page.name in line]


def write_report(tmp_path: Path, *extra: str) -> Path:
    output = tmp_path / "report.html"
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["report", NGINX, "--local-address", "203.0.113.10", "-o", str(output), *extra])
    assert code == 0, err.getvalue()
    return output


@pytest.fixture
def in_repository(monkeypatch):
    monkeypatch.chdir(ROOT)


# ---------------------------------------------------------------------------------------
# The page itself
# ---------------------------------------------------------------------------------------


def test_the_page_is_self_contained(tmp_path, in_repository):
    page = write_report(tmp_path).read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", page, re.IGNORECASE)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", page)
    assert "<style>" in page


def test_the_page_holds_findings_exposure_chains_and_graph(tmp_path, in_repository):
    page = write_report(tmp_path).read_text()
    for text in ("X001", "exposed-port", "X003", "examples/nginx-published.rules:22"):
        assert text in page
    assert "EXPOSED" in page and "*:80/tcp" in page and "172.17.0.2:80" in page
    assert "-A DOCKER-USER -d 203.0.113.10/32 -p tcp -m tcp --dport 80 -j DROP" in page
    assert 'class="policy policy-DROP">policy DROP' in page
    if shutil.which("dot"):
        assert '<div class="graph"><svg' in page and "<?xml" not in page
    else:
        assert '<pre class="mermaid-source">flowchart LR' in page


def test_without_graphviz_the_graph_is_mermaid_text(tmp_path, monkeypatch, in_repository):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on this PATH
    page = write_report(tmp_path).read_text()
    assert '<pre class="mermaid-source">flowchart LR' in page
    assert "<svg" not in page
    assert "&quot;filter FORWARD&lt;br/&gt;policy DROP&lt;br/&gt;6 rules&quot;" in page


def test_chains_are_explained_in_plain_words(tmp_path, in_repository):
    page = write_report(tmp_path).read_text()
    assert "every forwarded packet goes through DOCKER-USER first" in page
    assert '<code class="rule">-A FORWARD -j DOCKER-USER</code>' in page


def test_without_the_explainer_chains_are_listed_as_written():
    ruleset = parse_result(
        "*filter\n:INPUT DROP [3:180]\n[5:300] -A INPUT -i lo -j ACCEPT\nCOMMIT\n", "x.rules"
    ).ruleset
    (chain,) = [c for c in html.plain_chain_texts(ruleset) if c.name == "INPUT"]
    assert chain.rules == (html.RuleText(1, "5:300", "[5:300] -A INPUT -i lo -j ACCEPT"),)  # as written
    block = html.chain_block(chain)
    assert "packets:bytes" in block and "5:300" in block and "policy DROP" in block


def test_text_is_escaped():
    data = html.collect(b"*filter\n:INPUT ACCEPT [0:0]\n:<b>x - [0:0]\nCOMMIT\n", "<i>.rules", Settings())
    page = html.render(data)
    assert "<i>.rules" not in page and "&lt;i&gt;.rules" in page
    assert "<b>x" not in page


def test_a_graph_too_large_to_read_is_not_drawn():
    chains = "".join(f":C{n} - [0:0]\n" for n in range(html.MAX_DRAWN_NODES))
    data = html.collect(f"*filter\n:INPUT ACCEPT [0:0]\n{chains}COMMIT\n".encode(), "big.rules", Settings())
    page = html.render(data)
    assert data.graph_svg is None and data.graph_mermaid == ""
    assert "too many to draw in a page" in page and "iptlint graph big.rules --format svg" in page


# ---------------------------------------------------------------------------------------
# In a real browser
# ---------------------------------------------------------------------------------------


def test_the_console_check_sees_a_page_error(tmp_path):
    program = requires_chromium()
    control = tmp_path / "control.html"
    control.write_text('<!DOCTYPE html><p>x</p><script>throw new Error("control-error")</script>')
    done = chromium(program, control, "--dump-dom")
    assert any("control-error" in line for line in console_messages(done.stderr, control))


def test_chromium_renders_the_report_without_console_errors(tmp_path, in_repository):
    program = requires_chromium()
    page = write_report(tmp_path)
    done = chromium(program, page, "--dump-dom")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert console_messages(done.stderr, page) == []
    dom = done.stdout.decode()
    assert "<h2>Findings</h2>" in dom
    for text in ("X001", "exposed-port", "X003", "direct-container-access", "EXPOSED", "Chains", "Graph"):
        assert text in dom, text
    if shutil.which("dot"):
        assert "<svg" in dom


def test_chromium_takes_a_screenshot(tmp_path, in_repository):
    program = requires_chromium()
    page = write_report(tmp_path)
    shot = tmp_path / "report.png"
    done = chromium(program, page, f"--screenshot={shot}", "--window-size=1280,2000", "--hide-scrollbars")
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    assert console_messages(done.stderr, page) == []
    picture = shot.read_bytes()
    assert picture.startswith(b"\x89PNG\r\n\x1a\n") and len(picture) > 20_000
    if os.environ.get("KEEP_SCREENSHOT") == "1":
        shutil.copyfile(shot, ROOT / "docs" / "report-screenshot.png")
