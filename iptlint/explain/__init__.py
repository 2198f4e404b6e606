"""Explain a ruleset rule by rule, in the order a packet meets the chains.

`explain(text, path)` lints the dump once and returns an `Explanation`: for every table
and chain (built-in chains in hook order — PREROUTING raw/mangle/nat, INPUT, FORWARD,
OUTPUT, POSTROUTING — then user chains in the order they are first jumped to) one
`RuleLine` per rule with a plain-English sentence (`iptlint.explain.phrases`), its
counters and the findings at that rule.  Renderers: `iptlint/report/explain.py`.
`iptlint.explain.counters` compares the counters of two snapshots of one ruleset.
"""

from __future__ import annotations

from dataclasses import dataclass

from iptlint.explain.order import chain_order
from iptlint.explain.phrases import Context, chain_purpose, explain_rule, policy_note
from iptlint.syntax.ast import Counters, Ruleset

__all__ = ["ChainExplanation", "Explanation", "RuleLine", "explain", "explain_ruleset", "human_count"]


@dataclass(frozen=True)
class RuleLine:
    """One rule: where it is, what it says in plain English, its counters and findings."""

    index: int  # 1-based, as `iptables -L --line-numbers`
    line: int  # line of the input
    source: str
    sentence: str
    counters: Counters | None
    findings: tuple[str, ...] = ()  # "CODE message"


@dataclass(frozen=True)
class ChainExplanation:
    table: str
    chain: str
    purpose: str
    policy: str | None
    policy_counters: Counters | None
    policy_note: str
    rules: tuple[RuleLine, ...]


@dataclass(frozen=True)
class Explanation:
    path: str
    docker: bool
    chains: tuple[ChainExplanation, ...]


def human_count(number: int) -> str:
    """A counter as `iptables -L -v` prints it: K, M, G, T above 99999 (rounded)."""
    if number <= 99999:
        return str(number)
    for suffix in ("K", "M", "G"):
        number = (number + 500) // 1000
        if number <= 9999:
            return f"{number}{suffix}"
    return f"{(number + 500) // 1000}T"


def explain(
    text: str, path: str = "-", input_format: str = "auto", chain: str | None = None, table: str | None = None
) -> Explanation:
    """Lint `text` once and explain its rules (optionally one chain and/or one table)."""
    from iptlint.linter import Settings, lint

    result = lint(text, path, Settings(input_format=input_format))
    findings: dict[tuple[str, str, int], list[str]] = {}
    for finding in result.findings:
        if finding.table and finding.chain and finding.rule_index:
            key = (finding.table, finding.chain, finding.rule_index)
            findings.setdefault(key, []).append(f"{finding.code} {finding.message}")
    return explain_ruleset(result.ruleset, path, findings, chain, table)


def explain_ruleset(
    ruleset: Ruleset,
    path: str = "-",
    findings: dict[tuple[str, str, int], list[str]] | None = None,
    only_chain: str | None = None,
    only_table: str | None = None,
) -> Explanation:
    from iptlint.analysis import Analysis

    analysis = Analysis(ruleset)
    try:
        docker = analysis.docker
    except Exception:
        docker = None
    context = Context.of(docker)
    findings = findings or {}
    chains = []
    for table, chain in chain_order(ruleset):
        if (only_chain and chain.name != only_chain) or (only_table and table.name != only_table):
            continue
        rules = tuple(
            RuleLine(
                index,
                rule.line,
                rule.source_text,
                explain_rule(rule, context),
                rule.counters,
                tuple(findings.get((table.name, chain.name, index), ())),
            )
            for index, rule in enumerate(chain.rules, 1)
        )
        chains.append(
            ChainExplanation(
                table.name,
                chain.name,
                chain_purpose(table.name, chain.name, context),
                chain.policy,
                chain.counters if chain.policy else None,
                policy_note(table.name, chain, context),
                rules,
            )
        )
    return Explanation(path, docker is not None, tuple(chains))
