"""`iptlint diff`: the semantic difference of two dumps (`iptlint.semantics.diff`).

(a) The example: a Docker 20.10 host (`tests/data/diff/old.rules`) and the same host
    after `docker run -p 5432:5432` postgres at 172.17.0.3 with a DOCKER-USER DROP
    appended after Docker's RETURN, so it never runs (`new.rules`).  The diff names the
    newly exposed port and an example packet; the markdown is compared with
    `tests/data/diff/expected.md` (`UPDATE_SNAPSHOTS=1` rewrites it).
(b) Rewrites of real corpus dumps that keep their meaning (adjacent independent rules
    swapped, a user chain renamed, an option spelled another way, a multiport rule
    split in two, a chain split in two, a chain called once at the end inlined) are
    "no change".
(c) Real changes (a verdict flipped, a rule deleted, a port changed): each reported
    change's example packet gets the two stated verdicts under `walk`; when nothing is
    reported, random packets of every cell (not the cells' representatives) agree on
    both sides, so nothing was missed there.
And for every pair, random packets of random cells fare as their cell's probe does:
the cells are exact.

The random pairs are seeded; their counts are printed in the terminal summary.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import report_summary, requires_corpus
from diff_mutations import (
    CHANGING,
    FEWER_PAIRS,
    FILES,
    PAIRS_PER_FILE,
    PRESERVING,
    REAL,
    SEED,
    first_applicable,
    load,
    ruleset_of,
    split_multiport,
)

from iptlint.cli import main
from iptlint.report.diff import as_findings, render, render_markdown
from iptlint.semantics import diff as D  # noqa: N812
from iptlint.semantics import packets as p
from iptlint.semantics.walk import docker_bridges, walk
from iptlint.syntax.ast import Ruleset
from iptlint.syntax.values import Endpoint

DATA = Path(__file__).parent / "data" / "diff"


# ---------------------------------------------------------------------------------------
# (a) the Docker example
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> D.Difference:
    return D.diff(load(DATA / "old.rules"), load(DATA / "new.rules"), "old.rules", "new.rules")


def test_example_names_the_newly_exposed_port(example: D.Difference) -> None:
    assert example.opened and example.exhaustive
    [exposure] = example.exposure_changes
    assert exposure.kind == "opened" and exposure.key == ("*", "5432", "tcp")
    assert exposure.new_sources == ("0.0.0.0/0",)
    forwarded = [c for c in example.changes if c.path == "forward" and c.example_packet.get("in_iface") == "eth0"]
    [change] = forwarded
    assert "port 5432" in change.description and "via eth0" in change.description
    assert change.old.verdict == "DROP" and change.old.decider == "policy of filter FORWARD"
    assert change.new.verdict == "ACCEPT" and change.new.rule is not None
    assert "-d 172.17.0.3/32" in change.new.rule.text
    codes = {f.code for f in example.new_findings}
    assert {"X001", "D003"} <= codes  # exposed to any source; the DROP after RETURN never runs
    assert not example.fixed_findings


def test_example_packets_really_get_the_stated_verdicts(example: D.Difference) -> None:
    old, new = ruleset_of(load(DATA / "old.rules"), "old.rules"), ruleset_of(load(DATA / "new.rules"), "new.rules")
    for change in example.changes:
        assert walk(old, change.example_packet).verdict == change.old.verdict
        assert walk(new, change.example_packet).verdict == change.new.verdict


def test_example_cells_are_exact() -> None:
    """Random packets of random cells of the Docker example fare as their cell's probe, on both sides."""
    old, new = ruleset_of(load(DATA / "old.rules"), "old.rules"), ruleset_of(load(DATA / "new.rules"), "new.rules")
    pairs = random_packets(old, new, 150, random.Random(SEED))
    assert inexact_cell(old, pairs) is None
    assert inexact_cell(new, pairs) is None


def test_example_markdown_matches_the_saved_output(example: D.Difference) -> None:
    output = render_markdown(example)
    expected = DATA / "expected.md"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not expected.exists():
        expected.write_text(output)
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"wrote the missing snapshot {expected}; check it and run again")
    assert output == expected.read_text()
    assert "5432" in output and "in eth0 src 198.51.100.7 dst 172.17.0.3 tcp sport 40000 dport 5432 NEW" in output


def test_same_dump_is_no_change(example: D.Difference) -> None:
    text = load(DATA / "new.rules")
    same = D.diff(text, text, "a.rules", "b.rules")
    assert not same.any_difference and "No change in behaviour." in render("text", same)
    assert same.walks == 0  # every path's chains are the same: nothing to walk


