"""Reachability (iptlint.semantics.reach) and the checks built on it (R001-R004).

Soundness is tested against concrete evaluators written here, independent of the
walk: a random chain is both rendered as a dump and kept as data, and a packet is run
through the data rule by rule (first rule whose target ends the chain wins).  A rule
that R001 reports must never match a packet there, whatever the matches iptlint cannot
evaluate (`-m limit`) decide; removing a rule that R002 reports must change no verdict.
On the corpus, the evaluator runs through the real chains with the match models
answering for one packet (their unknown answers resolved every way tried).
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptlint import extensions
from iptlint.analysis import Analysis
from iptlint.linter import Settings, lint
from iptlint.semantics import packets as p
from iptlint.semantics.models import ModelContext, evaluate, rule_bounds
from iptlint.semantics.packets import FIELD_NAMES, Cube, IntervalSet, PacketSet, PatternSet
from iptlint.semantics.reach import OverlapIndex, Reachability
from iptlint.syntax.ast import Family, Ruleset, TargetKind
from iptlint.syntax.parser import parse

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPUS = sorted((SHARED / "corpus" / "real").glob("**/*.rules"))


def dump(*lines: str, table: str = "filter") -> str:
    return "\n".join((f"*{table}", *lines, "COMMIT", ""))


def analysis_of(text: str) -> Analysis:
    result = parse(text, "test.rules")
    assert result.ok, result.findings
    return Analysis(result.ruleset)


def positions(text: str, code: str) -> list[tuple[str, int, int]]:
    found = lint(text, "test.rules", Settings(select=(code,))).findings
    return [(f.code, f.span.line, f.span.column) for f in found if f.code == code]


def messages(text: str, code: str) -> list[str]:
    return [f.message for f in lint(text, "test.rules", Settings(select=(code,))).findings if f.code == code]


# ---------------------------------------------------------------------------------------
# Random chains, as data and as text
# ---------------------------------------------------------------------------------------

INTERFACES = ("eth0", "eth1", "eth+", "docker0")
NETWORKS = ("10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32", "192.168.0.0/24")
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
PORTS = ((22, 22), (80, 80), (1000, 2000))
STATES = ("NEW", "ESTABLISHED", "RELATED", "INVALID")
MARKS = (1, 2)
TARGETS = ("ACCEPT", "DROP", "RETURN", "REJECT", "LOG", "MARK", None)
INPUT_TARGETS = (*TARGETS, "SUB", "SUB")  # SUB: a user chain of random rules (no further jumps)
ENDING = frozenset({"ACCEPT", "DROP", "RETURN", "REJECT"})


@dataclass(frozen=True)
class Condition:
    value: object
    negated: bool = False


@dataclass(frozen=True)
class RuleSpec:
    in_iface: Condition | None = None
    src: Condition | None = None
    dst: Condition | None = None
    proto: Condition | None = None
    dport: Condition | None = None  # only under a non-negated tcp/udp protocol
    states: Condition | None = None
    more_states: Condition | None = None  # a second conntrack match: may contradict the first
    mark: Condition | None = None
    limited: bool = False  # -m limit: iptlint cannot know; the evaluators try both answers
    target: str | None = "ACCEPT"
    set_mark: int = 1

    def text(self, chain: str = "INPUT") -> str:
        words = ["-A", chain]

        def add(flag: str, condition: Condition | None, shown: Callable[[object], str] = str) -> None:
            if condition is not None:
                words.extend([*(["!"] if condition.negated else []), flag, shown(condition.value)])

        add("-i", self.in_iface)
        add("-s", self.src)
        add("-d", self.dst)
        add("-p", self.proto)
        if self.dport is not None:
            words += ["-m", self.proto.value]
            add(
                "--dport", self.dport, lambda ports: f"{ports[0]}:{ports[1]}" if ports[0] != ports[1] else str(ports[0])
            )
        for states in (self.states, self.more_states):
            if states is not None:
                words += ["-m", "conntrack"]
                add("--ctstate", states, lambda names: ",".join(sorted(names)))
        if self.mark is not None:
            words += ["-m", "mark"]
            add("--mark", self.mark, hex)
        if self.limited:
            words += ["-m", "limit", "--limit", "5/sec"]
        if self.target == "MARK":
            words += ["-j", "MARK", "--set-mark", hex(self.set_mark)]
        elif self.target is not None:
            words += ["-j", self.target]
        return " ".join(words)


def conditions(values, negatable: bool = True):
    """No condition two times out of three: short rules shadow each other more often."""
    condition = st.builds(Condition, st.sampled_from(values), st.booleans() if negatable else st.just(False))
    return st.one_of(st.none(), st.none(), condition)


@st.composite
def rule_specs(draw, targets: tuple = TARGETS) -> RuleSpec:
    proto = draw(conditions(tuple(PROTOCOLS)))
    dport = None
    if proto is not None and not proto.negated and proto.value in ("tcp", "udp"):
        dport = draw(conditions(PORTS))
    state_sets = st.builds(Condition, st.frozensets(st.sampled_from(STATES), min_size=1), st.booleans())
    states = draw(st.one_of(st.none(), st.none(), state_sets))
    more_states = draw(st.one_of(st.none(), st.none(), st.none(), state_sets)) if states is not None else None
    return RuleSpec(
        in_iface=draw(conditions(INTERFACES)),
        src=draw(conditions(NETWORKS)),
        dst=draw(conditions(NETWORKS)),
        proto=proto,
        dport=dport,
        states=states,
        more_states=more_states,
        mark=draw(conditions(MARKS)),
        limited=draw(st.booleans().map(lambda b: b and draw(st.booleans()))),
        target=draw(st.sampled_from(targets)),
        set_mark=draw(st.sampled_from(MARKS)),
    )


@dataclass(frozen=True)
class ChainSpec:
    policy: str
    rules: tuple[RuleSpec, ...]
    sub: tuple[RuleSpec, ...] = ()  # the rules of user chain SUB

    def text(self) -> str:
        return dump(
            f":INPUT {self.policy} [0:0]",
            ":SUB - [0:0]",
            *(rule.text() for rule in self.rules),
            *(rule.text("SUB") for rule in self.sub),
        )

    def of(self, chain: str) -> tuple[RuleSpec, ...]:
        return self.rules if chain == "INPUT" else self.sub


NARROWABLE = ("in_iface", "src", "dst", "states", "mark")


def narrowed(base: RuleSpec, extra: RuleSpec) -> RuleSpec:
    """`base` with some of `extra`'s conditions added and `extra`'s target: a rule `base` shadows."""
    added = {name: getattr(extra, name) for name in NARROWABLE if getattr(base, name) is None}
    return replace(base, **added, limited=extra.limited, target=extra.target, set_mark=extra.set_mark)


@st.composite
def chains(draw) -> ChainSpec:
    """Chains where later rules often narrow earlier ones, so that some never match."""
    rules: list[RuleSpec] = []
    for _ in range(draw(st.integers(0, 10))):
        fresh = draw(rule_specs(INPUT_TARGETS))
        if rules and draw(st.booleans()):
            fresh = narrowed(draw(st.sampled_from(rules)), fresh)
        rules.append(fresh)
    sub = tuple(draw(st.lists(rule_specs(), max_size=4)))
    return ChainSpec(draw(st.sampled_from(("ACCEPT", "DROP"))), tuple(rules), sub)


# ---------------------------------------------------------------------------------------
# The concrete evaluator of random chains
# ---------------------------------------------------------------------------------------

Unknown = Callable[[int], bool]  # rule number -> what its -m limit says for this packet


def _holds(condition: Condition | None, test: Callable[[object], bool]) -> bool:
    return condition is None or test(condition.value) != condition.negated


def _interface_is(name: str, pattern: str) -> bool:
    return name.startswith(pattern[:-1]) if pattern.endswith("+") else name == pattern


def spec_matches(rule: RuleSpec, packet: dict, limit_says: bool) -> bool:
    """Whether the rule's conditions hold for the packet, as the kernel reads them."""
    return (
        _holds(rule.in_iface, lambda pattern: _interface_is(packet["in_iface"], pattern))
        and _holds(rule.src, lambda net: packet["src"] in ipaddress.ip_network(net))
        and _holds(rule.dst, lambda net: packet["dst"] in ipaddress.ip_network(net))
        and _holds(rule.proto, lambda name: packet["proto"] == PROTOCOLS[name])
        and (
            rule.dport is None
            or (
                packet["proto"] == PROTOCOLS[rule.proto.value]
                and not packet["fragment"]
                and _holds(rule.dport, lambda ports: ports[0] <= packet["dport"] <= ports[1])
            )
        )
        and _holds(rule.states, lambda states: packet["ct_state"] in states)
        and _holds(rule.more_states, lambda states: packet["ct_state"] in states)
        and _holds(rule.mark, lambda mark: packet["mark"] == mark)
        and (not rule.limited or limit_says)
    )


