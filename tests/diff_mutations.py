"""Rewrites of real corpus dumps for the `iptlint diff` tests: some keep the meaning, some change it.

Shared by tests/test_diff.py (rewrites that keep the meaning are "no change"; the
example packets of real changes get their stated verdicts under iptlint's own walk)
and tests/test_diff_kernel.py (the same example packets, sent through the real kernel).
Each mutation takes the dump's lines, its parsed ruleset and a seeded random source,
and returns the new lines, or None when it does not apply to that dump.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from conftest import CORPUS

from iptlint.semantics.models import ModelContext, rule_bounds
from iptlint.syntax.ast import Ruleset
from iptlint.syntax.parser import parse

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


Mutation = Callable[[list[str], Ruleset, random.Random], "list[str] | None"]


def first_applicable(
    mutations: Sequence[Mutation], lines: list[str], ruleset: Ruleset, rng: random.Random
) -> tuple[Mutation, list[str]] | None:
    """The first of `mutations` that applies to the dump, and the lines it gives (None: none applies)."""
    for mutation in mutations:
        mutated = mutation(lines, ruleset, rng)
        if mutated is not None:
            return mutation, mutated
    return None
