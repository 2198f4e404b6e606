"""Helpers shared by the benchmark scripts: a measurement in a fresh interpreter.

Each measurement runs in its own interpreter (`run_child`) so caches start cold, as for
a user, and peak memory is that process's alone: the child prints one JSON line, and
`PEAK_KB` (source to paste at the top of a child) reads its VmHWM.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# VmHWM: the peak RSS of this process image.  ru_maxrss would also count the parent's
# pages when subprocess forked (Linux keeps the larger of the two across exec).
PEAK_KB = r"""
import resource


def peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
"""


def run_child(code: str, *args: str) -> dict:
    """Run `code` in a fresh interpreter (cwd: the repository); its last line of output, as JSON.

    Adds `wall_s`, the time of the whole process.  Exits with the child's error output if it fails.
    """
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=False, cwd=ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the benchmark child failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load {load:.1f}"