Place = tuple[str, int]  # (chain, rule number)


@dataclass(frozen=True)
class Outcome:
    verdict: str
    decided_by: Place | None  # the INPUT rule that ended the traversal (a jump to SUB counts), None: policy
    matched: tuple[Place, ...]  # every rule whose conditions held when the packet reached it
    packet: tuple


def run_spec(chain: ChainSpec, packet: dict, unknown: Unknown, skip: Place | None = None, start: str = "INPUT"):
    """Run a packet from chain `start` (rule `skip` left out): SUB returns, or stops the traversal."""
    packet = dict(packet)
    matched: list[Place] = []
    how, verdict, by = _run_rules(chain, start, packet, unknown, skip, matched)
    frozen = tuple(sorted(packet.items(), key=str))
    if how != "stop":
        return Outcome(chain.policy if start == "INPUT" else "back to the caller", None, tuple(matched), frozen)
    return Outcome(verdict, by, tuple(matched), frozen)


def _run_rules(chain: ChainSpec, name: str, packet: dict, unknown: Unknown, skip, matched: list) -> tuple:
    """("stop", verdict, place) when a verdict ends the traversal, ("return"|"end", None, None) otherwise."""
    for number, rule in enumerate(chain.of(name)):
        here = (name, number)
        if here == skip or not spec_matches(rule, packet, unknown(number + (100 if name == "SUB" else 0))):
            continue
        matched.append(here)
        if rule.target == "MARK":
            packet["mark"] = rule.set_mark
        elif rule.target == "SUB":
            how, verdict, _ = _run_rules(chain, "SUB", packet, unknown, skip, matched)
            if how == "stop":
                return how, verdict, here
        elif rule.target == "RETURN":
            return "return", None, None
        elif rule.target in ENDING:
            return "stop", rule.target, here
    return "end", None, None


