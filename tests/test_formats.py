"""Input formats: `iptables -S` rules and `iptables -L` listings read into the same AST as a dump.

* Unit tests of detection, table names, counters with K/M/G, module texts read back.
* The seed: the listings of `../shared/seed/understanding-docker-network-through-iptables.txt`
  (a Docker 20.10 host before and after `docker run -p 80:80 nginx`) are cut out of the
  post by their `Chain ...` headers, parsed, and compared by meaning with
  `tests/data/seed-equivalent.rules`, the iptables-save dump of the same host.
* The real tools: rulesets of the shared corpus are loaded into a network namespace with
  invented counters; `iptables -L -n -v -x --line-numbers` and `iptables -S -v` of each
  table are parsed and compared with the parse of `iptables-save -c` of the namespace.
  The agreement rate is printed in the terminal summary; every rule that differs is
  listed in `tests/data/listing-differences.yaml` with its reason.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import kernel
import pytest
import yaml
from conftest import CORPUS, SHARED, in_ci, report_summary, requires_corpus, requires_root_tools

from iptlint.linter import Settings, lint
from iptlint.syntax.ast import BUILTIN_CHAINS, Family, Rule, Ruleset
from iptlint.syntax.formats import (
    InputFormat,
    counter_range,
    detect_format,
    parse_input,
    read_matches,
    read_target,
    table_named_by,
)
from iptlint.syntax.parser import parse

DATA = Path(__file__).resolve().parent / "data"
SEED = SHARED / "seed" / "understanding-docker-network-through-iptables.txt"
SEED_EQUIVALENT = DATA / "seed-equivalent.rules"
DIFFERENCES = DATA / "listing-differences.yaml"
MIN_AGREEMENT = 0.98

# ---------------------------------------------------------------------------------------
# Comparing rules by meaning
# ---------------------------------------------------------------------------------------


def _option(option) -> tuple:
    value = option.value if option.value is not None else option.raw
    return option.name, option.negated, repr(value)


def meaning(rule: Rule, counters: bool = True) -> tuple:
    """What a rule is: its conditions, matches, target and (optionally) counters."""
    target = rule.target
    return (
        tuple(sorted(_option(o) for o in rule.basics if o.name != "-c")),
        tuple((m.name, tuple(_option(o) for o in m.options)) for m in rule.matches),
        None if target is None else (target.name, target.goto, tuple(_option(o) for o in target.options)),
        rule.counters if counters else None,
    )


def chains_of(ruleset: Ruleset) -> dict[tuple[str, str], tuple]:
    """(table, chain) -> (policy, chain counters, rules) of a ruleset."""
    return {
        (table.name, chain.name): (chain.policy, chain.counters, chain.rules)
        for table in ruleset.tables
        for chain in table.chains
    }


def rule_differences(expected: Ruleset, got: Ruleset, counters: bool = True) -> tuple[int, list[str]]:
    """How many rules `expected` has, and a line for each rule or chain `got` holds differently."""
    want, have = chains_of(expected), chains_of(got)
    total, differences = 0, []
    for key, (policy, chain_counters, rules) in want.items():
        total += len(rules)
        other = have.get(key)
        if other is None:
            differences += [f"{key[0]}/{key[1]}#{i}: chain missing" for i in range(1, len(rules) + 1)]
            continue
        if other[0] != policy or (counters and policy and other[1] != chain_counters):
            differences.append(f"{key[0]}/{key[1]}: policy {other[0]} {other[1]} != {policy} {chain_counters}")
        for index, rule in enumerate(rules, 1):
            mine = other[2][index - 1] if index <= len(other[2]) else None
            if mine is None or meaning(mine, counters) != meaning(rule, counters):
                shown = "nothing" if mine is None else mine.text
                differences.append(f"{key[0]}/{key[1]}#{index}: {shown!r} != {rule.text!r}")
        differences += [f"{key[0]}/{key[1]}#{i}: extra rule" for i in range(len(rules) + 1, len(other[2]) + 1)]
    differences += [f"{t}/{c}: extra chain" for t, c in have if (t, c) not in want]
    return total, differences


# ---------------------------------------------------------------------------------------
# Units
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", InputFormat.SAVE),
        ("-P INPUT ACCEPT\n-N DOCKER\n-A INPUT -j DOCKER\n", InputFormat.RULES),
        (":INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", InputFormat.SAVE),  # a dump missing its *table: S103
        ("Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\n", InputFormat.LISTING),
        ("Chain DOCKER (2 references)\n", InputFormat.LISTING),
        ("", InputFormat.SAVE),
    ],
)
def test_detect_format(text, expected):
    assert detect_format(text) is expected


@pytest.mark.parametrize(
    ("line", "table"),
    [
        ("# iptables -t nat -L -n -v", "nat"),
        ("root@ip-172-31-37-164:/home/ubuntu# iptables -L -n -v --line-numbers -t nat", "nat"),
        ("$ sudo iptables -S", "filter"),
        ("# table: mangle", "mangle"),
        ("iptables --table=raw --list -n", "raw"),
        ("watch iptables -L -n -v --line-numbers -t filter", "filter"),
        ("# iptables-legacy -tnat -S", "nat"),
        ("# a comment", None),
        ("iptables -A INPUT -j ACCEPT", None),
    ],
)
def test_table_named_by(line, table):
    assert table_named_by(line) == table


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("0", 0, 0),
        ("99999", 99999, 99999),
        ("743K", 742500, 743499),
        ("100K", 100000, 100499),
        ("2M", 1499500, 2499499),
    ],
)
def test_counter_range(text, low, high):
    assert counter_range(text) == (low, high)


@pytest.mark.parametrize(
    ("text", "protocol", "words", "rest"),
    [
        (" tcp dpt:80", "tcp", [["-m", "tcp", "--dport", "80"]], ""),
        (" tcp spts:1024:65535 dpt:!22 flags:0x17/0x02", "tcp",
         [["-m", "tcp", "--sport", "1024:65535", "!", "--dport", "22", "--tcp-flags", "FIN,SYN,RST,ACK", "SYN"]], ""),
        (" ctstate RELATED,ESTABLISHED", None, [["-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED"]], ""),
        (" state NEW", None, [["-m", "state", "--state", "NEW"]], ""),
        (" ADDRTYPE match dst-type LOCAL", None, [["-m", "addrtype", "--dst-type", "LOCAL"]], ""),
        (" /* a  b */ multiport dports  !80,443", "tcp",
         [["-m", "comment", "--comment", "a  b"], ["-m", "multiport", "!", "--dports", "80,443"]], ""),
        (" limit: avg 3/min burst 5", None, [["-m", "limit", "--limit", "3/min"]], ""),
        (" match-set NAME src", None, [["-m", "set", "--match-set", "NAME", "src"]], ""),
        (" statistic mode random probability 0.50000000000", None,
         [["-m", "statistic", "--mode", "random", "--probability", "0.50000000000"]], ""),
        (" icmptype 8 frobnicate", "icmp", [["-m", "icmp", "--icmp-type", "8"]], " frobnicate"),
    ],
)  # fmt: skip
def test_read_matches(text, protocol, words, rest):
    assert read_matches(text, protocol) == (words, rest)


@pytest.mark.parametrize(
    ("target", "text", "words"),
    [
        ("DNAT", " to:172.17.0.2:80", ["--to-destination", "172.17.0.2:80"]),
        ("MARK", " MARK or 0x4000", ["--set-xmark", "0x4000/0x4000"]),
        ("MARK", " MARK set 0x3", ["--set-xmark", "0x3/0xffffffff"]),
        ("REJECT", " reject-with icmp-port-unreachable", ["--reject-with", "icmp-port-unreachable"]),
        ("LOG", ' LOG flags 0 level 4 prefix "[UFW BLOCK] "', ["--log-prefix", "[UFW BLOCK] "]),
        ("MASQUERADE", " masq ports: 500-1000 random", ["--to-ports", "500-1000", "--random"]),
        ("ACCEPT", "", []),
    ],
)
def test_read_target(target, text, words):
    assert read_target(target, text) == (words, "")


def test_rules_format_keeps_lines_and_columns():
    text = (
        "# iptables -t nat -S\n-P PREROUTING ACCEPT\n-N DOCKER\n-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
    )
    result = parse_input(text, "nat.txt", input_format="auto")
    assert not result.findings
    chain = result.ruleset.chain("nat", "PREROUTING")
    assert chain.policy == "ACCEPT" and [r.line for r in chain.rules] == [4]
    assert result.ruleset.chain("nat", "DOCKER").line == 3
    line = "-A INPUT -p tcp --dport 70000 -j ACCEPT"
    broken = parse_input(line + "\n", input_format="rules")
    as_dump = parse(f"*filter\n{line}\nCOMMIT\n")
    assert [(f.code, f.span.line, f.span.column) for f in broken.findings] == [
        (f.code, f.span.line - 1, f.span.column) for f in as_dump.findings
    ]


def test_rules_format_table_option_and_counters():
    text = "-P INPUT DROP -c 5 300\n-A INPUT -s 10.0.0.0/8 -c 7 420 -j ACCEPT\n"
    result = parse_input(text, input_format=InputFormat.RULES, table="filter")
    chain = result.ruleset.chain("filter", "INPUT")
    assert (chain.policy, chain.counters.packets, chain.counters.bytes) == ("DROP", 5, 300)
    assert chain.rules[0].counters.packets == 7
    assert parse_input("-N X\n", input_format="rules", table="raw").ruleset.chain("raw", "X") is not None


LISTING_WITHOUT_V = """\
# iptables -L -n
Chain INPUT (policy DROP)
target     prot opt source               destination
ACCEPT     tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:22
           all  --  10.0.0.0/8           0.0.0.0/0
