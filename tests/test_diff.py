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

import json
import os
import random
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from conftest import CORPUS, report_summary, requires_corpus

from iptlint.cli import main
from iptlint.report.diff import as_findings, render, render_markdown
from iptlint.semantics import diff as D  # noqa: N812
from iptlint.semantics import packets as p
from iptlint.semantics.models import ModelContext, rule_bounds
from iptlint.semantics.walk import docker_bridges, walk
from iptlint.syntax.ast import Ruleset
from iptlint.syntax.parser import parse

DATA = Path(__file__).parent / "data" / "diff"
REAL = CORPUS / "real"
SEED = 4242
PAIRS_PER_FILE = 40
FEWER_PAIRS = {"iptables-semantics/haskell_tool__README.md__block3.rules": 8}  # the slow ones
FILES = (
    "misc-github/juhanurmi__exitnode__rules.v4.rules",
    "misc-github/ustclug__liimstrap__etc__iptables__rules.v6.rules",
    "net-network/examples_ferm__workstation.ferm.iptables-save.rules",
    "net-network/examples_ferm__webserver.ferm.iptables-save.rules",
    "firehol/firehol__basics__empty.aud4.rules",
    "firehol/firehol__not-both__ipv6-disable-conf.aud4.rules",
    "misc-github/coldhakca__tor-relay-bootstrap__etc__iptables__rules.v4.rules",
    "misc-github/QubesOS__qubes-core-agent-linux__network__iptables.rules",
    "misc-github/laduke__zt-iptables__src__rules.v4.rules",
    "iptables-semantics/Parser_Test__data__ip6tables-save.rules",
    "moby-docker/v27-era_2024-10-10__iptablesdoc__new-daemon.rules",
    "iptables-semantics/haskell_tool__README.md__block3.rules",  # multiport rules (about 2,000 probes)
    "moby-docker/v29-dev__iptabler__hairpin=false,internal=true,icc=false__iptables.rules",
    "moby-docker/v28.5.2__iptabler__TestIptabler_hairpin=false,internal=false,icc=true,masq=false,snat=false,"
    "gwm=nat-unprotected,bindlh=false__iptables.rules",
)
VERDICT_TARGETS = ("ACCEPT", "DROP", "REJECT", "RETURN")


def load(path: Path, name: str | None = None) -> str:
    return path.read_text(errors="surrogateescape")


def ruleset_of(text: str, name: str) -> Ruleset:
    return parse(text, name).ruleset


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
# Rewrites: text in, text out (None: not applicable to this dump)
# ---------------------------------------------------------------------------------------


def _rule_lines(ruleset: Ruleset) -> dict[int, object]:
    return {rule.line: rule for rule in ruleset.rules}


def _target_key(rule) -> tuple | None:
    return None if rule.target is None else rule.key()[2]


def _over(rule, ruleset: Ruleset):
    return rule_bounds(rule, ModelContext(ruleset.family, rule.table, rule.chain, {})).over


