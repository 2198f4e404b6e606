"""Differential tests: iptlint against the real iptables-restore 1.8.9.

For every dump of the shared corpus (`../shared/corpus/real/**/*.rules`) and every case of
iptables' own extension tests (`../shared/corpus/iptables-tests/extensions.jsonl`, as a
one-rule dump), the real `ip(6)tables-(nft|legacy)-restore` loads the text into a
throwaway network namespace, so the kernel checks it too.  Where a real load is
impossible (runtime state this machine cannot create: ipsets, nfacct objects, DNS), the
item is listed under `test_only` in `known-differences.yaml` with the reason, and
`--test` is used instead.

iptlint agrees with iptables on an item when
* iptables accepts it and iptlint reports no ERROR-severity S1xx finding, or
* iptables rejects it and iptlint's first ERROR is on the line iptables blamed.  Two
  spellings of the same place count as the same line: iptables names the line after the
  last one for a missing COMMIT at the end of the file, and blames a table's COMMIT line
  for what it finds only when the table is committed (legacy: the kernel's checks;
  nft: jumps to chains that do not exist); then iptlint's first error must be inside
  that table.

Every disagreement must be listed by name in `known-differences.yaml` with its reason,
and agreement on extension cases whose modules all have iptlint option tables ("typed
modules") must reach 99.5%, leaving out the cases this machine cannot load at all (known
differences of the categories runtime-state, hostname and kernel-module).  The rates are
printed in the terminal summary.

Extension cases become `*table / :CHAIN - [0:0] (user chains) / -A CHAIN rule / COMMIT`,
once per tool (iptables, ip6tables) and chain of the case.  A case's setup is run first
when it is plain iptables commands (the RATEEST estimators of libxt_rateest.t); a case
that needs anything else is `test_only`, with the reason.

The mutation test changes one word of a corpus dump (delete, duplicate, swap, replace a
word, insert `!`, corrupt a number) and compares with `iptables-nft-restore --test`;
the kinds of difference known not to count are the `mutation_filters` of the same file.
"""

from __future__ import annotations

import fnmatch
import functools
import itertools
import json
import re
import shlex
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import kernel
import pytest
import yaml
from conftest import CORPUS, report_summary, requires_corpus, requires_root_tools
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from iptlint import extensions
from iptlint.findings import Severity
from iptlint.syntax.ast import BUILTIN_CHAINS, VERDICTS, Family
from iptlint.syntax.parser import detect_family, parse

KNOWN_DIFFERENCES = Path(__file__).with_name("known-differences.yaml")
EXTENSION_CASES = CORPUS / "iptables-tests" / "extensions.jsonl"
TYPED_MODULES_THRESHOLD = 0.995
# Known differences that measure the test machine, not iptlint: left out of the typed-modules rate.
ENVIRONMENT_CATEGORIES = frozenset({"runtime-state", "hostname", "kernel-module"})
WORKERS = 2


# ---------------------------------------------------------------------------------------
# What is compared: items
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Item:
    """One text fed to both iptlint and iptables."""

    name: str  # how known-differences.yaml names it
    source: str  # "corpus" or "extension"
    family: Family
    text: str
    typed: bool = True  # every module of the rule has an iptlint option table
    setup: tuple[tuple[str, ...], ...] = ()  # iptables commands a real load needs first (argv without the tool)


def family_of_corpus_file(path: Path, text: str) -> Family:
    """The family the manifest records for a corpus file (the header decides otherwise)."""
    return Family.IPV6 if _MANIFEST_FAMILY.get(path.relative_to(CORPUS).as_posix()) == "ipv6" else detect_family(text)


def _manifest_families() -> dict[str, str]:
    manifest = CORPUS / "manifest.jsonl"
    if not manifest.is_file():
        return {}
    return {record["file"]: record["family"] for record in map(json.loads, manifest.read_text().splitlines())}


_MANIFEST_FAMILY = _manifest_families()


def corpus_items() -> list[Item]:
    """Every real dump of the corpus, as it is."""
    items = []
    for path in sorted((CORPUS / "real").glob("**/*.rules")):
        text = path.read_bytes().decode("utf-8", "surrogateescape")
        name = path.relative_to(CORPUS).as_posix()
        items.append(Item(name, "corpus", family_of_corpus_file(path, text), text))
    return items


