"""The reachability walk's shortcuts (iptlint.semantics.reach): what it skips must not matter.

At the head of a chain, a rule that decides nothing and that surely matches some packet
is passed without its bounds (`_plainly_satisfiable`, read from the text).  Every rule
that shortcut passes must have a non-empty over-set, or a contradiction would go
unreported: checked here on crafted rules (negated networks, the whole space, both
families) and on every rule of the corpus and the examples.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from iptlint.analysis import Analysis
from iptlint.semantics.models import ModelContext, rule_bounds
from iptlint.semantics.reach import _plainly_satisfiable
from iptlint.syntax.ast import Family
from iptlint.syntax.parser import parse

ROOT = Path(__file__).resolve().parents[1]
DUMPS = sorted((ROOT.parent / "shared" / "corpus" / "real").glob("**/*.rules"))
DUMPS += sorted((ROOT / "examples").glob("*.rules"))


def analysis_of(text: str, family: Family = Family.IPV4) -> Analysis:
    result = parse(text, "test.rules", family)
    assert result.ok, result.findings
    return Analysis(result.ruleset)


def head_rule_dump(condition: str, table: str = "nat") -> str:
    """`condition` on a jump to a chain that only marks (decides nothing), at the head of a user chain."""
    return "\n".join(
        (
            f"*{table}",
            ":SVC - [0:0]",
            ":MASQ - [0:0]",
            f"-A SVC {condition} -j MASQ",
            "-A SVC -j RETURN",
            "-A MASQ -j MARK --set-xmark 0x4000/0x4000",
            "COMMIT",
            "",
        )
    )


@pytest.mark.parametrize(
    ("condition", "family"),
    [
        ("! -s 0.0.0.0/0", Family.IPV4),
        ("! -d 0.0.0.0/0 -p tcp -m tcp --dport 80", Family.IPV4),
        ("! -s ::/0 -d ::1/128", Family.IPV6),
    ],
)
def test_a_negated_whole_space_still_contradicts(condition: str, family: Family) -> None:
    analysis = analysis_of(head_rule_dump(condition), family)
    rule = analysis.ruleset.chain("nat", "SVC").rules[0]
    found = analysis.reachability.never_matches(rule)
    assert found is not None and found.contradicts_itself


@pytest.mark.parametrize(
    ("condition", "family"),
    [
        ("! -s 10.244.0.0/14 -d 10.96.0.10/32 -p tcp -m tcp --dport 53", Family.IPV4),
        ("! -s 0.0.0.0/1", Family.IPV4),
        ("! -d fd00::/8 -p udp -m udp --dport 53", Family.IPV6),
    ],
)
def test_a_negated_network_matches_and_its_bounds_stay_exact(condition: str, family: Family) -> None:
    analysis = analysis_of(head_rule_dump(condition), family)
    chain = analysis.ruleset.chain("nat", "SVC")
    rule = chain.rules[0]
    assert analysis.reachability.never_matches(rule) is None
    assert _plainly_satisfiable(rule)  # the shortcut is taken...
    reach = analysis.reachability.chain("nat", "SVC")
    expected = rule_bounds(rule, ModelContext(family, "nat", "SVC"))
    assert reach.bounds[0].over == expected.over  # ...and the bounds, asked later, are the model's


@pytest.mark.parametrize("path", DUMPS, ids=lambda path: path.name)
def test_every_plainly_satisfiable_rule_has_packets(path: Path) -> None:
    result = parse(path.read_text(encoding="utf-8", errors="surrogateescape"), str(path))
    ruleset = result.ruleset
    for table in ruleset.tables:
        ctx = ModelContext(ruleset.family, table.name, "")
        for chain in table.chains:
            for rule in chain.rules:
                if not _plainly_satisfiable(rule):
                    continue
                try:
                    over = rule_bounds(rule, ctx).over
                except Exception:  # the walk counts a failing model as unknown: any packet
                    continue
                assert not over.is_empty(), rule.text


def test_a_rewrite_behind_a_jump_still_counts_when_asked_late() -> None:
    """What a jump rewrites is computed only after a rule that decides: it must still be known then."""
    text = "\n".join(
        (
            "*mangle",
            ":PREROUTING ACCEPT [0:0]",
            ":SETMARK - [0:0]",
            "-A PREROUTING -m mark --mark 0x1 -j ACCEPT",
            "-A PREROUTING -j SETMARK",
            "-A PREROUTING -m mark --mark 0x1 -j DROP",
            "-A SETMARK -j MARK --set-mark 0x1",
            "COMMIT",
            "",
        )
    )
    analysis = analysis_of(text)
    rules = analysis.ruleset.chain("mangle", "PREROUTING").rules
    assert analysis.reachability.never_matches(rules[2]) is None  # SETMARK marks packets the first rule let by
    reach = analysis.reachability.chain("mangle", "PREROUTING")
    assert reach.effects[1].rewrites == frozenset({"mark"})