def swap_independent(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    """Swap two adjacent rules that end evaluation and are independent (no common packet, or the same target)."""
    by_line = _rule_lines(ruleset)
    candidates = []
    for line, first in by_line.items():
        second = by_line.get(line + 1)
        if second is None or (first.table, first.chain) != (second.table, second.chain):
            continue
        if any(r.target is None or r.target.name not in VERDICT_TARGETS or r.command != "-A" for r in (first, second)):
            continue
        if _target_key(first) == _target_key(second) or not _over(first, ruleset).overlaps(_over(second, ruleset)):
            candidates.append(line)
    if not candidates:
        return None
    line = rng.choice(candidates)
    out = list(lines)
    out[line - 1], out[line] = lines[line], lines[line - 1]
    return out


def rename_chain(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    """Rename a user chain everywhere in its table."""
    chains = [(t, c) for t in ruleset.tables for c in t.chains if not c.builtin and c.line]
    if not chains:
        return None
    table, chain = rng.choice(chains)
    new_name = (chain.name[:24] + "-ren")[:28]
    if table.chain(new_name) is not None:
        return None
    start, end = table.line, table.commit_line or len(lines)
    token = re.compile(rf"(?<=[\s:]){re.escape(chain.name)}(?=\s|$)")
    out = list(lines)
    for index in range(start, end):
        if out[index].startswith((":", "-", "[")):
            out[index] = token.sub(new_name, out[index])
    return out


SPELLINGS = (
    (r" --dport ", " --destination-port "),
    (r" --sport ", " --source-port "),
    (r" --destination-port ", " --dport "),
    (r" -j ", " --jump "),
    (r" -p tcp ", " -p 6 "),
    (r" -i ", " --in-interface "),
    (r"(-[sd] )(\d+\.\d+\.\d+\.\d+)(?=\s)", r"\1\2/32"),
    (r"(-[sd] )(\d+\.\d+\.\d+\.\d+)/32(?=\s)", r"\1\2"),
)


def respell(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    """Write one option of one rule in another spelling iptables reads the same."""
    options = [(line, pattern, spelled) for line in _rule_lines(ruleset) for pattern, spelled in SPELLINGS]
    options = [(line, pattern, spelled) for line, pattern, spelled in options if re.search(pattern, lines[line - 1])]
    if not options:
        return None
    line, pattern, spelled = rng.choice(options)
    out = list(lines)
    out[line - 1] = re.sub(pattern, spelled, lines[line - 1], count=1)
    return out


MULTIPORT = re.compile(r"-m multiport --(dports|sports|destination-ports|source-ports) ([\w:,]+)")


def split_multiport(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    """`-m multiport --dports a,b -j X` as two rules, one per port item."""
    candidates = []
    for line, rule in _rule_lines(ruleset).items():
        found = MULTIPORT.search(lines[line - 1])
        if found and "," in found.group(2) and rule.target is not None and rule.target.name in VERDICT_TARGETS:
            candidates.append((line, found))
    if not candidates:
        return None
    line, found = rng.choice(candidates)
    first, rest = found.group(2).split(",", 1)
    text = lines[line - 1]
    one = text[: found.start(2)] + first + text[found.end(2) :]
    two = text[: found.start(2)] + rest + text[found.end(2) :]
    return [*lines[: line - 1], one, two, *lines[line:]]


def inline_chain(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    """A user chain jumped to once, by an unconditional rule at the end of its caller: its rules there instead."""
    if any(rule.command != "-A" for rule in ruleset.rules):
        return None
    candidates = []
    for table in ruleset.tables:
        callers = Counter(rule.target.name for rule in table.rules if rule.target is not None)
        for caller in table.chains:
            if not caller.rules:
                continue
            last = caller.rules[-1]
            callee = table.chain(last.jump or "")
            if callee is None or callee is caller or callers[callee.name] != 1 or last.target.goto:
                continue
            if last.unconditional and all(r.jump != callee.name for r in callee.rules):
                candidates.append((caller, last, callee))
    if not candidates:
        return None
    caller, last, callee = rng.choice(candidates)
    moved = [re.sub(rf"^-A {re.escape(callee.name)} ", f"-A {caller.name} ", lines[r.line - 1]) for r in callee.rules]
    dropped = {r.line for r in callee.rules} | {callee.line}
    out = []
    for number, text in enumerate(lines, 1):
        if number == last.line:
            out.extend(moved)
        elif number not in dropped:
            out.append(text)
    return out


def split_chain(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    """Move the tail of a chain into a new chain that the head jumps to last.

    RETURN in the new chain comes back to the end of the old one, which returns (or
    applies the policy) as the RETURN did; a goto's chain returns there too.
    """
    if any(rule.command != "-A" for rule in ruleset.rules):
        return None
    candidates = [(t, c) for t in ruleset.tables for c in t.chains if len(c.rules) >= 2 and t.line]
    if not candidates:
        return None
    table, chain = rng.choice(candidates)
    cut = rng.randint(1, len(chain.rules) - 1)
    tail = chain.rules[cut:]
    new_name = (chain.name[:22] + "-tail")[:28]
    if table.chain(new_name) is not None:
        return None
    out = []
    for number, text in enumerate(lines, 1):
        if number == tail[0].line:
            out.append(f"-A {chain.name} -j {new_name}")
        if number in {rule.line for rule in tail}:
            text = re.sub(rf"^-A {re.escape(chain.name)} ", f"-A {new_name} ", text)
        out.append(text)
        if number == table.line:
            out.append(f":{new_name} - [0:0]")
    return out


def flip_verdict(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    candidates = [
        line for line, rule in _rule_lines(ruleset).items() if re.search(r"-j (ACCEPT|DROP)\s*$", lines[line - 1])
    ]
    if not candidates:
        return None
    line = rng.choice(candidates)
    out = list(lines)
    out[line - 1] = re.sub(
        r"-j (ACCEPT|DROP)\s*$", lambda m: "-j DROP" if m.group(1) == "ACCEPT" else "-j ACCEPT", lines[line - 1]
    )
    return out


def delete_rule(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    candidates = [
        line
        for line, rule in _rule_lines(ruleset).items()
        if rule.target is not None and rule.target.name in ("ACCEPT", "DROP", "REJECT")
    ]
    if not candidates:
        return None
    line = rng.choice(candidates)
    return [text for number, text in enumerate(lines, 1) if number != line]


def change_port(lines: list[str], ruleset: Ruleset, rng: random.Random) -> list[str] | None:
    candidates = [line for line in _rule_lines(ruleset) if re.search(r"--dport \d+(?=\s)", lines[line - 1])]
    if not candidates:
        return None
    line = rng.choice(candidates)
    out = list(lines)
    out[line - 1] = re.sub(
        r"--dport (\d+)(?=\s)", lambda m: f"--dport {(int(m.group(1)) + 1) % 65536}", lines[line - 1], count=1
    )
    return out


PRESERVING = (swap_independent, rename_chain, respell, split_multiport, split_chain, inline_chain)
CHANGING = (flip_verdict, delete_rule, change_port)


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
            mutated = None
            for mutation in mutations:
                mutated = mutation(lines, old, rng)
                if mutated is not None:
                    break
            if mutated is None:
                counts["not applicable"] += 1
                continue
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