def one_rule_dump(table: str, chain: str, rule: str) -> str:
    """`*table / :CHAIN - [0:0] (user chains only) / -A CHAIN rule / COMMIT`."""
    declaration = "" if chain in BUILTIN_CHAINS.get(table, ()) else f":{chain} - [0:0]\n"
    return f"*{table}\n{declaration}-A {chain} {rule}\nCOMMIT\n"


_MODULE_WORDS = {
    "-m": "match",
    "--match": "match",
    "-j": "target",
    "--jump": "target",
    "-g": "target",
    "--goto": "target",
}


def modules_of(rule: str) -> list[tuple[str, str]]:
    """The (kind, name) of every -m/-j/-g module a rule line names."""
    try:
        words = shlex.split(rule, posix=True)
    except ValueError:
        words = rule.split()
    found = []
    for word, following in itertools.pairwise(words):
        kind = _MODULE_WORDS.get(word)
        if kind is not None:
            found.append((kind, following))
    return found


def is_typed(case: dict) -> bool:
    """True when iptlint has an option table for every module of the case."""
    modules = modules_of(case["rule"])
    if case["kind"] in ("match", "target"):
        modules.append((case["kind"], case["module"]))
    for kind, name in modules:
        if kind == "target" and (name in VERDICTS or not name.isupper()):
            continue  # a verdict, or a user chain
        if extensions.find(kind, name) is None:
            return False
    return True


_SETUP_TOOLS = ("iptables", "ip6tables")


def trivial_setup(case: dict) -> tuple[tuple[str, ...], ...] | None:
    """The setup of a case as iptables commands, or None when it needs more than iptables."""
    commands = []
    for step in case["setup"]:
        argv = tuple(shlex.split(step["cmd"]))
        if not argv or argv[0] not in _SETUP_TOOLS:
            return None
        commands.append(argv)
    return tuple(commands)


def extension_items() -> list[Item]:
    """Every IPv4/IPv6 case of iptables' extension tests, once per tool and chain."""
    items = []
    for line in EXTENSION_CASES.read_text().splitlines():
        case = json.loads(line)
        if case["family"] not in ("ipv4", "ipv6", "both"):
            continue
        table = case["table"] or "filter"
        setup = trivial_setup(case)
        for tool in case["tools"]:
            family = Family.IPV6 if tool == "ip6tables" else Family.IPV4
            for chain in case["chains"] or ["INPUT"]:
                name = f"{Path(case['file']).name}:{case['line']}/{tool}/{chain}"
                text = one_rule_dump(table, chain, case["rule"])
                items.append(Item(name, "extension", family, text, is_typed(case), setup or ()))
    return items


# ---------------------------------------------------------------------------------------
# What is known to differ: known-differences.yaml
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KnownDifference:
    pattern: str  # an item name, or an fnmatch pattern over names
    backends: tuple[str, ...]
    category: str
    reason: str

    def covers(self, name: str, backend: str) -> bool:
        return backend in self.backends and fnmatch.fnmatchcase(name, self.pattern)


@dataclass(frozen=True, slots=True)
class KnownDifferences:
    categories: dict[str, str]
    test_only: dict[str, str]  # name pattern -> why a real load is impossible
    differences: tuple[KnownDifference, ...]

    def load_impossible(self, name: str) -> str | None:
        for pattern, reason in self.test_only.items():
            if fnmatch.fnmatchcase(name, pattern):
                return reason
        return None

    def environment(self, name: str, backend: str) -> bool:
        """True when the item cannot agree on this machine (state, DNS or kernel modules it lacks)."""
        known = self.explain(name, backend)
        return known is not None and known.category in ENVIRONMENT_CATEGORIES

    def explain(self, name: str, backend: str) -> KnownDifference | None:
        for known in self.differences:
            if known.covers(name, backend):
                return known
        return None


def load_known_differences(path: Path = KNOWN_DIFFERENCES) -> KnownDifferences:
    data = yaml.safe_load(path.read_text()) or {}
    categories = data.get("categories") or {}
    test_only = {entry["name"]: entry["reason"] for entry in data.get("test_only") or []}
    differences = []
    for entry in data.get("differences") or []:
        category = entry["category"]
        assert category in categories, f"known-differences.yaml: unknown category {category!r} for {entry['name']}"
        backends = tuple(entry.get("backends") or kernel.BACKENDS)
        differences.append(KnownDifference(entry["name"], backends, category, entry["reason"]))
    return KnownDifferences(categories, test_only, tuple(differences))