DROP       all  --  example.com          0.0.0.0/0
"""


def test_a_listing_without_v_is_lossy_and_marks_its_rules():
    result = parse_input(LISTING_WITHOUT_V, input_format="auto")
    rules = list(result.ruleset.chain("filter", "INPUT").rules)
    assert [r.line for r in rules] == [4, 5, 6]
    assert rules[1].target is None and rules[1].counters is None
    assert {(f.code, f.span.line) for f in result.findings} == {("S126", 4), ("S126", 6)}
    assert {u.kind for u in result.ruleset.uncertainty(6)} == {"interfaces", "names"}


def test_findings_of_checks_point_at_listing_lines():
    listing = "# iptables -t filter -L -n -v\n" + "\n".join(
        [
            "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)",
            " pkts bytes target     prot opt in     out     source               destination",
            "    0     0 ACCEPT     all  --  *      *       0.0.0.0/0            0.0.0.0/0",
            "    0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22",
        ]
    )
    findings = lint(listing, "l.txt", Settings(select=("S2",))).findings
    unreachable = [f for f in findings if f.span.line == 5]
    assert unreachable, findings
    assert all(f.span.column == 1 and f.source_line.endswith("tcp dpt:22") for f in unreachable)


# ---------------------------------------------------------------------------------------
# The seed: a blog post's listings of a Docker host
# ---------------------------------------------------------------------------------------

_LISTING_LINE = re.compile(r"^(Chain \S+ \(|num\s+pkts|\s*pkts\s+bytes|\d+\s+\d+[KMG]?\s+\d+[KMG]?\s)")


def seed_listings(text: str) -> list[tuple[str, int]]:
    """The listing blocks of the post, each with the command line before it when there is
    one, and the line of the post where it starts.  A block starts at a `Chain ... (` header
    and goes on over listing lines and blank lines."""
    lines = text.split("\n")
    blocks: list[tuple[str, int]] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith("Chain "):
            index += 1
            continue
        start = index
        while start > 0 and not lines[start - 1].strip():
            start -= 1
        command = start - 1 if start > 0 and table_named_by(lines[start - 1]) else None
        end = index
        while end < len(lines) and (_LISTING_LINE.match(lines[end]) or not lines[end].strip()):
            end += 1
        first = command if command is not None else index
        blocks.append(("\n".join(lines[first:end]).rstrip() + "\n", first + 1))
        index = end
    return blocks


def seed_overlay(results: list[Ruleset]) -> dict[tuple[str, str], dict]:
    """What the snapshots show when each later one replaces what it repeats: chain policy
    and counters, and each rule by its number, by table and chain."""
    view: dict[tuple[str, str], dict] = {}
    for ruleset in results:
        for table in ruleset.tables:
            for chain in table.chains:
                entry = view.setdefault((table.name, chain.name), {"policy": None, "rules": {}})
                if chain.policy is not None:
                    entry["policy"] = (chain.policy, chain.counters)
                for rule in chain.rules:
                    number = int(ruleset.line_text(rule.line).split()[0])
                    entry["rules"][number] = rule
    return view


@pytest.fixture(scope="module")
def seed_text() -> str:
    if not SEED.is_file():
        if in_ci():
            pytest.fail(f"CI=true but the seed is missing at {SEED}", pytrace=False)
        pytest.skip(f"seed not found at {SEED}")
    return SEED.read_text(encoding="utf-8")


def test_seed_has_its_listings(seed_text):
    blocks = seed_listings(seed_text)
    tables = [[t.name for t in parse_input(text, input_format="listing").ruleset.tables] for text, _ in blocks]
    assert tables == [["nat"], ["filter"], ["nat"], ["filter"], ["nat"], ["filter"]], [line for _, line in blocks]


def test_seed_listings_equal_the_equivalent_dump(seed_text):
    """Every snapshot by meaning, and all of them together (later ones replacing what they
    repeat) equal to the dump, counters and policies included."""
    dump = parse(SEED_EQUIVALENT.read_text(), str(SEED_EQUIVALENT))
    assert dump.ok, dump.findings
    blocks = seed_listings(seed_text)
    results = []
    for text, first_line in blocks:
        result = parse_input(text, f"seed:{first_line}", input_format="auto")
        assert result.ok, result.findings
        results.append(result.ruleset)
        for table in result.ruleset.tables:
            for chain in table.chains:
                expected = dump.ruleset.chain(table.name, chain.name)
                assert expected is not None, (table.name, chain.name)
                for rule in chain.rules:
                    number = int(result.ruleset.line_text(rule.line).split()[0])
                    assert meaning(rule, counters=False) == meaning(expected.rules[number - 1], counters=False)
    view = seed_overlay(results)
    for table in dump.ruleset.tables:
        for chain in table.chains:
            shown = view[(table.name, chain.name)]
            if chain.policy is not None:
                assert shown["policy"] == (chain.policy, chain.counters), (table.name, chain.name)
            assert sorted(shown["rules"]) == list(range(1, len(chain.rules) + 1)), (table.name, chain.name)
            for number, rule in shown["rules"].items():
                assert meaning(rule) == meaning(chain.rules[number - 1]), (table.name, chain.name, number)


def test_seed_losses_are_reported(seed_text):
    """743K is rounded, the after-nginx excerpts skip rule 1, the listings after Docker's
    installation name no table (read from their chains)."""
    found: dict[str, set[str]] = {}
    for text, first_line in seed_listings(seed_text):
        result = parse_input(text, input_format="auto")
        found[first_line] = {u.kind for u in result.ruleset.uncertain}
    kinds = set().union(*found.values())
    assert {"counters", "excerpt", "table"} <= kinds, found


# ---------------------------------------------------------------------------------------
# The real tools: listings of rulesets loaded into a network namespace
# ---------------------------------------------------------------------------------------


def backend_tools(backend: str, family: Family) -> tuple[str, str, str]:
    """(restore, iptables, save) of a backend ('legacy' or 'nft') for a family."""
    tool = f"{'ip6tables' if family is Family.IPV6 else 'iptables'}-{backend}"
    return f"{tool}-restore", tool, f"{tool}-save"


SOURCES_PER_FAMILY = 60  # files per corpus source and family, at most: a spread, under a minute


def corpus_files() -> list[dict]:
    """Rulesets that really load, at most SOURCES_PER_FAMILY of each source and family."""
    entries = [json.loads(line) for line in (CORPUS / "manifest.jsonl").read_text().splitlines() if line.strip()]
    chosen: dict[tuple[str, str], list[dict]] = {}
    for entry in entries:
        if entry.get("nft_restore_ok") and entry.get("legacy_test_ok", True):
            chosen.setdefault((entry["source"], entry["family"]), []).append(entry)
    picked = []
    for key in sorted(chosen):
        group = sorted(chosen[key], key=lambda e: e["file"])
        step = max(1, len(group) // SOURCES_PER_FAMILY)
        picked += group[::step][:SOURCES_PER_FAMILY]
    return picked


def with_counters(text: str, seed: str) -> str:
    """The dump with invented counters on every rule and built-in chain (some large)."""
    chance = random.Random(seed)

    def pair() -> str:
        packets = chance.choice([0, 1, chance.randrange(10**6), chance.randrange(10**12)])
        return f"[{packets}:{packets * chance.randrange(40, 1500)}]"

    lines = []
    for line in text.split("\n"):
        if line.startswith("-A "):
            line = f"{pair()} {line}"
        elif re.match(r"^:\S+ (ACCEPT|DROP) ", line):
            line = re.sub(r"\[\d+:\d+\]\s*$", "", line).rstrip() + " " + pair()
        lines.append(line)
    return "\n".join(lines)


def run(namespace: kernel.Namespace, argv: list[str], stdin: str = "") -> str:
    done = namespace.run(argv, stdin)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode("utf-8", "surrogateescape")


# What each kind of output is: the command after `iptables -t T`.
OUTPUT_COMMANDS = {
    "save": None,
    "listing": ["-L", "-n", "-v", "-x", "--line-numbers"],
    "rules": ["-S", "-v"],
    "plain": ["-L", "-v"],  # names instead of numbers, rounded counters, no rule numbers
    "rules-plain": ["-S"],  # no counters
}


OUTPUT_SHOWN = {"listing": "-L -n -v -x --line-numbers", "rules": "-S -v", "rules-plain": "-S (no counters)"}


def outputs_of(namespace: kernel.Namespace, entry: dict, backend: str = "legacy") -> dict[str, str] | None:
    """`iptables-save -c` and the other outputs, by kind, of one corpus file loaded with
    counters (None when it does not load); only the file's own tables."""
    family = Family(entry["family"])
    restore, tool, save = backend_tools(backend, family)
    text = with_counters((CORPUS / entry["file"]).read_text(encoding="utf-8", errors="surrogateescape"), entry["file"])
    try:
        run(namespace, [restore, "--counters"], text)  # replaces the tables it names
    except RuntimeError:
        return None
    outputs = {}
    for kind, command in OUTPUT_COMMANDS.items():
        parts = []
        for table in entry["tables"]:
            if command is None:
                parts.append(run(namespace, [save, "-c", "-t", table]))
            else:
                parts.append(
                    f"# {tool} -t {table} {' '.join(command)}\n" + run(namespace, [tool, "-t", table, *command])
                )
        outputs[kind] = "".join(parts)
    return outputs