def unknown_choices(seed: int) -> list[Unknown]:
    """Ways to resolve the matches iptlint cannot evaluate: never, always, at random."""
    rng = random.Random(seed)
    table = [rng.random() < 0.5 for _ in range(256)]
    return [lambda _n: False, lambda _n: True, lambda n: table[n % 256]]


# ---------------------------------------------------------------------------------------
# Packets: random ones, and members of a set
# ---------------------------------------------------------------------------------------

RANDOM_VALUES = {
    "in_iface": ("eth0", "eth1", "eth2", "docker0", "lo"),
    "src": ("10.1.2.3", "10.1.9.9", "10.5.5.5", "192.168.0.7", "198.51.100.1"),
    "dst": ("10.1.2.3", "10.1.9.9", "10.5.5.5", "192.168.0.7", "198.51.100.1"),
    "proto": (6, 17, 1, 47),
    "dport": (22, 80, 1500, 3000),
    "ct_state": ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED"),
    "mark": (0, 1, 2, 3),
    "fragment": (False, False, True),
}


def random_packet(rng: random.Random, family: Family = Family.IPV4) -> dict:
    packet = PacketSet.any(family).sample()
    for field, values in RANDOM_VALUES.items():
        if field in ("src", "dst") and family is not Family.IPV4:
            continue  # the sample's own IPv6 addresses
        value = rng.choice(values)
        packet[field] = ipaddress.ip_address(value) if field in ("src", "dst") else value
    return packet