# ---------------------------------------------------------------------------------------
# Comparing one item
# ---------------------------------------------------------------------------------------


def iptlint_first_error(item: Item) -> int | None:
    """The line of iptlint's first ERROR-severity syntax finding, or None when it has none."""
    result = parse(item.text, item.name, item.family)
    lines = [f.span.line for f in result.findings if f.severity is Severity.ERROR]  # every parser error counts
    return min(lines, default=None)


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Item
    backend: str
    tested_only: bool  # --test instead of a real load
    verdict: kernel.Verdict
    iptlint_line: int | None

    @property
    def agrees(self) -> bool:
        if self.verdict.ok:
            return self.iptlint_line is None
        return self.iptlint_line is not None and kernel.same_place(self.item.text, self.iptlint_line, self.verdict.line)

    def describe(self) -> str:
        mode = "--test" if self.tested_only else "load"
        ours = "accepts" if self.iptlint_line is None else f"error at line {self.iptlint_line}"
        return f"{self.item.name} [{self.backend} {mode}]: iptables {self.verdict.describe()[:160]}; iptlint {ours}"


# ---------------------------------------------------------------------------------------
# Running iptables on every item, two workers, one namespace per worker and backend
# ---------------------------------------------------------------------------------------


class Workers:
    """Namespaces for the worker threads; a real load changes a namespace, so none is shared."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.namespaces: list[kernel.Namespace] = []
        self.lock = threading.Lock()

    def namespace(self, backend: str) -> kernel.Namespace:
        spaces = getattr(self.local, "spaces", None)
        if spaces is None:
            spaces = self.local.spaces = {}
        if backend not in spaces:
            namespace = kernel.Namespace(f"iptlint-diff-{backend}")
            with self.lock:
                self.namespaces.append(namespace)
            spaces[backend] = namespace.__enter__()
        return spaces[backend]

    def close(self) -> None:
        for namespace in self.namespaces:
            namespace.delete()


_SETUP_BINARIES = {
    ("nft", "iptables"): "iptables-nft",
    ("nft", "ip6tables"): "ip6tables-nft",
    ("legacy", "iptables"): "iptables-legacy",
    ("legacy", "ip6tables"): "ip6tables-legacy",
}


def run_item(workers: Workers, known: KnownDifferences, item: Item, backend: str) -> Outcome:
    impossible = known.load_impossible(item.name)
    namespace = workers.namespace(backend)
    if impossible is None:
        for argv in item.setup:
            namespace.run([_SETUP_BINARIES[(backend, argv[0])], *argv[1:]])
    verdict = namespace.restore(item.text, backend, item.family, test=impossible is not None)
    return Outcome(item, backend, impossible is not None, verdict, iptlint_first_error(item))


def run_all(items: list[Item], known: KnownDifferences) -> list[Outcome]:
    workers = Workers()
    try:
        with ThreadPoolExecutor(WORKERS) as pool:
            jobs = [
                pool.submit(run_item, workers, known, item, backend) for item in items for backend in kernel.BACKENDS
            ]
            return [job.result() for job in jobs]
    finally:
        workers.close()


# ---------------------------------------------------------------------------------------
# Fixtures and reports
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def known() -> KnownDifferences:
    return load_known_differences()


@pytest.fixture(scope="module")
def corpus_outcomes(known) -> list[Outcome]:
    requires_corpus()
    requires_root_tools()
    return run_all(corpus_items(), known)


@pytest.fixture(scope="module")
def extension_outcomes(known) -> list[Outcome]:
    requires_corpus()
    requires_root_tools()
    return run_all(extension_items(), known)


def rate(outcomes: list[Outcome]) -> tuple[int, int]:
    return sum(o.agrees for o in outcomes), len(outcomes)


def percent(good: int, total: int) -> str:
    return f"{good}/{total} ({100 * good / total:.1f}%)" if total else "0/0"


def by_backend(outcomes: list[Outcome]) -> Iterator[tuple[str, list[Outcome]]]:
    for backend in kernel.BACKENDS:
        yield backend, [o for o in outcomes if o.backend == backend]


def unexplained(outcomes: list[Outcome], known: KnownDifferences) -> list[str]:
    return [o.describe() for o in outcomes if not o.agrees and known.explain(o.item.name, o.backend) is None]


def stale(outcomes: list[Outcome], known: KnownDifferences) -> list[str]:
    """Known differences that name some of these items but explain none of their disagreements."""
    names = [o.item.name for o in outcomes]
    explained = Counter()
    for outcome in outcomes:
        if not outcome.agrees:
            entry = known.explain(outcome.item.name, outcome.backend)
            if entry is not None:
                explained[entry.pattern] += 1
    return [
        entry.pattern
        for entry in known.differences
        if not explained[entry.pattern] and any(fnmatch.fnmatchcase(name, entry.pattern) for name in names)
    ]


def report_stale(patterns: list[str]) -> None:
    if patterns:
        report_summary(f"  known differences that explain nothing now (remove them): {', '.join(patterns)}")


def summarize(label: str, outcomes: list[Outcome]) -> str:
    parts = []
    for backend, group in by_backend(outcomes):
        tested = sum(o.tested_only for o in group)
        note = f", {tested} with --test" if tested else ""
        parts.append(f"{backend} {percent(*rate(group))}{note}")
    return f"differential: {label}: " + ", ".join(parts)


# ---------------------------------------------------------------------------------------
# The tests
# ---------------------------------------------------------------------------------------


@pytest.mark.kernel
@pytest.mark.slow
def test_corpus_agrees_with_iptables(corpus_outcomes, known):
    report_summary(summarize("corpus (real dumps)", corpus_outcomes))
    report_stale(stale(corpus_outcomes, known))
    missing = unexplained(corpus_outcomes, known)
    assert not missing, "disagreements not in known-differences.yaml:\n" + "\n".join(missing)


@pytest.mark.kernel
@pytest.mark.slow
def test_extension_cases_agree_with_iptables(extension_outcomes, known):
    typed = [o for o in extension_outcomes if o.item.typed]
    comparable = [o for o in typed if not known.environment(o.item.name, o.backend)]
    report_summary(summarize("extension cases, all", extension_outcomes))
    report_summary(summarize("extension cases, typed modules", typed))
    report_summary(summarize("extension cases, typed modules, this machine able to load them", comparable))
    untyped = Counter(o.item.name.split(":")[0] for o in extension_outcomes if not o.item.typed)
    report_summary(f"  untyped extension test files: {len(untyped)} ({sum(untyped.values())} runs)")
    report_stale(stale(extension_outcomes, known))
    low = [
        f"{backend} {percent(*rate(group))}"
        for backend, group in by_backend(comparable)
        if group and rate(group)[0] / rate(group)[1] < TYPED_MODULES_THRESHOLD
    ]
    missing = unexplained(extension_outcomes, known)
    assert not missing, "disagreements not in known-differences.yaml:\n" + "\n".join(missing)
    assert not low, f"agreement on typed modules under {TYPED_MODULES_THRESHOLD:.1%}: {', '.join(low)}"


def test_known_differences_file_is_well_formed(known):
    for entry in known.differences:
        assert entry.reason.strip(), f"{entry.pattern}: a known difference needs a reason"
        assert set(entry.backends) <= set(kernel.BACKENDS), f"{entry.pattern}: unknown backend"
    for pattern, reason in known.test_only.items():
        assert reason.strip(), f"{pattern}: say why a real load is impossible"


@pytest.mark.parametrize(
    ("text", "iptlint_line", "iptables_line", "same"),
    [
        ("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", 2, 2, True),
        ("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", 2, 3, True),  # blamed at COMMIT, error inside the table
        ("*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", 1, None, False),
        ("*filter\n-A INPUT -j ACCEPT\n", 2, 3, True),  # missing COMMIT: iptables names the line after the end
        ("*nat\nCOMMIT\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", 2, 5, False),  # another table
    ],
)
def test_same_place(text, iptlint_line, iptables_line, same):
    assert kernel.same_place(text, iptlint_line, iptables_line) is same


def test_error_line_is_read_from_each_message_form():
    assert kernel.error_line("x: Bad argument `foo' | Error occurred at line: 12 | Try") == 12
    assert kernel.error_line("iptables-restore: line 4 failed") == 4
    assert kernel.error_line("iptables-nft-restore: COMMIT expected at line 8") == 8
    assert kernel.error_line("ok") is None


# ---------------------------------------------------------------------------------------
# Mutations: corpus dumps changed one word at a time, against iptables-nft-restore --test
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MutationFilter:
    """A known kind of difference the mutation test does not count (from known-differences.yaml)."""

    category: str
    iptables: re.Pattern[str] | None  # matches iptables' error message
    iptlint: re.Pattern[str] | None  # matches the message of iptlint's first error
    iptables_accepts: bool | None  # only when iptables accepted (True) or rejected (False)
    iptlint_accepts: bool | None = None  # only when iptlint had no error (True) or had one (False)

    def covers(self, verdict: kernel.Verdict, iptlint_message: str) -> bool:
        """`iptlint_message` is the message of iptlint's first error, "" when it has none."""
        if self.iptables_accepts is not None and verdict.ok is not self.iptables_accepts:
            return False
        if self.iptlint_accepts is not None and (iptlint_message == "") is not self.iptlint_accepts:
            return False
        if self.iptables is not None and not self.iptables.search(verdict.message):
            return False
        return self.iptlint is None or bool(self.iptlint.search(iptlint_message))