def load_differences() -> dict[str, str]:
    data = yaml.safe_load(DIFFERENCES.read_text()) or {}
    return {f"{item['file']} {item['rule']}": item["reason"] for item in data.get("differences", [])}


@pytest.fixture(scope="module", params=kernel.BACKENDS)
def real_outputs(request):
    """The outputs of every chosen corpus file, loaded with one backend (nft, legacy)."""
    requires_root_tools()
    requires_corpus()
    collected = []
    with kernel.Namespace("iptlint-formats") as namespace:
        for entry in corpus_files():
            outputs = outputs_of(namespace, entry, request.param)
            if outputs is not None:
                collected.append((entry, outputs))
    return request.param, collected


@pytest.mark.kernel
@pytest.mark.parametrize("kind", ["listing", "rules", "rules-plain"])
def test_real_outputs_read_back_as_the_dump(real_outputs, kind):
    known = load_differences()
    total = agreed = 0
    unexplained, sources = [], set()
    backend, collected = real_outputs
    for entry, outputs in collected:
        family = Family(entry["family"])
        expected = parse(outputs["save"], "save", family)
        if not expected.ok:  # the dump parser's own disagreement: tests/test_differential.py
            continue
        got = parse_input(outputs[kind], entry["file"], family, "listing" if kind == "listing" else "rules")
        errors = [f for f in got.findings if f.severity.name == "ERROR"]
        count, differences = rule_differences(expected.ruleset, got.ruleset, counters=kind != "rules-plain")
        total += count
        agreed += count - len([d for d in differences if "#" in d])
        sources.add(entry["source"])
        for difference in differences:
            key = f"{entry['file']} {difference.split(':')[0]}"
            if key not in known:
                unexplained.append(f"{kind} {entry['file']}: {difference}")
        unexplained += [f"{kind} {entry['file']}:{f.span.line}: {f.code} {f.message}" for f in errors]
    rate = agreed / total if total else 0.0
    report_summary(
        f"iptables {OUTPUT_SHOWN[kind]} read back: {agreed}/{total} rules equal to "
        f"iptables-save -c ({rate:.2%}) over {len(collected)} rulesets from {len(sources)} sources ({backend})"
    )
    assert total > 1000
    assert rate >= MIN_AGREEMENT
    assert not unexplained, "\n".join(unexplained[:40])


