"""Renderers of `iptlint explain` (an `iptlint.explain.Explanation`): text, markdown, json.

Pure functions of the explanation; each returns text ending in a newline.
"""

from __future__ import annotations

import json

from iptlint.explain import ChainExplanation, Explanation, RuleLine, human_count


def _counts(counters) -> str:
    if counters is None:
        return ""
    return f"{human_count(counters.packets)} pkts {human_count(counters.bytes)} bytes"


def _policy_line(chain: ChainExplanation) -> str:
    if not chain.policy:
        return ""
    counted = _counts(chain.policy_counters)
    return f"policy {chain.policy}" + (f" ({counted})" if counted else "") + f": {chain.policy_note}"


def _name(chain: ChainExplanation) -> str:
    return f"{chain.table} {chain.chain}"


def _rule_text(chain: ChainExplanation, rule: RuleLine) -> str:
    return f"{chain.chain} {rule.index}: {rule.sentence}"


def render_text(explanation: Explanation) -> str:
    lines: list[str] = []
    for chain in explanation.chains:
        lines.append(f"{_name(chain)} — {chain.purpose}")
        policy = _policy_line(chain)
        if policy:
            lines.append(f"  {policy}")
        if not chain.rules:
            lines.append("  (no rules)")
        for rule in chain.rules:
            counted = _counts(rule.counters)
            lines.append(f"  {counted:>22}  {_rule_text(chain, rule)}" if counted else f"  {_rule_text(chain, rule)}")
            lines.extend(f"{'':>26}! {finding}" for finding in rule.findings)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n" if lines else "no chains\n"


def render_markdown(explanation: Explanation) -> str:
    lines = [f"# What `{explanation.path}` does, in the order a packet meets it", ""]
    for chain in explanation.chains:
        lines += [f"## {_name(chain)}", "", f"*{chain.purpose}*", ""]
        policy = _policy_line(chain)
        if policy:
            lines += [f"**{policy}**", ""]
        if chain.rules:
            lines += ["| # | packets | bytes | what it does | findings |", "|---|---|---|---|---|"]
            for rule in chain.rules:
                packets = human_count(rule.counters.packets) if rule.counters else ""
                size = human_count(rule.counters.bytes) if rule.counters else ""
                notes = "<br>".join(rule.findings).replace("|", "\\|")
                sentence = rule.sentence.replace("|", "\\|")
                lines.append(f"| {rule.index} | {packets} | {size} | {sentence} | {notes} |")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _counters_json(counters) -> dict | None:
    return None if counters is None else {"packets": counters.packets, "bytes": counters.bytes}


def render_json(explanation: Explanation) -> str:
    document = {
        "path": explanation.path,
        "docker": explanation.docker,
        "chains": [
            {
                "table": chain.table,
                "chain": chain.chain,
                "purpose": chain.purpose,
                "policy": chain.policy,
                "policy_counters": _counters_json(chain.policy_counters),
                "policy_note": chain.policy_note,
                "rules": [
                    {
                        "index": rule.index,
                        "line": rule.line,
                        "rule": rule.source,
                        "explanation": rule.sentence,
                        "counters": _counters_json(rule.counters),
                        "findings": list(rule.findings),
                    }
                    for rule in chain.rules
                ],
            }
            for chain in explanation.chains
        ],
    }
    return json.dumps(document, indent=2) + "\n"


RENDERERS = {"text": render_text, "markdown": render_markdown, "json": render_json}


def render(name: str, explanation: Explanation) -> str:
    return RENDERERS[name](explanation)