def load_mutation_filters(path: Path = KNOWN_DIFFERENCES) -> list[MutationFilter]:
    data = yaml.safe_load(path.read_text()) or {}
    filters = []
    for entry in data.get("mutation_filters") or []:
        filters.append(
            MutationFilter(
                entry["category"],
                re.compile(entry["iptables"]) if entry.get("iptables") else None,
                re.compile(entry["iptlint"]) if entry.get("iptlint") else None,
                entry.get("iptables_accepts"),
                entry.get("iptlint_accepts"),
            )
        )
    return filters


def mutation_sources() -> list[tuple[str, Family, str]]:
    """Small corpus dumps that iptables-nft-restore --test accepts: (name, family, text)."""
    manifest = CORPUS / "manifest.jsonl"
    if not manifest.is_file():
        return []
    sources = []
    for record in map(json.loads, manifest.read_text().splitlines()):
        if record["nft_test_ok"] and record["bytes"] < 16_000:
            text = (CORPUS / record["file"]).read_text()
            family = Family.IPV6 if record["family"] == "ipv6" else Family.IPV4
            if first_error(text, family) is None:  # both accept it before the mutation
                sources.append((record["file"], family, text))
    return sources


_ODD_NUMBERS = ("0", "-1", "65535", "65536", "256", "4294967296", "18446744073709551616", "1e3", "0x", "07")