EXTENSION_CASES = CORPUS / "iptables-tests" / "extensions.jsonl"
MIN_EXTENSION_AGREEMENT = 0.90  # a floor against regressions: many modules have no reader yet


def extension_dumps() -> list[tuple[dict, Family, str]]:
    """iptables' own extension tests that load (expected ok, no setup), one dump per tool."""
    dumps = []
    for line in EXTENSION_CASES.read_text().splitlines():
        case = json.loads(line)
        if case["expect"] != "ok" or case.get("expect_legacy", "ok") != "ok" or case["setup"]:
            continue
        builtins = BUILTIN_CHAINS.get(case["table"], ())
        declared = "".join(f":{c} - [0:0]\n" for c in case["chains"] if c not in builtins)
        rules = "".join(f"-A {c} {case['rule']}\n" for c in case["chains"])
        for tool in case["tools"]:
            family = Family.IPV6 if tool.startswith("ip6") else Family.IPV4
            dumps.append((case, family, f"*{case['table']}\n{declared}{rules}COMMIT\n"))
    return dumps


@pytest.fixture(scope="module")
def extension_outputs():
    """(case, family, listing, iptables-save -c) of every extension case that loads (legacy)."""
    requires_root_tools()
    requires_corpus()
    collected = []
    with kernel.Namespace("iptlint-formats-ext") as namespace:
        for case, family, dump in extension_dumps():
            restore, tool, save = backend_tools("legacy", family)
            try:
                run(namespace, [restore], dump)
            except RuntimeError:
                continue
            table = case["table"]
            listing = f"# {tool} -t {table} -L -n -v -x --line-numbers\n"
            listing += run(namespace, [tool, "-t", table, "-L", "-n", "-v", "-x", "--line-numbers"])
            collected.append((case, family, listing, run(namespace, [save, "-c", "-t", table])))
    return collected