def random_member(cube: Cube, rng: random.Random) -> dict:
    """A packet of the cube, each field drawn at random from its constraint."""
    packet = {}
    for field in FIELD_NAMES:
        constraint = cube.constraint(field)
        if isinstance(constraint, PatternSet):
            value, mask = rng.choice(constraint.patterns)
            number = value | (rng.getrandbits(constraint.width) & ~mask)
        else:
            assert isinstance(constraint, IntervalSet)
            lo, hi = rng.choice(constraint.intervals)
            number = rng.randint(lo, hi)
        packet[field] = p.decode(field, number, cube.family)
    return packet


def packets_of(packets: PacketSet, rng: random.Random, per_cube: int = 3) -> list[dict]:
    found = []
    for cube in packets.cubes[:8]:
        found.append(cube.sample())
        found.extend(random_member(cube, rng) for _ in range(per_cube))
    return found


# ---------------------------------------------------------------------------------------
# Soundness on random chains
# ---------------------------------------------------------------------------------------

RANDOM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def walked(chain: ChainSpec) -> tuple[Ruleset, Reachability]:
    result = parse(chain.text(), "random.rules")
    assert result.ok, (chain.text(), result.findings)
    return result.ruleset, Analysis(result.ruleset).reachability


@RANDOM
@given(chains(), st.integers(0, 2**16))
def test_a_rule_that_never_matches_matches_no_packet(chain, seed):
    _, reachability = walked(chain)
    rng = random.Random(seed)
    for name in ("INPUT", "SUB"):
        reach = reachability.chain("filter", name)
        for position in reach.never:
            samples = packets_of(reach.bounds[position].over, rng) + [random_packet(rng) for _ in range(10)]
            for packet in samples:
                for unknown in unknown_choices(seed):
                    for start in {"INPUT", name}:
                        outcome = run_spec(chain, packet, unknown, start=start)
                        assert (name, position) not in outcome.matched, (chain.text(), name, position, packet)


@RANDOM
@given(chains(), st.integers(0, 2**16))
def test_removing_a_redundant_rule_changes_no_verdict(chain, seed):
    _, reachability = walked(chain)
    rng = random.Random(seed)
    for found in reachability.redundancies:
        name = found.rule.chain
        reach = reachability.chain("filter", name)
        position = list(reach.chain.rules).index(found.rule)
        samples = packets_of(reach.bounds[position].over, rng) + [random_packet(rng) for _ in range(10)]
        for packet in samples:
            for unknown in unknown_choices(seed):
                for start in {"INPUT", name}:
                    with_it = run_spec(chain, packet, unknown, start=start)
                    without = run_spec(chain, packet, unknown, skip=(name, position), start=start)
                    assert (with_it.verdict, with_it.packet) == (without.verdict, without.packet), (
                        chain.text(),
                        name,
                        position,
                        packet,
                    )


@RANDOM
@given(chains(), st.integers(0, 2**16))
def test_the_models_agree_with_the_concrete_evaluator(chain, seed):
    ruleset, _ = walked(chain)
    rng = random.Random(seed)
    ctx = ModelContext(Family.IPV4, "filter", "INPUT")
    parsed = ruleset.chain("filter", "INPUT").rules + ruleset.chain("filter", "SUB").rules
    for spec, rule in zip(chain.rules + chain.sub, parsed, strict=True):
        bounds = rule_bounds(rule, ctx)
        for packet in packets_of(bounds.over, rng, 1) + [random_packet(rng) for _ in range(10)]:
            said = evaluate(bounds, packet)
            concrete = {spec_matches(spec, packet, limit) for limit in (False, True)}
            if said is True:
                assert concrete == {True}, (rule.text, packet)
            elif said is False:
                assert concrete == {False}, (rule.text, packet)


@RANDOM
@given(st.lists(rule_specs(), min_size=1, max_size=30), st.integers(0, 2**16))
def test_the_index_finds_every_overlapping_set(specs, seed):
    result = parse(ChainSpec("ACCEPT", tuple(specs)).text(), "random.rules")
    ctx = ModelContext(Family.IPV4, "filter", "INPUT")
    sets = [rule_bounds(rule, ctx).over for rule in result.ruleset.chain("filter", "INPUT").rules]
    index = OverlapIndex()
    for number, packets in enumerate(sets):
        index.add(number, packets)
    for probe in sets:
        found = index.query(probe)
        assert {number for number, packets in enumerate(sets) if packets.overlaps(probe)} <= found