def test_an_allow_list_narrows_the_exposure_and_removing_it_opens() -> None:
    exposed = load(DATA / "new.rules")
    allow = exposed.replace(
        "-A DOCKER-USER -j RETURN\n",
        "-A DOCKER-USER -i eth0 ! -s 10.0.0.0/8 -p tcp -m conntrack --ctorigdstport 5432 -j DROP\n"
        "-A DOCKER-USER -j RETURN\n",
    )
    narrowed = D.diff(exposed, allow, "a.rules", "b.rules", findings=False)
    [change] = narrowed.exposure_changes
    assert (change.kind, change.new_sources, change.old_sources) == ("changed", ("10.0.0.0/8",), ("0.0.0.0/0",))
    assert not narrowed.opened and narrowed.behaviour_changed
    widened = D.diff(allow, exposed, "b.rules", "a.rules", findings=False)
    assert widened.opened and widened.exposure_changes[0].kind == "opened"
    assert any("from not 10.0.0.0/8 via eth0" in c.description and c.opened for c in widened.changes)


def test_too_many_probes_are_sampled_and_said_so() -> None:
    old, new = load(DATA / "old.rules"), load(DATA / "new.rules")
    sampled = D.diff(old, new, "old.rules", "new.rules", max_walks=400, findings=False)
    assert not sampled.exhaustive and sampled.walks <= 400
    assert "not exhaustive" in render("text", sampled)
    assert sampled.opened  # the port is wide open: even a sample sees it


def test_formats(example: D.Difference) -> None:
    data = json.loads(render("json", example))
    assert data["opened"] and data["exposure"][0]["port"].startswith("*:5432/tcp")
    assert all(set(c["old"]) == {"verdict", "arrived_at", "destination", "decided_by"} for c in data["changes"])
    sarif = json.loads(render("sarif", example, "0", "/"))
    codes = {r["ruleId"] for r in sarif["runs"][0]["results"]}
    assert {"X020", "X001"} <= codes
    github = render("github", example, "0", None)
    assert github.startswith("::warning file=new.rules,line=17") and "title=X020" in github
    assert {f.code for f in as_findings(example)} >= {"X020"}