@pytest.mark.kernel
def test_extension_cases_read_back_as_the_dump(extension_outputs):
    """Every module's listing text, from iptables' own tests: rules that read back differently
    are allowed only for the modules listed, with the reason, in listing-differences.yaml."""
    known = (yaml.safe_load(DIFFERENCES.read_text()) or {}).get("extension_modules", {})
    total = agreed = 0
    unexplained, modules = [], set()
    for case, family, listing, dump in extension_outputs:
        expected = parse(dump, "save", family)
        if not expected.ok:
            continue
        got = parse_input(listing, case["file"], family, "listing")
        count, differences = rule_differences(expected.ruleset, got.ruleset)
        unreadable = [f for f in got.findings if f.code == "S127"]
        wrong = len([d for d in differences if "#" in d])
        total += count
        agreed += count - min(wrong, count)
        modules.add(case["module"])
        if (differences or unreadable) and case["module"] not in known:
            unexplained.append(f"{case['module']}: {case['rule']}: {differences[:1]} {unreadable[:1]}")
    rate = agreed / total if total else 0.0
    report_summary(
        f"iptables extension tests listed with -L -n -v -x: {agreed}/{total} rules read back equal ({rate:.2%}) "
        f"over {len(modules)} modules; modules not read exactly: {len(known)} (listing-differences.yaml)"
    )
    assert total > 1000
    assert rate >= MIN_EXTENSION_AGREEMENT
    assert not unexplained, "\n".join(unexplained[:40])