# ---------------------------------------------------------------------------------------
# Soundness on the corpus: a concrete walk through the real chains
# ---------------------------------------------------------------------------------------


class Walker:
    """One packet through real chains: models answer the matches, unknowns as `unknown` says."""

    def __init__(self, ruleset: Ruleset, table: str, unknown: Callable[[int], bool], known: dict) -> None:
        self.ruleset = ruleset
        self.table = ruleset.table(table)
        self.unknown = unknown
        self.known = known  # id(rule) -> its bounds, shared by the walkers of one file
        self.matched: set[int] = set()
        self.depth = 0

    def bounds(self, rule, chain: str):
        found = self.known.get(id(rule))
        if found is None:
            found = self.known[id(rule)] = rule_bounds(rule, ModelContext(self.ruleset.family, self.table.name, chain))
        return found

    def run(self, chain_name: str, packet: dict) -> str:
        """'end' (the chain ran out or returned) or 'stop' (a verdict ended the traversal)."""
        chain = self.table.chain(chain_name)
        self.depth += 1
        if chain is None or self.depth > 40:
            return "stop"
        for rule in chain.rules:
            said = evaluate(self.bounds(rule, chain_name), packet)
            if said is None:
                said = self.unknown(rule.line)
            if not said:
                continue
            self.matched.add(id(rule))
            target = rule.target
            if target is None:
                continue
            if target.kind is TargetKind.CHAIN:
                if self.run(target.name, packet) == "stop":
                    return "stop"
                if target.goto:
                    return "end"
                continue
            if target.kind is TargetKind.VERDICT:
                return "end" if target.name == "RETURN" else "stop"
            extension = extensions.find("target", target.name)
            if extension is not None and extension.terminal:
                return "stop"
            if target.kind is TargetKind.UNKNOWN or target.name in ("MARK", "CONNMARK", "HMARK"):
                packet["mark"] = self.unknown(rule.line + 1) and rule.line  # some other mark
        return "end"


@pytest.mark.skipif(not CORPUS, reason=f"shared corpus not found under {SHARED}")
def test_no_rule_of_the_corpus_reported_never_matching_matches_a_sampled_packet():
    rng = random.Random(7)
    checked = 0
    for path in CORPUS:
        result = parse(path.read_bytes().decode("utf-8", "surrogateescape"), str(path))
        reachability = Reachability(result.ruleset)
        known: dict = {}
        for (table, chain_name), reach in reachability.chains.items():
            for position, found in reach.never.items():
                over = reach.bounds[position].over
                for packet in [*packets_of(over, rng, 2), random_packet(rng, result.ruleset.family)]:
                    for unknown in unknown_choices(position):
                        walker = Walker(result.ruleset, table, unknown, known)
                        walker.run(chain_name, dict(packet))
                        assert id(found.rule) not in walker.matched, (str(path), found.rule.line, packet)
                checked += 1
    assert checked > 50  # the corpus has many such rules; if none, the walk broke


@pytest.mark.skipif(not CORPUS, reason=f"shared corpus not found under {SHARED}")
def test_cached_conditions_are_rule_bounds():
    rng = random.Random(11)
    for path in rng.sample(CORPUS, 40):
        result = parse(path.read_bytes().decode("utf-8", "surrogateescape"), str(path))
        reachability = Reachability(result.ruleset)
        for (table, chain), reach in reachability.chains.items():
            ctx = ModelContext(result.ruleset.family, table, chain)
            for rule, bounds in zip(reach.chain.rules, reach.bounds, strict=True):
                expected = rule_bounds(rule, ctx)
                assert bounds.over.equivalent(expected.over) and bounds.under.equivalent(expected.under), rule.text


# ---------------------------------------------------------------------------------------
# Rewrites
# ---------------------------------------------------------------------------------------

