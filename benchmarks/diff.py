"""Diff benchmark: `iptlint diff` of two kube-proxy-sized dumps against one parse.

    python benchmarks/diff.py                    # 10,500 services x 3 endpoints, 1% changed
    python benchmarks/diff.py --services 2000 --skip-findings

One run:

1. generates the dump and its variant with the same seed
   (benchmarks/generate_kube_proxy.py: `--variant` replaces one endpoint in 1% of the
   services, so their KUBE-SEP chain is renamed and DNATs elsewhere);
2. times `parse()` of the first dump in a fresh interpreter (`run.time_parse`, best of N);
3. times, in another fresh interpreter, what `iptlint.semantics.diff.diff` computes, step
   by step and each step alone: parse both dumps, compare their behaviour
   (`compare_behaviour`), compare published Docker ports, and (unless --skip-findings)
   lint both from the parsed dumps, one after the other, and match findings;
4. times the whole `diff()` as `iptlint diff` runs it (best of N, each in a fresh
   interpreter; unless --skip-findings): there the two lints run in forked children
   beside the parse and the behaviour comparison (`iptlint.linter.start_lints`), so it
   takes less than the sum of the steps on two free cores; its CPU time (children
   included) is printed too;
5. prints the figures, the ratios to one parse (goal: at most 5x), the peak RSS of the
   diff process, what the diff found (changes, the services they name, the method and
   whether it is exhaustive), and one `BENCH {json}` line.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _common  # noqa: E402
import generate_kube_proxy  # noqa: E402
import run  # noqa: E402

GOAL_RATIO = 5.0

_CHILD = (
    _common.PEAK_KB
    + r"""
import json, sys, time
from collections import Counter

from iptlint.baseline import fingerprint
from iptlint.linter import LintJob, Settings, start_lints
from iptlint.semantics import diff as D
from iptlint.syntax.parser import parse

old_path, new_path, findings = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
old_text = open(old_path, encoding="utf-8").read()
new_text = open(new_path, encoding="utf-8").read()
times = {}
began = time.perf_counter()
old_result, new_result = parse(old_text, old_path), parse(new_text, new_path)
old, new = old_result.ruleset, new_result.ruleset
times["parse_both_s"] = time.perf_counter() - began
mark = time.perf_counter()
found = D.compare_behaviour(old, new)
times["behaviour_s"] = time.perf_counter() - mark
mark = time.perf_counter()
exposure = D.exposure_changes(old, new, (), {})
times["exposure_s"] = time.perf_counter() - mark
added = fixed = ()
if findings:
    mark = time.perf_counter()
    settings = Settings(check_options={"local_addresses": (), "ipsets": {}})
    jobs = [LintJob(old_text, old_path, settings, old_result), LintJob(new_text, new_path, settings, new_result)]
    before, after = start_lints(jobs, parallel=False)()  # serial: the cost of the step alone
    times["findings_s"] = time.perf_counter() - mark
    old_marks, new_marks = Counter(map(fingerprint, before)), Counter(map(fingerprint, after))
    added, fixed = list((new_marks - old_marks).elements()), list((old_marks - new_marks).elements())
times["total_s"] = time.perf_counter() - began
import ipaddress
cluster = ipaddress.ip_network("10.96.0.0/12")  # generate_kube_proxy.SERVICE_CIDR
examples = [dict(c.example) for c in found.changes]
services = sorted({(e["dst"], e.get("dport")) for e in examples if ipaddress.ip_address(e["dst"]) in cluster})
node_ports = sorted({e.get("dport") for e in examples if ipaddress.ip_address(e["dst"]) not in cluster})
print(json.dumps({
    **times,
    "maxrss_kb": peak_kb(),
    "method": found.method,
    "exhaustive": found.exhaustive,
    "walks": found.walks,
    "sites": found.sites,
    "regions": found.regions,
    "changes": len(found.changes),
    "exact_changes": sum(1 for c in found.changes if c.exact),
    "paths": {p: sum(1 for c in found.changes if c.path == p) for p in D.PATHS},
    "services": len(services),
    "node_ports": len(node_ports),
    "opened": sum(1 for c in found.changes if c.opened),
    "exposure_changes": len(exposure),
    "new_findings": len(added),
    "fixed_findings": len(fixed),
    "examples": [c.text() for c in found.changes[:2]],
}))
"""
)

# The whole `diff()`, as `iptlint diff` calls it: wall time, and CPU time with the children's.
_WHOLE = (
    _common.PEAK_KB
    + r"""