def counters_within(shown_line: str, counters) -> bool:
    """Whether the pkts and bytes columns of a plain `-L -v` rule line hold `counters`."""
    words = shown_line.split()
    ranges = [counter_range(word) for word in words[:2]]
    return all(low <= n <= high for (low, high), n in zip(ranges, (counters.packets, counters.bytes), strict=True))


@pytest.mark.kernel
def test_plain_listings_read_back_within_their_losses(real_outputs):
    """`iptables -L -v` (names, rounded counters, no rule numbers): every rule whose line is
    not marked uncertain for a name equals the dump's, and its counters' ranges hold the
    exact counters."""
    compared = equal = lossy = lossy_equal = 0
    unexplained = []
    backend, collected = real_outputs
    for entry, outputs in collected:
        family = Family(entry["family"])
        expected = parse(outputs["save"], "save", family)
        if not expected.ok:
            continue
        got = parse_input(outputs["plain"], entry["file"], family, "listing")
        have = chains_of(got.ruleset)
        for (table, chain), (_, _, rules) in chains_of(expected.ruleset).items():
            mine = have.get((table, chain), (None, None, ()))[2]
            for index, rule in enumerate(rules):
                other = mine[index] if index < len(mine) else None
                kinds = {u.kind for u in got.ruleset.uncertainty(other.line)} if other else set()
                shown = got.ruleset.line_text(other.line) if other else ""
                same = other and meaning(other, False) == meaning(rule, False) and counters_within(shown, rule.counters)
                if kinds & {"names", "hashlimit-name"}:
                    lossy += 1
                    lossy_equal += bool(same)
                    continue
                compared += 1
                if same:
                    equal += 1
                else:
                    unexplained.append(f"{entry['file']} {table}/{chain}#{index + 1}: {shown!r} != {rule.text!r}")
    rate = equal / compared if compared else 0.0
    report_summary(
        f"iptables -L -v (names, rounded counters; {backend}) read back: {equal}/{compared} rules equal to iptables-save -c "
        f"({rate:.2%}), counters within their rounding; {lossy} more marked lossy (names, IPv6 'anywhere', "
        f"hashlimit names), {lossy_equal} of them equal anyway"
    )
    assert compared > 1000
    assert rate >= MIN_AGREEMENT, "\n".join(unexplained[:40])


