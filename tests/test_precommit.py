"""The real pre-commit tool refuses a commit of a broken dump through iptlint's hook, then accepts the fix."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

BROKEN = """*filter
:INPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
-A INPUT -j DOCKER-USER
-A INPUT -p tcp -m tcp --dport 22 -j MISSING
-A DOCKER-USER -j RETURN
COMMIT
"""
FIXED = BROKEN.replace("-j MISSING", "-j ACCEPT")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must be able to run this test: {reason}")
        pytest.skip(reason)


def _git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check)


@pytest.mark.slow
def test_pre_commit_refuses_then_accepts(tmp_path):
    pre_commit = shutil.which("pre-commit") or shutil.which("pre-commit", path=str(Path(sys.executable).parent))
    _require(pre_commit is not None, "pre-commit is not installed (pip install -e '.[dev]')")
    head = _git(ROOT, "rev-parse", "HEAD", check=False)
    _require(head.returncode == 0, "this checkout has no commit to install the hook from")

    repo = tmp_path / "infra"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "test@example.invalid")
    _git(repo, "config", "user.name", "iptlint test")
    (repo / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT}\n    rev: {head.stdout.strip()}\n    hooks:\n      - id: iptlint\n"
    )
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PRE_COMMIT_COLOR": "never"}
    subprocess.run([pre_commit, "install"], cwd=repo, env=env, check=True, capture_output=True)

    (repo / "rules.v4").write_text(BROKEN)
    _git(repo, "add", "rules.v4", ".pre-commit-config.yaml")
    refused = subprocess.run(["git", "commit", "-m", "broken"], cwd=repo, env=env, capture_output=True, text=True)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert "rules.v4:5" in output and "MISSING" in output, output

    (repo / "rules.v4").write_text(FIXED)
    _git(repo, "add", "rules.v4")
    accepted = subprocess.run(["git", "commit", "-m", "fixed"], cwd=repo, env=env, capture_output=True, text=True)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