def _delete(draw, words: list[str]) -> list[str]:
    i = draw(st.integers(0, len(words) - 1))
    return words[:i] + words[i + 1 :]


def _duplicate(draw, words: list[str]) -> list[str]:
    i = draw(st.integers(0, len(words) - 1))
    return words[: i + 1] + words[i:]


def _swap(draw, words: list[str]) -> list[str]:
    if len(words) < 2:
        return words
    i = draw(st.integers(0, len(words) - 2))
    return [*words[:i], words[i + 1], words[i], *words[i + 2 :]]


def _insert_not(draw, words: list[str]) -> list[str]:
    i = draw(st.integers(0, len(words)))
    return [*words[:i], "!", *words[i:]]


def _corrupt_number(draw, words: list[str]) -> list[str]:
    numbered = [i for i, word in enumerate(words) if re.search(r"\d", word)]
    if not numbered:
        return words
    i = draw(st.sampled_from(numbered))
    runs = list(re.finditer(r"\d+", words[i]))
    run = draw(st.sampled_from(runs))
    replacement = draw(st.sampled_from(_ODD_NUMBERS))
    word = words[i][: run.start()] + replacement + words[i][run.end() :]
    return [*words[:i], word, *words[i + 1 :]]


def _replace_with_another(draw, words: list[str]) -> list[str]:
    i = draw(st.integers(0, len(words) - 1))
    j = draw(st.integers(0, len(words) - 1))
    return [*words[:i], words[j], *words[i + 1 :]]


MUTATIONS = {
    "delete": _delete,
    "replace": _replace_with_another,
    "duplicate": _duplicate,
    "swap": _swap,
    "insert-not": _insert_not,
    "corrupt-number": _corrupt_number,
}