@pytest.mark.kernel
def test_rounded_counters_hold_the_exact_ones(netns):
    """Without -x, each K/M/G counter's range holds the exact number iptables-save prints."""
    dump = "*filter\n:INPUT ACCEPT [123456789:98765432101]\n[99999:100000] -A INPUT -j ACCEPT\n"
    dump += "[100500:2500499] -A INPUT -p tcp -j ACCEPT\n[7:123456789012345] -A INPUT -p udp -j ACCEPT\nCOMMIT\n"
    netns.run(["iptables-legacy-restore", "--counters"], dump)
    listing = run(netns, ["iptables-legacy", "-L", "-n", "-v"])
    saved = parse(run(netns, ["iptables-legacy-save", "-c"])).ruleset
    got = parse_input(listing, input_format="listing").ruleset
    for want, have in zip(saved.chain("filter", "INPUT").rules, got.chain("filter", "INPUT").rules, strict=True):
        shown = got.line_text(have.line).split()
        for number, text in zip((want.counters.packets, want.counters.bytes), shown[:2], strict=True):
            low, high = counter_range(text)
            assert low <= number <= high, (text, number)
        assert meaning(want, counters=False) == meaning(have, counters=False)


# ---------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------

NAT_LISTING = """\
Chain PREROUTING (policy ACCEPT 6 packets, 328 bytes)
num   pkts bytes target     prot opt in     out     source               destination
1    14138  743K DOCKER     all  --  *      *       0.0.0.0/0            0.0.0.0/0            ADDRTYPE match dst-type LOCAL

Chain DOCKER (1 references)
num   pkts bytes target     prot opt in     out     source               destination
1       19  1140 RETURN     all  --  docker0 *       0.0.0.0/0            0.0.0.0/0
"""