# ---------------------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------------------


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    old, new = str(DATA / "old.rules"), str(DATA / "new.rules")
    assert main(["diff", old, new, "--format", "markdown"]) == 1
    assert "newly exposed" in capsys.readouterr().out
    assert main(["diff", old, old]) == 0
    assert main(["diff", new, old, "--fail-on", "opened"]) == 0  # closing is not opening
    assert main(["diff", new, old, "--fail-on", "changed"]) == 1
    capsys.readouterr()
    assert main(["diff", old, str(DATA / "missing.rules")]) == 2
    assert main(["diff", old]) == 2
    assert main(["diff", old, new, "--max-walks", "300"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 2 and "Traceback" not in error


def test_docs_show_the_real_output(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The `$ iptlint diff ...` block of docs/diff.md is followed by what the command prints."""
    root = Path(__file__).resolve().parents[1]
    monkeypatch.chdir(root)
    doc = (root / "docs" / "diff.md").read_text()
    blocks = re.findall(r"```console\n\$ (iptlint diff [^\n]*)\n(.*?)```", doc, re.S)
    assert blocks
    for command, shown in blocks:
        assert main(command.split()[1:]) == 1
        assert capsys.readouterr().out == shown, command


def test_cli_warns_of_errors_in_a_dump(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good, bad = tmp_path / "good.rules", tmp_path / "bad.rules"
    good.write_text("*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n")
    bad.write_text(good.read_text().replace("COMMIT", "-A INPUT -s 300.1.1.1 -j ACCEPT\nCOMMIT"))
    assert main(["diff", str(good), str(bad)]) == 0
    captured = capsys.readouterr()
    assert "No change in behaviour." in captured.out and "S108" in captured.out
    assert captured.err == f"iptlint: {bad}: 1 errors in the dump; diffing the rules that parsed\n"


def test_cli_families_must_agree(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    six = tmp_path / "six.rules"
    six.write_text("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 2001:db8::/32 -j DROP\nCOMMIT\n")
    assert main(["diff", str(DATA / "old.rules"), str(six)]) == 2
    assert "ipv4" in capsys.readouterr().err


def test_cli_reads_git_revisions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    def git(*words: str) -> None:
        subprocess.run(["git", *words], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-q")
    git("config", "user.email", "ci@example.com")
    git("config", "user.name", "ci")
    (tmp_path / "rules.v4").write_text(load(DATA / "old.rules"))
    git("add", "rules.v4")
    git("commit", "-q", "-m", "old")
    (tmp_path / "rules.v4").write_text(load(DATA / "new.rules"))
    monkeypatch.chdir(tmp_path)
    assert main(["diff", "git:HEAD:rules.v4", "rules.v4"]) == 1
    assert "git:HEAD:rules.v4 -> rules.v4" in capsys.readouterr().out
    assert main(["diff", "--git-staged", "rules.v4"]) == 0  # nothing staged yet
    assert "No change in behaviour." in capsys.readouterr().out
    git("add", "rules.v4")
    assert main(["diff", "--git-staged", "rules.v4", "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["opened"]
    assert main(["diff", "git:nope:rules.v4", "rules.v4"]) == 2
    assert "git show nope:rules.v4" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------


def random_member(name: str, constraint, rng: random.Random, family) -> object:
    """A random value of a cell (not its representative)."""
    if constraint is None or not isinstance(constraint, p.IntervalSet):
        return None
    lo, hi = rng.choice(constraint.intervals)
    number = rng.randint(lo, hi)
    value = p.decode(name, number, family)
    return str(value) if p.SPECS[name].kind == "address" else value


def random_packets(old: Ruleset, new: Ruleset, count: int, rng: random.Random) -> list[tuple[D.Probe, D.Probe]]:
    """Packets drawn at random inside random cells of both dumps' plans, each with its cells' probe."""
    bridges = docker_bridges(old) + docker_bridges(new)
    plans = [D.plan_path((old, new), path, (), {}, bridges) for path in D.PATHS]
    pairs = []
    for _ in range(count):
        plan = rng.choice(plans)
        block = rng.choice(plan.blocks)
        chosen = [(name, rng.choice(cells)) for name, cells in block]
        representative = D._probe(plan, chosen, bridges)
        packet = dict(representative.packet)
        for name, cell in chosen:
            value = random_member(name, cell.constraint, rng, old.family)
            if name in packet and value is not None and name not in ("in_iface", "out_iface"):
                packet[name] = value
        pairs.append((D.Probe(plan.path, tuple(packet.items()), ()), representative))
    return pairs


def same_outcomes(old: Ruleset, new: Ruleset, probes: list[D.Probe]) -> D.Probe | None:
    """The first probe the two dumps treat differently, or None."""
    for probe in probes:
        if D.outcome_of(old, probe, (), {}).key != D.outcome_of(new, probe, (), {}).key:
            return probe
    return None


def inexact_cell(ruleset: Ruleset, pairs: list[tuple[D.Probe, D.Probe]]) -> tuple | None:
    """A random packet that the ruleset treats otherwise than its cells' probe, or None (the cells are exact)."""
    for member, representative in pairs:
        if D.outcome_of(ruleset, member, (), {}).key != D.outcome_of(ruleset, representative, (), {}).key:
            return member.packet, representative.packet
    return None


def test_random_rewrites_of_real_dumps() -> None:
    requires_corpus()
    rng = random.Random(SEED)
    counts: Counter = Counter()
    files = 0
    for name in FILES:
        path = REAL / name
        if not path.exists():
            continue
        files += 1
        text = load(path)
        old = ruleset_of(text, name)
        lines = text.splitlines()
        cache: dict = {}
        for index in range(FEWER_PAIRS.get(name, PAIRS_PER_FILE)):
            preserving = index % 2 == 0
            mutations = rng.sample(
                PRESERVING if preserving else CHANGING, k=len(PRESERVING if preserving else CHANGING)
            )
            if index % 4 == 0:  # multiport rules are rare: split one whenever there is one
                mutations.insert(0, split_multiport)
            applied = first_applicable(mutations, lines, old, rng)
            if applied is None:
                counts["not applicable"] += 1
                continue
            mutation, mutated = applied
            new = ruleset_of("\n".join(mutated) + "\n", name)
            changes, _, exhaustive = D.behaviour_changes(old, new, old_cache=cache)
            counts["pairs"] += 1
            assert exhaustive, name
            cells = random_packets(old, new, 3, rng)
            assert inexact_cell(new, cells) is None, (name, mutation.__name__)
            counts["random packets like their cell's probe"] += len(cells)
            if preserving:
                counts[f"kept {mutation.__name__}"] += 1
                assert changes == (), (name, mutation.__name__, [c.text() for c in changes])
                continue
            counts[f"changed {mutation.__name__}"] += 1
            if changes:
                counts["changes reported"] += 1
                for change in changes[:3]:
                    assert walk(old, change.example_packet).verdict == change.old.verdict, change.text()
                    assert walk(new, change.example_packet).verdict == change.new.verdict, change.text()
            else:
                counts["no change reported (random packets agree)"] += 1
                differing = same_outcomes(old, new, [member for member, _ in random_packets(old, new, 12, rng)])
                assert differing is None, (name, mutation.__name__, differing)
    assert files >= 10 and counts["pairs"] >= 500, counts
    details = ", ".join(f"{key} {value}" for key, value in sorted(counts.items()) if key != "pairs")
    report_summary(f"iptlint diff: {counts['pairs']} random pairs over {files} corpus dumps ({details})")


IPV6_DNAT = """*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A PREROUTING -d 2001:db8::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8::2]:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
COMMIT
"""


def test_an_ipv6_destination_with_a_port_is_written_in_brackets() -> None:
    """`2001:db8::2:80` would be an address of its own: the port goes after `[address]`, as in DNAT."""
    found = D.diff(IPV6_DNAT, IPV6_DNAT.replace("]:80", "]:81"), "old.v6", "new.v6", findings=False)
    stated = {(c.old.destination, c.new.destination) for c in found.changes}
    assert stated == {("[2001:db8::2]:80", "[2001:db8::2]:81")}
    v4, v6 = ipaddress.ip_address("10.0.0.2"), ipaddress.ip_address("2001:db8::2")
    assert str(Endpoint.single(v4, 80)) == "10.0.0.2:80" and str(Endpoint.single(v6)) == "2001:db8::2"