@st.composite
def mutated_dumps(draw):
    """(description, family, text): a corpus dump with one word of one rule line changed."""
    sources = cached_mutation_sources()
    assume(sources)
    name, family, text = sources[draw(st.integers(0, len(sources) - 1))]
    lines = text.split("\n")
    # Rule lines mostly, but table, chain and COMMIT lines too.
    rule_lines = [i for i, line in enumerate(lines) if line.startswith("-")]
    other_lines = [i for i, line in enumerate(lines) if line[:1] in ("*", ":", "C")]
    assume(rule_lines)
    number = draw(st.sampled_from(rule_lines if draw(st.integers(0, 4)) or not other_lines else other_lines))
    words = lines[number].split(" ")
    mutation = draw(st.sampled_from(sorted(MUTATIONS)))
    changed = MUTATIONS[mutation](draw, words)
    assume(changed != words)
    lines[number] = " ".join(changed)
    return f"{name}:{number + 1} {mutation}: {lines[number]!r}", family, "\n".join(lines)


def first_error(text: str, family: Family):
    """iptlint's first ERROR-severity syntax finding, or None."""
    errors = [f for f in parse(text, "mutant", family).findings if f.severity is Severity.ERROR]
    return min(errors, key=lambda f: (f.span.line, f.span.column), default=None)


def untyped_line(text: str, family: Family, line: int) -> bool:
    """True when the line uses a module iptlint reads without an option table (S110)."""
    return any(f.code == "S110" and f.span.line == line for f in parse(text, "mutant", family).findings)


@pytest.fixture(scope="module")
def nft_namespace():
    requires_corpus()
    requires_root_tools()
    with kernel.Namespace("iptlint-mutants") as namespace:
        yield namespace


@functools.cache
def cached_mutation_sources() -> tuple[tuple[str, Family, str], ...]:
    return tuple(mutation_sources())


_MUTATION_FILTERS = load_mutation_filters() if KNOWN_DIFFERENCES.is_file() else []
_mutation_counts: Counter = Counter()


@pytest.mark.kernel
@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
)
@given(case=mutated_dumps())
def test_mutated_dumps_agree_with_iptables_test(nft_namespace, case):
    description, family, text = case
    verdict = nft_namespace.restore(text, "nft", family, test=True)
    error = first_error(text, family)
    line = error.span.line if error is not None else None
    outcome = Outcome(Item(description, "mutant", family, text), "nft", True, verdict, line)
    _mutation_counts["run"] += 1
    if outcome.agrees:
        _mutation_counts["agree"] += 1
        return
    changed_line = int(description.split(" ")[0].rsplit(":", 1)[1])
    if untyped_line(text, family, changed_line):
        _mutation_counts["untyped module"] += 1
        return
    message = error.message if error is not None else ""
    for known_filter in _MUTATION_FILTERS:
        if known_filter.covers(verdict, message):
            _mutation_counts[known_filter.category] += 1
            return
    pytest.fail(f"{description}\n  iptables: {verdict.describe()}\n  iptlint: {error}")


def test_zz_report_mutation_counts():
    """Prints what the mutation test saw (runs after it: pytest keeps file order)."""
    if _mutation_counts["run"]:
        filtered = ", ".join(f"{k} {n}" for k, n in sorted(_mutation_counts.items()) if k not in ("run", "agree"))
        report_summary(
            f"differential: mutations (nft --test) agree {percent(_mutation_counts['agree'], _mutation_counts['run'])}"
            + (f"; filtered as known: {filtered}" if filtered else "")
        )


# ---------------------------------------------------------------------------------------
# The harness itself
# ---------------------------------------------------------------------------------------


def test_missing_tools_skip_outside_ci_and_fail_in_ci(monkeypatch):
    monkeypatch.setattr(kernel, "missing_tools", lambda: "needs iptables-nft-restore")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="needs iptables-nft-restore"):
        requires_root_tools()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        requires_root_tools()


@pytest.mark.kernel
def test_netns_fixture_gives_an_empty_namespace_and_deletes_it(netns):
    listed = kernel.subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert netns.name in listed
    assert netns.restore("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "nft", Family.IPV4).ok
    done = netns.run(["iptables-nft-save"])
    assert b"-A " not in done.stdout


@pytest.mark.kernel
def test_namespace_is_deleted_even_after_an_error():
    requires_root_tools()
    with pytest.raises(RuntimeError), kernel.Namespace() as namespace:
        name = namespace.name
        raise RuntimeError("boom")
    listed = kernel.subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert name not in listed.split()
