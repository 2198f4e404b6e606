"""Scale benchmark: the R checks (reachability) on a kube-proxy-sized dump, against iptables-restore.

    python benchmarks/reach.py                      # 10,500 services (and 1,050 for the growth)
    python benchmarks/reach.py --services 2000 --repeat 3

One run:

1. generates two dumps with benchmarks/generate_kube_proxy.py: N/10 and N services
   (the rule counts differ by 10x);
2. for each, in a fresh interpreter: parses (timed apart), then times the full
   R-analysis: `Analysis.reachability` (the walk of every chain), then R001, R002,
   R003 and R004 run to completion (best of `--repeat`);
3. times `iptables-nft-restore --test` on the large file in a throwaway network
   namespace (created for the run, always deleted; needs root), best of `--repeat`;
4. prints the figures: the ratio R-analysis / restore (goal <= 3x) and the growth
   from N/10 to N services (goal <= 12x for 10x the rules), then one JSON line
   prefixed `BENCH `.  Nothing is asserted: the numbers are for people and CI logs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import generate_kube_proxy  # noqa: E402

GOAL_RATIO = 3.0
GOAL_GROWTH = 12.0
R_CODES = ("R001", "R002", "R003", "R004")

# Run in a fresh interpreter: parse (timed apart), then the R-analysis (timed), report.
_CHILD = r"""
import json, sys, time
from iptlint import checks
from iptlint.analysis import Analysis
from iptlint.syntax.parser import parse
with open(sys.argv[1], encoding="utf-8") as handle:
    text = handle.read()
