"""Startup benchmark: `iptlint check` on a small Docker dump, end to end, in fresh processes.

    python benchmarks/startup.py                   # both dumps below, median of 15 each
    python benchmarks/startup.py -n 30 FILE

By default two dumps: the bundled example (examples/docker-host.rules, 23 rules, one
published port) and a 50-rule Docker 20.10 dump made from it with nine more published
ports (`docker_dump`: each container's hairpin MASQUERADE, DNAT and ACCEPT, as Docker
writes them), the size issue 2's goal names.

Issue 2's goal: `iptlint check` of a 50-rule Docker dump in at most 150 ms, end to end.
A small check is all startup: imports, the grammar, the built-in Docker policies, the
analysis.  Each figure is a new `python -m iptlint check FILE` process, timed from the
parent (wall) and by the kernel (user + system CPU of the child, `os.wait4`):

- floor: `python -c pass` in the same environment, the least any Python CLI can take;
- cold:  an empty iptlint cache directory (`IPTLINT_CACHE_DIR`), as on the first run
  after installing or upgrading: the grammar is compiled and the policies read;
- warm:  the cache filled by an earlier run, as for every later run;
- no-cache: `--no-cache`, every run as if it were the first.

The kinds of run are interleaved, so the machine's load (2 shared cores) weighs on each
alike; medians, each figure's ratio to the floor, and the best wall time (the nearest to
an idle machine) are printed.  Python's own
bytecode is written once before timing (into a temporary `PYTHONPYCACHEPREFIX`), as pip
does at install time: a user never pays for compiling iptlint's modules on each run.
The last line is `BENCH {json}` for machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_MS = 150.0
DEFAULT_FILE = ROOT / "examples" / "docker-host.rules"


def docker_dump(extra_ports: int = 9) -> str:
    """The example with `extra_ports` more containers (172.17.0.3...), each published as Docker does.

    Every container adds three rules (hairpin MASQUERADE, DNAT, ACCEPT): 23 + 3 * 9 = 50.
    """
    lines = DEFAULT_FILE.read_text(encoding="utf-8").splitlines()
    hairpin = "-A POSTROUTING -s 172.17.0.2/32 -d 172.17.0.2/32 -p tcp -m tcp --dport 80 -j MASQUERADE"
    dnat = "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80"
    accept = "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT"
    added = {hairpin: [], dnat: [], accept: []}
    for n in range(3, 3 + extra_ports):
        address = f"172.17.0.{n}"
        added[hairpin].append(hairpin.replace("172.17.0.2", address))
        added[dnat].append(dnat.replace("172.17.0.2", address).replace("8080", str(8080 + n)))
        added[accept].append(accept.replace("172.17.0.2", address))
    out = []
    for line in lines:
        out.append(line)
        out.extend(added.get(line, ()))
    if sum(map(len, added.values())) != 3 * extra_ports or not all(rule in lines for rule in added):
        raise SystemExit("startup.py: examples/docker-host.rules no longer has the rules docker_dump copies")
    return "\n".join(out) + "\n"


def child_env(pycache: Path) -> dict[str, str]:
    """The environment of every timed process: bytecode kept in `pycache`, this checkout first on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "IPTLINT_NO_CACHE")}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(ROOT), env.get("PYTHONPATH"))))
    return env