import json, os, resource, sys, time

from iptlint.semantics import diff as D

old_path, new_path = sys.argv[1], sys.argv[2]
old_text = open(old_path, encoding="utf-8").read()
new_text = open(new_path, encoding="utf-8").read()
began, cpu = time.perf_counter(), time.process_time()
found = D.diff(old_text, new_text, old_path, new_path)
wall = time.perf_counter() - began
children = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({
    "whole_s": wall,
    "whole_cpu_s": time.process_time() - cpu + children.ru_utime + children.ru_stime,
    "maxrss_kb": peak_kb(),
    "changes": len(found.changes),
    "new_findings": len(found.new_findings),
    "fixed_findings": len(found.fixed_findings),
}))
"""
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=generate_kube_proxy.DEFAULT_SERVICES)
    parser.add_argument("--endpoints", type=int, default=generate_kube_proxy.DEFAULT_ENDPOINTS)
    parser.add_argument("--seed", type=int, default=generate_kube_proxy.DEFAULT_SEED)
    parser.add_argument("-n", "--repeat", type=int, default=3, help="best of N for the parse and the whole diff (3)")
    parser.add_argument("--skip-findings", action="store_true", help="leave out the findings part (two full lints)")
    parser.add_argument("--keep", metavar="DIR", help="write the dumps here and keep them")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="iptlint-diff-bench-") as temporary:
        workdir = Path(args.keep or temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        old, new = workdir / "kube-proxy.rules", workdir / "kube-proxy-1pct.rules"
        base = generate_kube_proxy.generate(args.services, args.endpoints, args.seed)
        old.write_text(base, encoding="utf-8")
        new.write_text(generate_kube_proxy.generate(args.services, args.endpoints, args.seed, variant=True), "utf-8")
        rules = sum(1 for line in base.splitlines() if line.startswith("-A "))
        del base
        parse = run.time_parse(old, args.repeat)
        found = _common.run_child(_CHILD, str(old), str(new), "0" if args.skip_findings else "1")
        wholes = (
            [] if args.skip_findings else [_common.run_child(_WHOLE, str(old), str(new)) for _ in range(args.repeat)]
        )

    model, free = generate_kube_proxy.build_services(args.services, args.endpoints, args.seed)
    variant = generate_kube_proxy.make_variant(model, free, args.seed)
    moved = [s for s, v in zip(model, variant, strict=True) if s.endpoints != v.endpoints]
    changed, changed_node_ports = len(moved), sum(1 for s in moved if s.node_port is not None)
    one = parse["parse_s"]
    behaviour = found["parse_both_s"] + found["behaviour_s"] + found["exposure_s"]
    report = {
        "machine": _common.machine(),
        "rules": rules,
        "services": args.services,
        "services_changed": changed,
        "node_ports_changed": changed_node_ports,
        "parse_one_s": round(one, 3),
        "parse_all_s": parse["parse_all_s"],
        "diff_parse_both_s": round(found["parse_both_s"], 3),
        "diff_behaviour_s": round(found["behaviour_s"], 3),
        "diff_exposure_s": round(found["exposure_s"], 3),
        "diff_findings_s": round(found["findings_s"], 3) if "findings_s" in found else None,
        "diff_total_s": round(found["total_s"], 3),
        "ratio_without_findings": round(behaviour / one, 2),
        "ratio_steps": round(found["total_s"] / one, 2),
        "diff_peak_rss_mb": round(found["maxrss_kb"] / 1024, 1),
        **{
            key: found[key] for key in ("method", "exhaustive", "walks", "sites", "regions", "changes", "exact_changes")
        },
        **{key: found[key] for key in ("paths", "opened", "exposure_changes", "new_findings", "fixed_findings")},
    }
    whole = min(wholes, key=lambda w: w["whole_s"]) if wholes else None
    report["diff_whole_s"] = round(whole["whole_s"], 3) if whole else None
    report["diff_whole_all_s"] = [round(w["whole_s"], 3) for w in wholes]
    report["diff_whole_cpu_s"] = round(whole["whole_cpu_s"], 3) if whole else None
    report["diff_whole_peak_rss_mb"] = round(whole["maxrss_kb"] / 1024, 1) if whole else None
    report["ratio_total"] = round(whole["whole_s"] / one, 2) if whole else None
    if whole and (whole["new_findings"], whole["fixed_findings"]) != (found["new_findings"], found["fixed_findings"]):
        raise SystemExit(f"diff() and the steps disagree on the findings: {whole} {found}")
    report["changed_services_found"] = found["services"]
    report["changed_node_ports_found"] = found["node_ports"]
    report["goal_without_findings_le_5x"] = report["ratio_without_findings"] <= GOAL_RATIO
    report["goal_total_le_5x"] = None if args.skip_findings else report["ratio_total"] <= GOAL_RATIO
    print_table(report, found["examples"])
    print("BENCH " + json.dumps(report, sort_keys=True))
    return 0


def print_table(r: dict, examples: list[str]) -> None:
    findings = "skipped" if r["diff_findings_s"] is None else f"{r['diff_findings_s']:.3f} s"
    total = "findings skipped"
    whole = "findings skipped"
    if r["goal_total_le_5x"] is not None:
        total = f"{r['ratio_total']:.2f}x in all ({'ok' if r['goal_total_le_5x'] else 'MISSED'})"
        whole = (
            f"{r['diff_whole_s']:.3f} s (best of {len(r['diff_whole_all_s'])}: {r['diff_whole_all_s']}), "
            f"CPU {r['diff_whole_cpu_s']:.3f} s with the forked lints, peak RSS {r['diff_whole_peak_rss_mb']:.0f} MB"
        )
    rows = [
        ("machine", r["machine"]),
        ("dumps", f"{r['rules']:,} rules each; {r['services_changed']} of {r['services']:,} services changed"),
        ("parse() of one dump", f"{r['parse_one_s']:.3f} s (best of {len(r['parse_all_s'])})"),
        ("diff: parse both", f"{r['diff_parse_both_s']:.3f} s"),
        ("diff: behaviour", f"{r['diff_behaviour_s']:.3f} s ({r['method']}, {r['walks']:,} walks)"),
        ("diff: Docker ports", f"{r['diff_exposure_s']:.3f} s"),
        ("diff: findings (2 lints)", findings + " (serial, from the parsed dumps)"),
        (
            "sum of the steps",
            f"{r['diff_total_s']:.3f} s ({r['ratio_steps']:.2f}x), peak RSS {r['diff_peak_rss_mb']:.0f} MB",
        ),
        ("whole diff()", whole),
        (
            "ratio diff / parse",
            f"{r['ratio_without_findings']:.2f}x without findings "
            f"({'ok' if r['goal_without_findings_le_5x'] else 'MISSED'}, goal <= 5x); " + total,
        ),
        (
            "found",
            f"{r['changes']} changes ({r['opened']} opening): {r['changed_services_found']} cluster IPs "
            f"(expected {r['services_changed']}), {r['changed_node_ports_found']} node ports "
            f"(expected {r['node_ports_changed']}); per path {r['paths']}",
        ),
        (
            "exhaustive",
            f"{r['exhaustive']}: {r['sites']} changed chain pairs, {r['regions']} regions walked, "
            f"{r['exact_changes']} changes exact per cell",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for text in examples:
        print(f"  e.g. {text}")


if __name__ == "__main__":
    sys.exit(main())