MARK_THEN_MATCH = dump(
    ":INPUT ACCEPT [0:0]",
    ":SETMARK - [0:0]",
    "-A INPUT -m mark --mark 0x1 -j ACCEPT",
    "-A INPUT -j MARK --set-mark 0x1",
    "-A INPUT -m mark --mark 0x1 -j DROP",
)


def test_a_rule_after_a_mark_rewrite_is_not_claimed_dead():
    assert positions(MARK_THEN_MATCH, "R001") == []


def test_a_rewrite_inside_a_called_chain_counts_too():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":SETMARK - [0:0]",
        "-A INPUT -m mark --mark 0x1 -j ACCEPT",
        "-A INPUT -j SETMARK",
        "-A INPUT -m mark --mark 0x1 -j DROP",
        "-A SETMARK -j MARK --set-mark 0x1",
    )
    assert positions(text, "R001") == []


def test_a_rewrite_that_cannot_touch_the_decided_packets_keeps_them_decided():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        "-A INPUT -i eth0 -m mark --mark 0x1 -j ACCEPT",
        "-A INPUT -i eth1 -j MARK --set-mark 0x1",
        "-A INPUT -i eth0 -m mark --mark 0x1 -j DROP",
    )
    assert positions(text, "R001") == [("R001", 5, 1)]


def test_a_connmark_rewrite_is_not_a_mark_of_another_field():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        "-A INPUT -m connmark --mark 0x1 -j ACCEPT",
        "-A INPUT -j CONNMARK --restore-mark",
        "-A INPUT -m connmark --mark 0x1 -j DROP",
        "-A INPUT -m mark --mark 0x1 -j DROP",
    )
    assert ("R001", 5, 1) not in positions(text, "R001")


# ---------------------------------------------------------------------------------------
# R001 rule-never-matches
# ---------------------------------------------------------------------------------------

SHADOWED = dump(
    ":INPUT DROP [0:0]",
    "-A INPUT -i lo -j ACCEPT",
    "-A INPUT -s 10.0.0.0/8 -j ACCEPT",
    "-A INPUT -s 10.1.0.0/16 -p tcp -m tcp --dport 22 -j DROP",
    "-A INPUT -p tcp -m tcp --dport 22 -m conntrack --ctstate NEW -m conntrack --ctstate ESTABLISHED -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 80 -m limit --limit 1/sec -j ACCEPT",
    "-A INPUT -p tcp -m tcp --dport 80 -s 10.9.9.9 -j DROP",
)


def test_r001_reports_shadowed_and_contradicting_rules():
    assert positions(SHADOWED, "R001") == [("R001", 5, 1), ("R001", 6, 1), ("R001", 8, 1)]


def test_r001_names_the_fewest_deciders_and_the_contradiction():
    found = lint(SHADOWED, "test.rules", Settings(select=("R001",))).findings
    shadowed, contradiction, _ = found
    assert "accepted earlier by line 4" in shadowed.message
    assert [related.span.line for related in shadowed.related] == [4]
    assert "`-m conntrack --ctstate NEW` and `-m conntrack --ctstate ESTABLISHED`" in contradiction.message


def test_r001_does_not_trust_a_match_it_cannot_evaluate():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -p tcp -m limit --limit 1/sec -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -j DROP",
    )
    assert positions(text, "R001") == []


def test_r001_leaves_s207_and_s205_cases_to_them():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -j DROP",
        "-A INPUT -p udp -j ACCEPT",
    )
    assert positions(text, "R001") == []
    assert positions(text, "S205") == [("S205", 4, 1)]
    assert positions(text, "S207") == [("S207", 6, 1)]


def test_r001_covers_a_rule_by_several_deciders_together():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -m conntrack --ctstate NEW,INVALID -j DROP",
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
    )
    (message,) = messages(text, "R001")
    assert "decided earlier by lines 3, 4 and 5" in message


def test_goto_and_terminal_extensions_decide_but_jumps_do_not():
    text = dump(
        ":INPUT DROP [0:0]",
        ":X - [0:0]",
        "-A INPUT -p tcp -j X",
        "-A INPUT -p tcp -m tcp --dport 1 -j ACCEPT",
        "-A INPUT -p udp -g X",
        "-A INPUT -p udp -m udp --dport 1 -j ACCEPT",
        "-A INPUT -p icmp -j REJECT",
        "-A INPUT -p icmp -j ACCEPT",
        "-A X -j LOG",
    )
    assert positions(text, "R001") == [("R001", 7, 1), ("R001", 9, 1)]