def cache_env(env: dict[str, str], directory: Path) -> dict[str, str]:
    """`env` with iptlint's cache in `directory` (XDG_CACHE_HOME too, for versions without IPTLINT_CACHE_DIR)."""
    return {**env, "IPTLINT_CACHE_DIR": str(directory / "iptlint"), "XDG_CACHE_HOME": str(directory)}


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int, bytes]:
    """(wall s, CPU s of the child, exit code, stdout) of one process."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=ROOT)
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    child.stdout.close()
    return wall, usage.ru_utime + usage.ru_stime, child.returncode, output


def measure(dump: Path, runs: int, extra: tuple[str, ...] = ()) -> dict:
    """Median wall and CPU ms of floor, cold, warm and no-cache runs of `iptlint check DUMP`."""
    check = [sys.executable, "-m", "iptlint", "check", str(dump), *extra]
    floor = [sys.executable, "-c", "pass"]
    samples: dict[str, list[tuple[float, float]]] = {"floor": [], "cold": [], "warm": [], "no_cache": []}
    outputs: dict[str, set[bytes]] = {"cold": set(), "warm": set(), "no_cache": set()}
    with tempfile.TemporaryDirectory(prefix="iptlint-startup-") as scratch:
        base = Path(scratch)
        env = child_env(base / "pycache")
        warm_env = cache_env(env, base / "warm")
        first = run_once(check, warm_env)  # writes the bytecode and fills the warm cache; not timed
        if first[2] not in (0, 1):
            return {"error": f"`iptlint check` exited {first[2]}"}
        for i in range(runs):
            cold_dir = base / f"cold-{i}"
            kinds = (
                ("floor", floor, env),
                ("cold", check, cache_env(env, cold_dir)),
                ("warm", check, warm_env),
                ("no_cache", [*check, "--no-cache"], warm_env),
            )
            for kind, argv, kind_env in kinds:
                wall, cpu, _code, output = run_once(argv, kind_env)
                samples[kind].append((wall, cpu))
                if kind in outputs:
                    outputs[kind].add(output)
            shutil.rmtree(cold_dir, ignore_errors=True)
    result: dict = {"runs": runs, "file": str(dump.relative_to(ROOT) if dump.is_relative_to(ROOT) else dump)}
    for kind, values in samples.items():
        result[f"{kind}_wall_ms"] = round(statistics.median(w for w, _ in values) * 1000, 1)
        result[f"{kind}_cpu_ms"] = round(statistics.median(c for _, c in values) * 1000, 1)
        result[f"{kind}_best_wall_ms"] = round(min(w for w, _ in values) * 1000, 1)
        result[f"{kind}_all_wall_ms"] = [round(w * 1000, 1) for w, _ in values]
    for kind in ("cold", "warm", "no_cache"):
        result[f"{kind}_wall_x_floor"] = round(result[f"{kind}_wall_ms"] / result["floor_wall_ms"], 2)
        result[f"{kind}_cpu_x_floor"] = round(result[f"{kind}_cpu_ms"] / max(result["floor_cpu_ms"], 0.1), 2)
    result["same_output"] = len(set().union(*outputs.values())) == 1
    result["rules"] = sum(1 for line in dump.open(encoding="utf-8", errors="replace") if line.startswith("-A"))
    result["goal_warm_le_150ms"] = result["warm_wall_ms"] <= GOAL_MS
    return result


def print_table(r: dict) -> None:
    print(f"iptlint check {r['file']} ({r['rules']} rules), median of {r['runs']}, load {os.getloadavg()[0]:.1f}")
    print(f"{'':22}{'wall ms':>9}{'x floor':>9}{'CPU ms':>9}{'x floor':>9}{'best wall':>11}")
    for kind, label in (
        ("floor", "python -c pass"),
        ("cold", "cold (empty cache)"),
        ("warm", "warm"),
        ("no_cache", "--no-cache"),
    ):
        wall, cpu = r[f"{kind}_wall_ms"], r[f"{kind}_cpu_ms"]
        wx = r.get(f"{kind}_wall_x_floor", 1.0)
        cx = r.get(f"{kind}_cpu_x_floor", 1.0)
        print(f"{label:22}{wall:9.1f}{wx:9.2f}{cpu:9.1f}{cx:9.2f}{r[f'{kind}_best_wall_ms']:11.1f}")
    verdict = "ok" if r["goal_warm_le_150ms"] else "MISSED"
    print(
        f"goal: warm <= {GOAL_MS:.0f} ms wall: {verdict}; cold, warm and --no-cache outputs identical: {r['same_output']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", type=Path, help="the dump to check (default: the two above)")
    parser.add_argument("-n", "--runs", type=int, default=15, help="runs of each kind, median (default 15)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iptlint-startup-dump-") as scratch:
        if args.file is not None:
            files = [args.file.resolve()]
        else:
            fifty = Path(scratch) / "docker-50-rules.rules"
            fifty.write_text(docker_dump(), encoding="utf-8")
            files = [DEFAULT_FILE, fifty]
        results = []
        for path in files:
            result = measure(path, args.runs)
            if "error" in result:
                print(f"startup.py: {result['error']}", file=sys.stderr)
                return 1
            print_table(result)
            print("BENCH " + json.dumps(result, sort_keys=True))
            results.append(result)
    return 0 if all(r["same_output"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