began = time.perf_counter()
result = parse(text, sys.argv[1])
parsed, parsed_cpu = time.perf_counter(), time.process_time()
analysis = Analysis(result.ruleset)
reachability = analysis.reachability
walked = time.perf_counter()
counts = {code: sum(1 for _ in checks.module(code).check(analysis)) for code in sys.argv[2].split(",")}
ended, ended_cpu = time.perf_counter(), time.process_time()
print(json.dumps({
    "parse_s": parsed - began,
    "walk_s": walked - parsed,
    "r_s": ended - parsed,
    "r_cpu_s": ended_cpu - parsed_cpu,
    "rules": sum(len(c.rules) for t in result.ruleset.tables for c in t.chains),
    "chains": sum(len(t.chains) for t in result.ruleset.tables),
    "findings": counts,
}))
"""


def time_r_analysis(path: Path, repeat: int) -> dict:
    """Best of `repeat` fresh interpreters: parse time and R-analysis time."""
    runs = []
    for _ in range(repeat):
        done = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), ",".join(R_CODES)],
            capture_output=True,
            text=True,
            check=False,
            cwd=ROOT,
        )
        if done.returncode != 0:
            raise SystemExit(f"the R-analysis failed:\n{done.stderr}")
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda run: run["r_s"])
    best["r_all_s"] = [round(run["r_s"], 3) for run in runs]
    return best


def time_restore(path: Path, repeat: int, tool: str = "iptables-nft-restore") -> dict:
    """Best wall time of `tool --test path` in a throwaway network namespace, or why not."""
    if shutil.which(tool) is None:
        return {"error": f"{tool} is not installed"}
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return {"error": "needs root and iproute2 for a network namespace"}
    namespace = f"iptlint-reach-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(["ip", "netns", "add", namespace], capture_output=True, text=True, check=False)
    if created.returncode != 0:
        return {"error": f"ip netns add: {created.stderr.strip()}"}
    try:
        times, cpu_times = [], []
        for _ in range(repeat):
            started, before = time.perf_counter(), _children_cpu()
            done = subprocess.run(
                ["ip", "netns", "exec", namespace, tool, "--test", str(path)],
                capture_output=True,
                text=True,
                check=False,
            )
            elapsed = time.perf_counter() - started
            if done.returncode != 0:
                return {"error": f"{tool} --test failed: {done.stderr.strip()[:300]}"}
            times.append(elapsed)
            cpu_times.append(_children_cpu() - before)
        return {"s": min(times), "cpu_s": min(cpu_times), "all_s": [round(t, 3) for t in times]}
    finally:
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (ip netns exec and the tool)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def write_dump(directory: Path, services: int, endpoints: int, seed: int) -> tuple[Path, int]:
    path = directory / f"kube-proxy-{services}.rules"
    text = generate_kube_proxy.generate(services, endpoints, seed)
    path.write_text(text, encoding="utf-8")
    return path, sum(1 for line in text.splitlines() if line.startswith("-A "))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=generate_kube_proxy.DEFAULT_SERVICES)
    parser.add_argument("--endpoints", type=int, default=generate_kube_proxy.DEFAULT_ENDPOINTS)
    parser.add_argument("--seed", type=int, default=generate_kube_proxy.DEFAULT_SEED)
    parser.add_argument("-n", "--repeat", type=int, default=1, help="best of N (default 1)")
    parser.add_argument("--skip-restore", action="store_true", help="do not run iptables-nft-restore")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="iptlint-reach-") as temporary:
        directory = Path(temporary)
        small_path, small_rules = write_dump(directory, max(args.services // 10, 1), args.endpoints, args.seed)
        large_path, large_rules = write_dump(directory, args.services, args.endpoints, args.seed)
        small = time_r_analysis(small_path, args.repeat)
        large = time_r_analysis(large_path, args.repeat)
        restore = {"error": "skipped"} if args.skip_restore else time_restore(large_path, args.repeat)

    ratio = large["r_s"] / restore["s"] if "s" in restore else None
    cpu_ratio = large["r_cpu_s"] / restore["cpu_s"] if "cpu_s" in restore else None
    growth = large["r_s"] / small["r_s"]
    cpu_growth = large["r_cpu_s"] / small["r_cpu_s"]
    report = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.1f}",
        "small_rules": small_rules,
        "large_rules": large_rules,
        "small": small,
        "large": large,
        "nft_restore_test_s": round(restore["s"], 3) if "s" in restore else None,
        "restore_error": restore.get("error"),
        "nft_restore_test_cpu_s": round(restore["cpu_s"], 3) if "cpu_s" in restore else None,
        "ratio_r_vs_restore": round(ratio, 2) if ratio is not None else None,
        "cpu_ratio_r_vs_restore": round(cpu_ratio, 2) if cpu_ratio is not None else None,
        "rule_growth": round(large_rules / small_rules, 2),
        "time_growth": round(growth, 2),
        "cpu_growth": round(cpu_growth, 2),
        "goals": {
            "r_le_3x_restore": ratio is not None and ratio <= GOAL_RATIO,
            "growth_le_12x": growth <= GOAL_GROWTH,
        },
    }
    print_table(report)
    print("BENCH " + json.dumps(report, sort_keys=True))
    return 0


def print_table(r: dict) -> None:
    def ok(flag: bool) -> str:
        return "ok" if flag else "MISSED"

    small, large = r["small"], r["large"]
    rows = [
        ("machine", r["machine"], ""),
        ("dumps", f"{r['small_rules']:,} and {r['large_rules']:,} rules ({r['rule_growth']:.1f}x)", ""),
        ("parse (not in the R time)", f"{small['parse_s']:.2f} s and {large['parse_s']:.2f} s", ""),
        ("R-analysis, small", f"{small['r_s']:.2f} s (walk {small['walk_s']:.2f} s, CPU {small['r_cpu_s']:.2f} s)", ""),
        ("R-analysis, large", f"{large['r_s']:.2f} s (walk {large['walk_s']:.2f} s, CPU {large['r_cpu_s']:.2f} s)", ""),
        (
            "iptables-nft-restore --test",
            f"{r['nft_restore_test_s']:.2f} s (CPU {r['nft_restore_test_cpu_s']:.2f} s)"
            if r["nft_restore_test_s"] is not None
            else r["restore_error"],
            "",
        ),
        (
            "ratio R-analysis / restore",
            f"{r['ratio_r_vs_restore']:.2f}x wall, {r['cpu_ratio_r_vs_restore']:.2f}x CPU"
            if r["ratio_r_vs_restore"] is not None
            else "n/a",
            ok(r["goals"]["r_le_3x_restore"]) + f" (goal <= {GOAL_RATIO:.0f}x, wall)",
        ),
        (
            "growth for 10x the services",
            f"{r['time_growth']:.1f}x time ({r['cpu_growth']:.1f}x CPU) for {r['rule_growth']:.1f}x rules",
            ok(r["goals"]["growth_le_12x"]) + f" (goal <= {GOAL_GROWTH:.0f}x)",
        ),
        ("findings (large)", ", ".join(f"{code} {count}" for code, count in large["findings"].items()), ""),
    ]
    width = max(len(name) for name, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    for name, value, verdict in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {verdict}".rstrip())


if __name__ == "__main__":
    sys.exit(main())
