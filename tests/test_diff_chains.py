"""`iptlint diff` chain by chain (`iptlint.semantics.diff_chains`), the method for large dumps.

(a) Random rewrites of real corpus dumps (those of test_diff.py): meaning-preserving
    ones are "no change" by the chains method too, and whenever the cells method (exact
    per cell) reports a change, so does the chains method: no packet that differs lies
    outside the regions it walks.
(b) Generated kube-proxy dumps: the changes name exactly the services whose endpoint
    changed, as a new DNAT destination among the random choices; renaming every
    KUBE-SEP chain, or reordering a service's endpoints (same probabilities per
    position), is no change and leaves no changed chain to walk.
"""

from __future__ import annotations

import random
import re
import sys
from collections import Counter
from pathlib import Path

from conftest import report_summary, requires_corpus
from diff_mutations import CHANGING, FILES, PRESERVING, REAL, SEED, first_applicable, load, ruleset_of

from iptlint.semantics import diff as D  # noqa: N812
from iptlint.semantics import diff_chains as C  # noqa: N812

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate_kube_proxy as K  # noqa: N812

PAIRS_PER_FILE = 10


def test_rewrites_of_real_dumps_agree_with_the_cells() -> None:
    requires_corpus()
    rng = random.Random(SEED + 1)
    counts: Counter = Counter()
    for name in FILES:
        path = REAL / name
        if not path.exists():
            continue
        text = load(path)
        old = ruleset_of(text, name)
        lines = text.splitlines()
        for index in range(PAIRS_PER_FILE):
            preserving = index % 2 == 0
            pool = PRESERVING if preserving else CHANGING
            applied = first_applicable(rng.sample(pool, k=len(pool)), lines, old, rng)
            if applied is None:
                continue
            mutation, mutated = applied
            new = ruleset_of("\n".join(mutated) + "\n", name)
            chains = D.compare_behaviour(old, new, method="chains")
            assert chains.method == "chains" and chains.exhaustive, name
            counts["pairs"] += 1
            if preserving:
                assert chains.changes == (), (name, mutation.__name__, [c.text() for c in chains.changes])
                counts["kept"] += 1
                continue
            cells = D.compare_behaviour(old, new, method="cells")
            if cells.changes:
                assert chains.changes, (name, mutation.__name__, [c.text() for c in cells.changes])
                counts["changed, both report it"] += 1
            else:
                counts["changed, cells see no change"] += 1
    assert counts["pairs"] >= 100, counts
    report_summary("iptlint diff (chains): " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


def _services(count: int):
    services, free = K.build_services(count, 3, K.DEFAULT_SEED)
    return services, free


def _ruleset(text: str, name: str):
    return ruleset_of(text, name)


def test_kube_proxy_variant_names_the_changed_services() -> None:
    services, free = _services(300)
    variant = K.make_variant(services, free, K.DEFAULT_SEED, 0.02)
    moved = [s for s, v in zip(services, variant, strict=True) if s.endpoints != v.endpoints]
    changed = {s.cluster_ip for s in moved}
    node_ports = {s.node_port for s in moved if s.node_port is not None}
    old, new = _ruleset(K.render(services), "old.rules"), _ruleset(K.render(variant), "new.rules")
    found = D.compare_behaviour(old, new, method="chains")
    assert found.exhaustive and found.sites == 2 * (len(changed) + len(node_ports))  # nat PREROUTING, OUTPUT
    assert {dict(c.example)["dst"] for c in found.changes if dict(c.example)["dport"] not in node_ports} == changed
    assert {dict(c.example)["dport"] for c in found.changes} & node_ports == node_ports
    for change in found.changes:
        assert not change.exact and "(33.3%)" in change.old.destination
        before = set(re.findall(r"[\d.]+:\d+", change.old.destination))
        after = set(re.findall(r"[\d.]+:\d+", change.new.destination))
        assert len(before) == len(after) == 3 and len(before & after) == 2, change.text()


def test_kube_proxy_renames_and_reordered_endpoints_are_no_change() -> None:
    services, _ = _services(200)
    text = K.render(services)
    renamed = re.sub(r"KUBE-SEP-([A-Z0-9]{16})", lambda m: "KUBE-SEP-" + m.group(1)[::-1], text)
    old, new = _ruleset(text, "old.rules"), _ruleset(renamed, "new.rules")
    found = D.compare_behaviour(old, new, method="chains")
    assert found.changes == () and found.sites == 0
    shuffled = list(services)
    for i in range(0, len(services), 7):
        if services[i].endpoints:
            endpoints = services[i].endpoints
            shuffled[i] = K.Service(**{**services[i].__dict__, "endpoints": [*endpoints[1:], endpoints[0]]})
    reordered = _ruleset(K.render(shuffled), "new.rules")
    found = D.compare_behaviour(old, reordered, method="chains")
    assert found.sites > 0 and found.changes == (), [c.text() for c in found.changes]


def test_auto_takes_the_chains_for_large_dumps() -> None:
    assert C.SCALE_RULES > C.CELLS_RULES
    services, free = _services(60)
    old = _ruleset(K.render(services), "old.rules")
    new = _ruleset(K.render(K.make_variant(services, free, K.DEFAULT_SEED, 0.05)), "new.rules")
    assert D.compare_behaviour(old, new, max_walks=100).method == "cells"  # a small dump keeps the cells