# ---------------------------------------------------------------------------------------
# R002 redundant-rule
# ---------------------------------------------------------------------------------------


def test_r002_reports_a_rule_a_later_one_repeats_and_a_rule_the_policy_repeats():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -s 10.1.0.0/16 -j ACCEPT",
        "-A INPUT -s 192.168.0.0/16 -p tcp -m tcp --dport 22 -j DROP",
        "-A INPUT -s 10.0.0.0/8 -j ACCEPT",
        "-A INPUT -p udp -j DROP",
    )
    assert positions(text, "R002") == [("R002", 3, 1), ("R002", 4, 1), ("R002", 6, 1)]
    overlapping = text.replace("-s 192.168.0.0/16 -p tcp", "-p tcp")  # now drops some of line 3's packets
    assert positions(overlapping, "R002") == [("R002", 6, 1)]


def test_r002_is_stopped_by_any_rule_in_between_that_might_act():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -s 10.1.0.0/16 -j ACCEPT",
        "-A INPUT -s 10.1.2.0/24 -j LOG",
        "-A INPUT -s 10.0.0.0/8 -j ACCEPT",
        "-A INPUT -p udp -m limit --limit 1/sec -j DROP",
        "-A INPUT -p udp -j ACCEPT",
        "-A INPUT -p tcp",
    )
    assert positions(text, "R002") == []


def test_r002_leaves_a_return_at_the_end_of_a_user_chain_alone():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":DOCKER - [0:0]",
        "-A INPUT -j DOCKER",
        "-A DOCKER -i docker0 -j RETURN",
        "-A DOCKER -i docker1 -j RETURN",
    )
    assert positions(text, "R002") == []
    followed = text.replace("-i docker1 -j RETURN", "-j RETURN")  # a later RETURN does the same
    assert positions(followed, "R002") == [("R002", 5, 1)]


def test_r002_message_names_the_later_rule():
    text = dump(":INPUT ACCEPT [0:0]", "-A INPUT -s 10.1.0.0/16 -j DROP", "-A INPUT -s 10.0.0.0/8 -j DROP")
    (message,) = messages(text, "R002")
    assert "dropped the same way by line 4" in message


# ---------------------------------------------------------------------------------------
# R003 unreachable-chain, R004 empty-jump
# ---------------------------------------------------------------------------------------


def test_r003_follows_chains_only_dead_chains_enter():
    text = dump(
        ":INPUT DROP [0:0]",
        ":A - [0:0]",
        ":B - [0:0]",
        ":C - [0:0]",
        ":LONE - [0:0]",
        "-A INPUT -j ACCEPT",
        "-A INPUT -j A",
        "-A A -j B",
        "-A B -s 10.0.0.0/8 -j ACCEPT",
        "-A C -j B",
        "-A LONE -j ACCEPT",
    )
    assert positions(text, "R003") == [("R003", 3, 1)]
    text = text.replace("-A INPUT -j ACCEPT\n", "-A INPUT -p tcp -j ACCEPT\n")
    assert positions(text, "R003") == []


def test_r003_needs_every_referrer_dead():
    text = dump(
        ":INPUT DROP [0:0]",
        ":A - [0:0]",
        "-A INPUT -p tcp -j ACCEPT",
        "-A INPUT -p tcp -j A",
        "-A INPUT -p udp -j A",
        "-A A -j ACCEPT",
    )
    assert positions(text, "R003") == []