def test_cli_parse_and_check_read_a_listing(tmp_path, capsys):
    from iptlint.cli import main

    path = tmp_path / "nat.txt"
    path.write_text(NAT_LISTING)
    assert main(["parse", str(path), "--table", "nat"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["input_format"] == "listing" and [t["name"] for t in document["tables"]] == ["nat"]
    assert [u["kind"] for u in document["uncertain"]] == ["counters"]
    assert document["tables"][0]["chains"][0]["rules"][0]["counters"] == {"packets": 14138, "bytes": 743000}
    main(["check", str(path), "--no-config", "--input-format", "listing", "--table", "nat", "--format", "concise"])
    out = capsys.readouterr().out
    assert f"{path}:3:1: S126" in out
    assert main(["check", str(path), "--no-config", "--input-format", "save", "--format", "concise"]) == 1
    assert "S103" in capsys.readouterr().out


def test_the_whole_post_reads_as_its_latest_listings(seed_text):
    """The post as one file: prose is one S127, each table is read from its last listing
    (the excerpts after nginx started), with what they lose."""
    result = parse_input(seed_text, "post.txt", input_format="auto")
    assert [(t.name, [c.name for c in t.chains]) for t in result.ruleset.tables] == [
        ("nat", ["POSTROUTING", "DOCKER"]),
        ("filter", ["DOCKER"]),
    ]
    lines = {f.code: set() for f in result.findings}
    for finding in result.findings:
        lines[finding.code].add(finding.span.line)
    assert lines["S126"] == {254}  # rule 2 without rule 1 (`-t fillter` is in an ignored listing)
    assert len(lines["S127"]) == 5  # the prose, and four earlier listings of nat and filter


def test_concatenated_listings_split_where_a_table_must_begin():
    filter_part = "Chain INPUT (policy ACCEPT)\ntarget prot opt source destination\n\nChain FORWARD (policy DROP)\n"
    nat_part = "Chain PREROUTING (policy ACCEPT)\n\nChain INPUT (policy ACCEPT)\n\nChain OUTPUT (policy ACCEPT)\n"
    nat_part += "\nChain POSTROUTING (policy ACCEPT)\ntarget     prot opt source               destination\n"
    nat_part += "MASQUERADE  all  --  172.17.0.0/16        0.0.0.0/0\n"
    result = parse_input(filter_part + "Chain OUTPUT (policy ACCEPT)\n" + nat_part, input_format="auto")
    assert [t.name for t in result.ruleset.tables] == ["filter", "nat"]
    assert result.ruleset.chain("nat", "POSTROUTING").rules[0].target.name == "MASQUERADE"


@pytest.mark.parametrize(
    ("line", "family"),
    [
        ("1 0 0 ACCEPT  all  --  *  *  ::/0  ::/0", Family.IPV6),
        ("1 0 0 ACCEPT  all  --  *  *  fe80::/10  !2001:db8::1/128", Family.IPV6),
        ("1 0 0 ACCEPT  ipv6-icmp  --  any  any  anywhere  anywhere", Family.IPV6),
        ("1 0 0 ACCEPT  all  --  *  *  0.0.0.0/0  0.0.0.0/0  MAC 00:00:F1:05:A0:E0", Family.IPV4),
        ("1 0 0 DNAT  tcp  --  *  *  0.0.0.0/0  0.0.0.0/0  tcp dpt:80 to:172.17.0.2:80", Family.IPV4),
    ],
)
def test_listing_family(line, family):
    header = (
        "Chain INPUT (policy ACCEPT 0 packets, 0 bytes)\nnum pkts bytes target prot opt in out source destination\n"
    )
    assert parse_input(header + line + "\n", input_format="listing").ruleset.family is family


def test_findings_about_uncertain_rules_say_so():
    """`iptables -L -n` hides `-i lo`: the 'accept everything' rule may not be one."""
    listing = "# iptables -L -n\nChain INPUT (policy DROP)\ntarget     prot opt source               destination\n"
    listing += "ACCEPT     all  --  0.0.0.0/0            0.0.0.0/0\n"
    listing += "ACCEPT     tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:22\n"
    findings = [f for f in lint(listing, "l.txt", Settings(select=("S2",))).findings if f.span.line == 5]
    assert findings and all(f.message.endswith("(uncertain: the listing hides interfaces)") for f in findings)
    assert all(r.span.column == 1 for f in findings for r in f.related)


def test_cli_trace_follows_a_packet_through_a_listing(tmp_path, capsys):
    from iptlint.cli import main

    path = tmp_path / "nat.txt"
    path.write_text(NAT_LISTING)
    argv = ["trace", str(path), "--table", "nat", "--in", "eth0", "--dst", "10.0.0.1", "--dport", "80"]
    assert main([*argv, "--local-address", "10.0.0.1"]) == 0
    out = capsys.readouterr().out
    assert f"{path}:3" in out and f"{path}:7" in out  # PREROUTING's jump, DOCKER's RETURN: listing lines
