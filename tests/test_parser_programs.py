"""The parser's programs (its fast path) on kube-proxy's shapes: the builder's result, with nodes shared.

The programs guess the next line's program (two guesses), share the match nodes of
parts that read the same words the same way (kube-proxy's endpoint comment, in the
KUBE-MARK-MASQ and DNAT rules of each KUBE-SEP chain), and stop caching only parts
whose cache no other program fills.  None of it may change what parse() gives.
"""

from __future__ import annotations

import sys
from pathlib import Path

from iptlint.syntax import parser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import generate_kube_proxy as K  # noqa: N812

# 1,200 endpoints: more lines than _ADAPT_AT in the MASQ and DNAT programs, so that adapt() runs.
TEXT = K.generate(services=400, endpoints=3, seed=7)


def _parse(fast: bool) -> parser.ParseResult:
    parser.FAST_PATH = fast
    try:
        return parser.parse(TEXT, "kube-proxy.rules")
    finally:
        parser.FAST_PATH = True


def test_programs_give_the_builders_result() -> None:
    assert _parse(True) == _parse(False)


def test_an_endpoints_comment_is_one_node_in_both_of_its_rules() -> None:
    nat = next(table for table in _parse(True).ruleset.tables if table.name == "nat")
    pairs = [chain.rules for chain in nat.chains if chain.name.startswith("KUBE-SEP-") and len(chain.rules) == 2]
    assert len(pairs) > parser._ADAPT_AT
    shared = 0
    for masq, dnat in pairs:
        (comment,) = [match for match in masq.matches if match.name == "comment"]
        (other,) = [match for match in dnat.matches if match.name == "comment"]
        assert comment == other
        shared += comment is other
    # All but the lines read before the programs are made (the builder's nodes are its own).
    assert shared >= len(pairs) - 5