def test_r004_reports_jumps_to_chains_that_do_nothing():
    text = dump(
        ":INPUT DROP [0:0]",
        ":EMPTY - [0:0]",
        ":RETURNS - [0:0]",
        ":NESTED - [0:0]",
        ":LOGS - [0:0]",
        "-A INPUT -j EMPTY",
        "-A INPUT -p tcp -j RETURNS",
        "-A INPUT -j NESTED",
        "-A INPUT -j LOGS",
        "-A INPUT -g EMPTY",
        "-A RETURNS -s 10.0.0.0/8 -j RETURN",
        "-A RETURNS -j RETURN",
        "-A NESTED -p tcp",
        "-A NESTED -j EMPTY",
        "-A LOGS -j LOG",
    )
    assert positions(text, "R004") == [("R004", 7, 10), ("R004", 8, 17), ("R004", 9, 10), ("R004", 15, 11)]
    assert not [f for f in lint(text, "test.rules").findings if f.code == "R004"]  # off by default


def test_r004_message_says_what_the_chain_is():
    text = dump(":INPUT DROP [0:0]", ":E - [0:0]", ":R - [0:0]", "-A INPUT -j E", "-A INPUT -j R", "-A R -j RETURN")
    assert messages(text, "R004") == [
        "this jump does nothing: chain E is empty",
        "this jump does nothing: chain R only returns",
    ]


# ---------------------------------------------------------------------------------------
# Scale: the walk stays close to linear on a kube-proxy layout
# ---------------------------------------------------------------------------------------


def test_a_long_chain_of_distinct_destinations_finds_what_is_shadowed():
    lines = [":INPUT DROP [0:0]"]
    lines += [f"-A INPUT -d 10.{i // 250}.{i % 250}.1/32 -p tcp -m tcp --dport 80 -j REJECT" for i in range(3000)]
    lines.append("-A INPUT -d 10.3.7.1/32 -p tcp -m tcp --dport 80 -j ACCEPT")  # repeats rule 758's packets
    reach = analysis_of(dump(*lines)).reachability.chain("filter", "INPUT")
    assert list(reach.never) == [3000]
    assert [rule.line for rule in reach.never[3000].deciders] == [3 + 3 * 250 + 7]


def test_same_analysis_on_a_rule_with_a_hostname_is_sound():
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -s example.com -j ACCEPT",
        "-A INPUT -s 192.0.2.1 -j DROP",
    )
    assert positions(text, "R001") == []


MOBY = SHARED / "corpus" / "real" / "moby-docker"


@pytest.mark.skipif(not MOBY.is_dir(), reason=f"shared corpus not found at {MOBY}")
def test_r002_leaves_dockers_own_forward_accepts_to_d007():
    dumps = sorted(MOBY.glob("*.rules"))
    reported = []
    for path in dumps:
        result = lint(path.read_bytes(), str(path), Settings(select=("R002",)))
        reported += [(path.name, f.span.line) for f in result.findings if f.chain == "FORWARD"]
    assert dumps and not reported


def test_a_jump_to_a_chain_that_always_decides_counts_as_a_decider():
    text = dump(
        ":INPUT ACCEPT [0:0]",
        ":LOGDROP - [0:0]",
        ":MAYBE - [0:0]",
        "-A INPUT -s 203.0.113.0/24 -j LOGDROP",
        "-A INPUT -s 203.0.113.7 -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -s 198.51.100.0/24 -j MAYBE",
        "-A INPUT -s 198.51.100.7 -j ACCEPT",
        "-A LOGDROP -j LOG",
        "-A LOGDROP -j DROP",
        "-A MAYBE -p udp -j RETURN",
        "-A MAYBE -j DROP",
    )
    assert positions(text, "R001") == [("R001", 6, 1)]
    (message,) = messages(text, "R001")
    assert "decided in LOGDROP earlier by line 5" in message


def test_a_failing_model_makes_its_match_unknown(monkeypatch):
    from iptlint.semantics import reach

    def broken(match, ctx):
        raise ValueError("a value the model did not expect")

    real = reach.match_bounds
    monkeypatch.setattr(
        reach, "match_bounds", lambda match, ctx: broken(match, ctx) if match.name == "tcp" else real(match, ctx)
    )
    text = dump(
        ":INPUT DROP [0:0]",
        "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp -m tcp --dport 22 -s 10.0.0.1 -j DROP",
        "-A INPUT -p udp -j ACCEPT",
        "-A INPUT -p udp -s 10.0.0.1 -j DROP",
    )
    assert positions(text, "R001") == [("R001", 6, 1)]  # the tcp rules are unknown now, the udp ones still known
