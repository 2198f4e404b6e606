"""Text -> AST: read a dump line by line, as iptables-restore does, and report every error.

`parse(text, path)` never raises on bad input: every problem becomes an S1xx finding at
its line and column, and parsing goes on at the next line, so one run reports every
error of a file.  The result is the ruleset as the kernel would hold it after the
file's commands ran.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field, replace
from operator import itemgetter

from iptlint import collector, extensions
from iptlint.extensions.spec import Extension, OptionSpec
from iptlint.findings import Finding, Severity, Span
from iptlint.syntax import grammar  # its lark exceptions are imported on first use
from iptlint.syntax import values as v
from iptlint.syntax.ast import (
    BUILTIN_CHAINS,
    VERDICTS,
    Chain,
    Comment,
    Counters,
    Family,
    Match,
    Option,
    Rule,
    Ruleset,
    Table,
    Target,
    TargetKind,
    fast_constructor,
)
from iptlint.syntax.diagnostics import DIAGNOSTICS
from iptlint.syntax.grammar import (
    cached_plan,
    fast_words,
    line_words,
    plan_for,
    rule_key,
    split_words,
    unquote,
    word_offsets,
)
from iptlint.syntax.grammar import parser as lark_parser

MAX_CHAIN_NAME = 28  # XT_EXTENSION_MAXNAMELEN - 1


@dataclass(frozen=True, slots=True)
class ParseResult:
    ruleset: Ruleset
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not any(f.severity.name == "ERROR" for f in self.findings)


# ---------------------------------------------------------------------------------------
# The options of the rule itself (iptables' `struct ipt_entry`), not of a module.
# ---------------------------------------------------------------------------------------

_BASIC = Extension(
    name="",
    kind="match",
    options=(
        OptionSpec("-p", v.protocol, ("--protocol",), 1, True),
        OptionSpec("-s", v.ipparse_any, ("--source", "--src"), 1, True),
        OptionSpec("-d", v.ipparse_any, ("--destination", "--dst"), 1, True),
        OptionSpec("-i", v.interface, ("--in-interface",), 1, True),
        OptionSpec("-o", v.interface, ("--out-interface",), 1, True),
        OptionSpec("-f", None, ("--fragment",), 0, True),
        OptionSpec("-c", None, ("--set-counters",), 2),
        OptionSpec("-4", None, ("--ipv4",), 0),
        OptionSpec("-6", None, ("--ipv6",), 0),
        OptionSpec("-v", None, ("--verbose",), 0, False, True),  # options of the command, not the rule
        OptionSpec("-M", None, ("--modprobe",), 1),
        OptionSpec("-m", None, ("--match",), 1),
        OptionSpec("-j", None, ("--jump",), 1),
        OptionSpec("-g", None, ("--goto",), 1),
    ),
)
_BASIC_BY_SPELLING = {s: spec for spec in _BASIC.options for s in spec.spellings}

# The target extensions of iptables 1.8.9 (extensions/lib{xt,ipt,ip6t}_NAME.c): any other
# name after -j or -g is a jump to a user chain.
IPTABLES_TARGETS = frozenset({
    "AUDIT", "CHECKSUM", "CLASSIFY", "CLUSTERIP", "CONNMARK", "CONNSECMARK", "CT", "DNAT", "DNPT", "DSCP",
    "ECN", "HL", "HMARK", "IDLETIMER", "LED", "LOG", "MARK", "MASQUERADE", "NETMAP", "NFLOG", "NFQUEUE",
    "NOTRACK", "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET", "SNAT", "SNPT", "SYNPROXY", "TCPMSS",
    "TCPOPTSTRIP", "TEE", "TOS", "TPROXY", "TRACE", "TTL",
})  # fmt: skip

# Other names iptables accepts for a match (xtables_find_match): `-m icmpv6` is icmp6.
_MATCH_ALIASES = {"icmpv6": "icmp6", "ipv6-icmp": "icmp6"}

# What can name a match module: iptables fails to load anything else ("Couldn't load match").
# Unknown names of this shape may be modules iptlint does not know (S110), such as quota2.
_MATCH_NAME = re.compile(r"[a-z][a-z0-9_]{0,27}")

# Implicit protocol matches: `-p tcp --dport 22` loads the tcp match.
# (There is no udplite match: `-p udplite --dport 53` is an unknown option.)
_PROTOCOL_MATCH = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmp6", 132: "sctp", 33: "dccp", 50: "esp", 51: "ah", 135: "mh"}

_LOOKS_LIKE_V6 = re.compile(r"(?:^|\s)(?:-[sd]|--(?:source|destination|src|dst))\s+!?\s*[0-9a-fA-F]*:[0-9a-fA-F:]*[:/]")
_SIMPLE_CHAIN_DECL = re.compile(r":([^ \t\n]+) ([^ \t\n]+) (\[[0-9]+:[0-9]+\])")
_USER_CHAIN_DECL = re.compile(rf":([^-! \t\n][^ \t\n]{{0,{MAX_CHAIN_NAME - 1}}}) - \[([0-9]+):([0-9]+)\]")
_SHELL_COMMAND = re.compile(r"^\s*(?:sudo\s+)?(?:/\S*/)?(?:ip6?tables(?:-legacy|-nft)?)\s+-", re.M)


def detect_family(text: str) -> Family:
    """IPv6 when the header says ip6tables-save or an address is IPv6; IPv4 otherwise."""
    head = text[:4096]
    if "ip6tables" in head:
        return Family.IPV6
    if "iptables-save" in head or "iptables-restore" in head:
        return Family.IPV4
    if _LOOKS_LIKE_V6.search(text) or re.search(r"-p\s+(?:ipv6-icmp|icmpv6)\b|-m\s+icmp6\b", text):
        return Family.IPV6
    return Family.IPV4


# ---------------------------------------------------------------------------------------
# Building state
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _ChainState:
    name: str
    policy: str | None
    line: int
    counters: Counters | None
    builtin: bool
    rules: list[Rule] = field(default_factory=list)


@dataclass(slots=True)
class _TableState:
    name: str
    line: int
    known: bool
    chains: dict[str, _ChainState] = field(default_factory=dict)
    # A jump may change kind at COMMIT: a target was UNKNOWN when read, or a chain was
    # deleted or renamed.  Without either, close_table takes the rules as they are.
    unsure: bool = False


# `_ChainState(...)` without the dataclass __init__ (its default factory): kube-proxy declares 40,000 chains.
_new_chain_state = fast_constructor(_ChainState)


class _Interner:
    """Shares identical immutable nodes and parsed values between rules."""

    __slots__ = ("nodes", "values")

    def __init__(self) -> None:
        self.nodes: dict[tuple, object] = {}
        self.values: dict[tuple, object] = {}

    def node(self, key: tuple, make) -> object:
        found = self.nodes.get(key)
        if found is None:
            found = self.nodes[key] = make()
        return found


class _LineError(Exception):
    """One error that ends the reading of the current line."""

    def __init__(self, code: str, message: str, column: int = 1, end_column: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.column = column
        self.end_column = end_column


class _Parser:
    def __init__(self, text: str, path: str, family: Family) -> None:
        self.path = path
        self.family = family
        self.lines = text.split("\n")
        self.final_newline = text.endswith("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.findings: list[Finding] = []
        self.tables: list[Table] = []
        self.comments: list[Comment] = []
        self.table: _TableState | None = None
        self.interner = _Interner()
        self.programs: dict[str, _Program | None] = {}  # by grammar.rule_key
        self.seen_once: set[str] = set()  # keys of one line so far: no program yet
        self.recent: list[_Program] = []  # the programs with a pattern that took the last lines, newest first
        self.last: _Program | None = None  # the program with a pattern of the last rule line it matched
        self.offsets: dict[tuple[int, ...], tuple[int, ...]] = {}  # by word lengths, for _Program
        self.match_caches: dict[tuple, list] = {}  # [cache, slots] by what makes a match node (_Slot.share)

    # -- reporting ----------------------------------------------------------------------

    def report(self, code: str, message: str, line: int, column: int = 1, end_column: int | None = None) -> None:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if end_column is None:
            end_column = max(len(text.rstrip("\r")) + 1, column + 1)
        self.findings.append(
            Finding(
                code=code,
                message=message,
                path=self.path,
                span=Span(line, column, line, end_column),
                severity=DIAGNOSTICS[code].severity if code in DIAGNOSTICS else Severity.ERROR,
                table=self.table.name if self.table else None,
            )
        )

    # -- the file -----------------------------------------------------------------------

    def run(self) -> ParseResult:
        if any(line.endswith("\r") for line in self.lines[:50]):
            first = next(i for i, line in enumerate(self.lines, 1) if line.endswith("\r"))
            self.report(
                "S118", "Windows (CRLF) line ends: iptables-restore reads the '\\r' as part of each line",
                first, len(self.lines[first - 1]), len(self.lines[first - 1]) + 1,
            )  # fmt: skip
        line = self.line
        if FAST_PATH:
            for number, text in enumerate(self.lines, 1):
                # The program that followed the last one (see line()), tried here first: a
                # kube-proxy dump's rule lines mostly come in the same order of keys.
                last = self.last
                guess = last.next if last is not None else None
                if guess is not None:
                    found = guess.match(text)
                    if found is None:
                        # The other program that followed it (a chain of kube-proxy's
                        # statistic rules ends with another shape): nearly every line
                        # the first guess misses, without line()'s search.
                        other = last.other
                        if other is not None:
                            found = other.match(text)
                            if found is not None:
                                last.next, last.other = other, guess
                                guess = other
                    if found is not None:
                        self.last = guess
                        if not guess.run(self, number, text, found.groups()):
                            self.read(number, text, "-")
                        continue
                line(number, text)
        else:
            for number, text in enumerate(self.lines, 1):
                line(number, text)
        for program in self.programs.values():
            if program is not None:  # the cycles of programs (.next, .run's scope), freed without the collector
                program.next = program.other = program.run = None
        if self.table is not None:
            # iptables-restore notices at the end of the file: point there, and name the table's line.
            self.report(
                "S105", f"the file ends before table '{self.table.name}' (line {self.table.line}) is closed "
                "by COMMIT: nothing of it would load",
                max(1, len(self.lines)), 1,
            )  # fmt: skip
            self.close_table(0)
        if not self.tables and not any(f.code in ("S122", "S101") for f in self.findings):
            self.report("S121", "the file holds no table: it would load nothing", max(1, len(self.lines)), 1, 1)
        ruleset = Ruleset(
            path=self.path,
            family=self.family,
            tables=tuple(self.tables),
            comments=tuple(self.comments),
            lines=tuple(self.lines),
        )
        return ParseResult(ruleset, tuple(sorted(self.findings, key=Finding.sort_key)))

    def line(self, number: int, text: str) -> None:
        if not text:
            return
        first = text[0]
        if first == ":" and self.user_chain(number, text):
            # No guess for the next line: a block of declarations would try it on each.
            self.last = None
            return
        if FAST_PATH and (first == "-" or first == "["):
            program = None
            if first == "-":
                # The programs of the last keys seen, by their patterns: one regex match
                # instead of the split and the key (most lines have one of the last three keys).
                # First the one that followed the program of the last rule line last time
                # (kube-proxy's chains repeat a few shapes of lines in the same order).
                last = self.last
                guess = last.next if last is not None else None  # run() tried it
                for program in self.recent:
                    if program is not guess:
                        found = program.match(text)
                        if found is not None:
                            break
                else:
                    program = None
                if program is not None:
                    recent = self.recent
                    if program is not recent[0]:
                        if program in recent:
                            recent.remove(program)
                        recent.insert(0, program)  # a guess may have left the list
                        del recent[_RECENT:]
                    if last is not None:
                        _follows(last, program)
                    self.last = program
                    if program.run(self, number, text, found.groups()):
                        return
            if program is None:
                words = fast_words(text)
                if words is not None:
                    program = self.programs.get(rule_key(text))
                    if program is not None:
                        if program.key is not None:  # its key's second line: worth a regex
                            program.pattern = _key_pattern(program.key)
                            program.match = program.pattern.fullmatch if program.pattern is not None else None
                            program.key = None
                        if program.pattern is not None:
                            self.recent.insert(0, program)
                            del self.recent[_RECENT:]
                            if self.last is not None:
                                _follows(self.last, program)
                            self.last = program
                        if program.run(self, number, text, words):
                            return
        self.read(number, text, first)

    def read(self, number: int, text: str, first: str) -> None:
        """Read a line without the fast path (`first`: its first character)."""
        try:
            if first == "#":
                self.comments.append(Comment(number, text))
            elif first == "*":
                self.table_header(number, text)
            elif first == ":":
                self.chain_decl(number, text)
            elif text.startswith("COMMIT"):
                self.commit(number, text)
            elif not text.strip(" \t"):
                raise _LineError("S119", "a line of only blanks: iptables-restore 1.8.9 rejects it")
            elif text.lstrip(" \t").startswith("#"):
                raise _LineError("S119", "an indented '#' is not a comment for iptables-restore", text.index("#") + 1)
            else:
                self.command(number, text)
        except _LineError as error:
            self.report(error.code, error.message, number, error.column, error.end_column)
        except grammar.UnexpectedInput as error:
            self.report("S102", self.lark_message(error, text), number, error.column, error.column + 1)

    @staticmethod
    def lark_message(error: grammar.UnexpectedInput, text: str) -> str:
        if isinstance(error, grammar.UnexpectedCharacters):
            return f"unexpected character {text[error.pos_in_stream]!r}"
        if isinstance(error, grammar.UnexpectedToken):
            if error.token.type == "$END":
                return "the line ends too early: " + _expected(error.expected)
            return f"unexpected {error.token!s:.40}: " + _expected(error.expected)
        if isinstance(error, grammar.UnexpectedEOF):
            return "the line ends too early"
        return str(error).splitlines()[0]

    # -- tables -------------------------------------------------------------------------

    def table_header(self, number: int, text: str) -> None:
        words = line_words(text, "table_header")
        if not words:
            raise _LineError("S104", "'*' must be followed by a table name")
        name = words[0]
        if self.table is not None:
            self.report(
                "S105", f"table '{self.table.name}' is not closed by COMMIT before '*{name}'",
                number, 1,
            )  # fmt: skip
            self.close_table(0)
        known = name in BUILTIN_CHAINS
        self.table = _TableState(name, number, known)
        if not known:
            hint = ""
            if name.endswith("\r"):
                hint = " (a Windows line end: the name ends in '\\r')"
            elif name.lower() in BUILTIN_CHAINS:
                hint = f" (table names are lower case: '{name.lower()}')"
            raise _LineError(
                "S104", f"unknown table '{name.rstrip()}'{hint}: tables are raw, mangle, nat, filter, security", 2
            )

    def commit(self, number: int, text: str) -> None:
        if text != "COMMIT":
            if text.rstrip(" \t\r") == "COMMIT":
                raise _LineError("S119", "'COMMIT' followed by blanks: iptables-restore 1.8.9 rejects it", 7)
            self.command(number, text)
            return
        if self.table is None:
            raise _LineError("S103", "COMMIT outside a table")
        if number == len(self.lines) and not self.final_newline:
            self.report(
                "S119", "'COMMIT' without a newline at the end of the file: iptables-legacy-restore 1.8.9 rejects it",
                number, 1,
            )  # fmt: skip
        self.close_table(number)

    def close_table(self, commit_line: int) -> None:
        state = self.table
        self.table = None
        if state is None or not state.known:
            return
        if not state.unsure:  # every jump's kind is already the one it has at COMMIT
            chains = [
                _new_chain(chain.name, chain.policy, tuple(chain.rules), chain.line, chain.counters, chain.builtin)
                for chain in state.chains.values()
            ]
            self.tables.append(Table(state.name, tuple(chains), state.line, commit_line))
            return
        chain_names = set(state.chains)
        chains = []
        resolved: dict[int, Target] = {}
        chain_kind = TargetKind.CHAIN
        for chain in state.chains.values():
            rules = tuple(
                [
                    rule  # the common case, a jump to a chain that still exists, without a call
                    if (target := rule.target) is not None and target.kind is chain_kind and target.name in chain_names
                    else self.resolve_target(rule, chain_names, resolved)
                    for rule in chain.rules
                ]
            )
            chains.append(_new_chain(chain.name, chain.policy, rules, chain.line, chain.counters, chain.builtin))
        self.tables.append(Table(state.name, tuple(chains), state.line, commit_line))

    def resolve_target(self, rule: Rule, chains: set[str], resolved: dict[int, Target]) -> Rule:
        """A jump is to a CHAIN when the chain exists at COMMIT, else UNKNOWN."""
        target = rule.target
        if target is None:
            return rule
        kind = target.kind
        if kind is TargetKind.UNKNOWN:
            if target.name not in chains:
                return rule
        elif kind is not TargetKind.CHAIN or target.name in chains:
            return rule
        new = resolved.get(id(target))
        if new is None:
            other = TargetKind.CHAIN if kind is TargetKind.UNKNOWN else TargetKind.UNKNOWN
            new = Target(target.name, other, target.options, target.goto, target.token, target.width)
            resolved[id(target)] = new
        r = rule
        return Rule(r.table, r.chain, r.line, r.text, r.offsets, r.basics, r.matches, new, r.counters, r.command)

    def need_table(self) -> _TableState:
        if self.table is None:
            raise _LineError("S103", "this line comes before any '*table' line")
        return self.table

    # -- chains -------------------------------------------------------------------------

    def user_chain(self, number: int, text: str) -> bool:
        """`:NAME - [p:b]` of a new user chain (most of a kube-proxy dump): what chain_decl gives, in one go.

        False, having done nothing, for any other line.
        """
        table = self.table
        user = _USER_CHAIN_DECL.fullmatch(text)
        if user is None or table is None or not table.known:
            return False
        name, packets, count = user.groups()
        chains = table.chains
        if name in chains or (name in _BUILTIN_NAMES and name in BUILTIN_CHAINS[table.name]):
            return False
        counters = _ZERO_COUNTERS if packets == count == "0" else _new_counters(int(packets), int(count))
        chains[name] = _new_chain_state(name, None, number, counters, False, [])
        return True

    def chain_decl(self, number: int, text: str) -> None:
        if self.user_chain(number, text):
            return
        table = self.need_table()
        simple = _SIMPLE_CHAIN_DECL.fullmatch(text)  # what lark makes of `:NAME POLICY [0:0]`, 30x faster
        words = list(simple.groups()) if simple is not None else list(line_words(text, "chain_decl"))
        name = words[0]
        policy = words[1] if len(words) > 1 else None
        if not table.known:
            return
        self.check_chain_name(name, 2)
        builtin = name in BUILTIN_CHAINS[table.name]
        if policy is None:
            raise _LineError("S123", f"chain '{name}' has no policy ('-' for a user chain)", 2 + len(name))
        if name in table.chains and table.chains[name].line:
            raise _LineError(
                "S106", f"chain '{name}' is already declared on line {table.chains[name].line}", 2, 2 + len(name)
            )
        counters = None
        if len(words) > 2:
            counters = _chain_counters(words[2])
        if builtin:
            if policy not in ("ACCEPT", "DROP", "-"):  # '-' keeps the current policy
                column = text.index(policy, 1 + len(name)) + 1
                raise _LineError(
                    "S123", f"the policy of built-in chain '{name}' must be ACCEPT, DROP or '-', not '{policy}'",
                    column, column + len(policy),
                )  # fmt: skip
        elif policy != "-":
            column = text.index(policy, 1 + len(name)) + 1
            raise _LineError(
                "S123", f"user chain '{name}' cannot have a policy ('{policy}'): write '-'",
                column, column + len(policy),
            )  # fmt: skip
        kept = None if policy == "-" else policy
        table.chains[name] = _ChainState(name, kept if builtin else None, number, counters, builtin)

    def check_chain_name(self, name: str, column: int) -> None:
        end = column + len(name)
        if len(name) > MAX_CHAIN_NAME:
            raise _LineError("S120", f"chain name '{name}' is longer than {MAX_CHAIN_NAME} characters", column, end)
        if name[0] in "-!":
            raise _LineError("S120", f"chain name '{name}' may not start with '{name[0]}'", column, end)

    def chain_for(self, table: _TableState, name: str, number: int, column: int, create: bool = True) -> _ChainState:
        chain = table.chains.get(name)
        if chain is not None:
            return chain
        if name in BUILTIN_CHAINS.get(table.name, ()):
            chain = table.chains[name] = _ChainState(name, None, 0, None, True)
            return chain
        if create:
            self.report(
                "S120", f"chain '{name}' does not exist in table '{table.name}': declare it with ':{name} - [0:0]'",
                number, column, column + len(name),
            )  # fmt: skip
            chain = table.chains[name] = _ChainState(name, None, 0, None, False)
            return chain
        raise _LineError("S120", f"chain '{name}' does not exist in table '{table.name}'", column, column + len(name))

    # -- commands -----------------------------------------------------------------------

    def command(self, number: int, text: str) -> None:
        if _SHELL_COMMAND.match(text):
            raise _LineError(
                "S122",
                "this is an iptables command, not iptables-save output: run it and lint `iptables-save`",
            )
        table = self.need_table()
        text = _without_end_of_options(text)
        split = split_words(text)
        if split is None:
            lark_parser().parse(text, start="command")  # raises with the exact position
            raise _LineError("S102", "cannot read this line")
        words, classes, offsets = split
        plan, words, offsets = plan_for(text, words, classes, offsets)
        if plan.counters is not None and offsets[2 * plan.counters] != 0:
            start = offsets[2 * plan.counters]
            raise _LineError(
                "S113", "counters must start the line: iptables-restore reads them only in column 1",
                start + 1, offsets[2 * plan.counters + 1] + 1,
            )  # fmt: skip
        if not table.known:
            return
        w = plan.action_words
        col = offsets[2 * w[0]] + 1 if w else 1
        chain_name = unquote(words[w[1]]) if len(w) > 1 else ""  # iptables unquotes every word
        chain_col = offsets[2 * w[1]] + 1 if len(w) > 1 else col
        action = plan.action
        if action in ("append", "insert", "delete", "replace"):
            chain = self.chain_for(table, chain_name, number, chain_col)
            position = None
            if len(w) > 2:
                position = _rule_number(words[w[2]], offsets[2 * w[2]] + 1)
            if action == "delete" and position is not None:
                if plan.arguments:
                    first = plan.arguments[0]
                    raise _LineError("S115", "'-D CHAIN N' takes no rule options", offsets[2 * first.option] + 1)
                if position > len(chain.rules):
                    raise _LineError(
                        "S124", f"cannot delete rule {position}: chain '{chain_name}' has {len(chain.rules)}", col
                    )
                del chain.rules[position - 1]
                return
            rules = self.rule(table.name, chain_name, number, text, words, offsets, plan)
            if rules is None:
                return
            if action == "append":
                chain.rules.extend(rules)
            elif action == "insert":
                index = (position or 1) - 1
                if index > len(chain.rules):
                    raise _LineError(
                        "S124", f"cannot insert at {index + 1}: chain '{chain_name}' has {len(chain.rules)} rules",
                        offsets[2 * w[2]] + 1,
                    )  # fmt: skip
                for rule in rules:  # each at the same place, as iptables does: the last one first
                    chain.rules.insert(index, rule)
            elif action == "replace":
                if len(rules) > 1:
                    raise _LineError(
                        "S108", "-R takes one rule: a list of addresses makes several "
                        "(iptables: 'Replacement rule does not specify a unique address')", col,
                    )  # fmt: skip
                if position is None or position > len(chain.rules):
                    raise _LineError(
                        "S124", f"cannot replace rule {position}: chain '{chain_name}' has {len(chain.rules)}", col
                    )
                chain.rules[position - 1] = rules[0]
            else:  # delete by specification, each rule of a list of addresses
                for rule in rules:
                    key = rule.key()
                    for i, existing in enumerate(chain.rules):
                        if existing.key() == key:
                            del chain.rules[i]
                            break
                    else:
                        raise _LineError("S124", f"no rule in '{chain_name}' matches this one to delete", col)
            return
        if plan.arguments:
            first = plan.arguments[0]
            raise _LineError(
                "S115", f"unexpected {words[first.option]!r} after {words[w[0]]!r}", offsets[2 * first.option] + 1
            )
        if action == "new_chain":
            self.check_chain_name(chain_name, chain_col)
            if chain_name in table.chains or chain_name in BUILTIN_CHAINS[table.name]:
                raise _LineError("S124", f"chain '{chain_name}' already exists", chain_col, chain_col + len(chain_name))
            table.chains[chain_name] = _ChainState(chain_name, None, number, None, False)
        elif action == "delete_chain":
            table.unsure = True
            names = [chain_name] if chain_name else [c for c in table.chains if not table.chains[c].builtin]
            for name in names:
                chain = self.chain_for(table, name, number, chain_col, create=False)
                if chain.builtin:
                    raise _LineError("S124", f"cannot delete built-in chain '{name}'", chain_col)
                jump = _first_jump_to(table, name)
                if jump is not None:
                    raise _LineError(
                        "S124", f"cannot delete chain '{name}': the rule on line {jump.line} jumps to it", chain_col
                    )
                del table.chains[name]
        elif action == "flush":
            for name in [chain_name] if chain_name else list(table.chains):
                self.chain_for(table, name, number, chain_col, create=False).rules.clear()
        elif action == "zero":
            if chain_name:
                self.chain_for(table, chain_name, number, chain_col, create=False)
        elif action == "policy":
            chain = self.chain_for(table, chain_name, number, chain_col)
            policy = unquote(words[w[2]])
            if not chain.builtin:
                raise _LineError("S123", f"user chain '{chain_name}' cannot have a policy", offsets[2 * w[2]] + 1)
            if policy not in ("ACCEPT", "DROP"):
                raise _LineError("S123", f"policy must be ACCEPT or DROP, not '{policy}'", offsets[2 * w[2]] + 1)
            if policy == "DROP" and table.name == "nat":
                raise _LineError("S128", NAT_DROP, offsets[2 * w[2]] + 1, offsets[2 * w[2] + 1] + 1)
            chain.policy = policy
        elif action == "rename_chain":
            table.unsure = True
            chain = self.chain_for(table, chain_name, number, chain_col, create=False)
            if chain.builtin:
                raise _LineError(
                    "S124", f"cannot rename built-in chain '{chain_name}'", chain_col, chain_col + len(chain_name)
                )
            new = unquote(words[w[2]])
            self.check_chain_name(new, offsets[2 * w[2]] + 1)
            if new in table.chains or new in BUILTIN_CHAINS[table.name]:
                column = offsets[2 * w[2]] + 1
                raise _LineError("S124", f"chain '{new}' already exists", column, column + len(new))
            del table.chains[chain_name]
            chain.name = new
            table.chains[new] = chain
            _follow_rename(table, chain_name, new)

    # -- one rule -----------------------------------------------------------------------

    def rule(self, table: str, chain: str, number: int, text: str, words, offsets, plan) -> list[Rule] | None:
        builder = _RuleBuilder(self, table, number, words, offsets)
        reported = len(self.findings)
        try:
            builder.build(plan)
            builder.check_interfaces(chain)
            builder.check_match_hooks(table, chain)
        except _LineError as error:
            self.report(error.code, error.message, number, error.column, error.end_column)
            return None
        counters = builder.counters
        if plan.counters is not None:
            counters = _counters(words[plan.counters], offsets[2 * plan.counters] + 1)
        if FAST_PATH and plan.action == "append":
            key = rule_key(text)
            if key not in self.programs and not builder.lists:
                if key in self.seen_once:  # compiling costs a few lines' building: only for keys that repeat
                    self.programs[key] = _Program.compile(self, builder, plan, words, offsets, reported, key)
                else:
                    self.seen_once.add(key)
        rule = Rule(
            table=table,
            chain=chain,
            line=number,
            text=text,
            offsets=tuple(offsets),
            basics=tuple(builder.basics),
            matches=tuple(builder.finished_matches()),
            target=builder.finished_target(),
            counters=counters,
            command="-I" if plan.action == "insert" else "-A",
        )
        return _expanded(rule, builder.lists) if builder.lists else [rule]


def _follows(last: _Program, program: _Program) -> None:
    """`program` took the line after one of `last`: the first guess next time, the one before it the second."""
    if last.next is not program:
        last.other = last.next
        last.next = program


def _expanded(rule: Rule, lists: list[list[Option]]) -> list[Rule]:
    """`-s a,b -d c,d`: the rules iptables makes, one per source and destination, sources first.

    Each holds one address in its -s/-d option (whose words stay the list as written).
    """
    lists = sorted(lists, key=lambda options: options[0].name != "-s")
    rules = []
    for chosen in itertools.product(*lists):
        by_name = {option.name: option for option in chosen}
        rules.append(replace(rule, basics=tuple(by_name.get(option.name, option) for option in rule.basics)))
    return rules


def _follow_rename(table: _TableState, old: str, new: str) -> None:
    """`-E OLD NEW`: the kernel keeps every jump to the chain, and its rules now live in NEW."""
    for state in table.chains.values():
        for index, rule in enumerate(state.rules):
            target = rule.target
            renamed_target = target is not None and target.name == old and target.kind is TargetKind.CHAIN
            if renamed_target or rule.chain == old:
                state.rules[index] = replace(
                    rule,
                    chain=new if rule.chain == old else rule.chain,
                    target=replace(target, name=new) if renamed_target else target,
                )


def _expected(expected) -> str:
    names = sorted({_TERMINAL_WORDS.get(e, e.lower()) for e in expected})
    return "expected " + " or ".join(names)


_TERMINAL_WORDS = {
    "OPTION": "an option", "WORD": "a value", "NOT": "'!'", "NAME": "a name",
    "APPEND": "-A", "INSERT": "-I", "DELETE": "-D", "REPLACE": "-R", "NEW_CHAIN": "-N",
    "DELETE_CHAIN": "-X", "FLUSH": "-F", "ZERO": "-Z", "POLICY": "-P", "RENAME_CHAIN": "-E",
    "RULE_COUNTERS": "[packets:bytes]", "CHAIN_COUNTERS": "[packets:bytes]", "LEGACY_NOT": "'!'",
}  # fmt: skip


def _chain_counters(text: str) -> Counters | None:
    """The counters of a chain line, read as leniently as iptables-restore (sscanf "[%llu:%llu").

    Without `--counters` iptables-restore ignores whatever follows the policy, so junk is no error.
    """
    found = _CHAIN_COUNTERS.match(text)
    return Counters(int(found[1]), int(found[2])) if found else None


_CHAIN_COUNTERS = re.compile(r"\[(\d+):(\d+)")


def _without_end_of_options(text: str) -> str:
    """`... -j RETURN --`: getopt reads a final `--` as the end of the options and drops it.

    After an option word the `--` may be that option's value, so it is kept there.
    """
    stripped = text.rstrip(" \t")
    if not stripped.endswith("--") or stripped[-3:-2] not in (" ", "\t"):
        return text
    before = stripped[:-2].rstrip(" \t")
    previous = before.split()[-1] if before.split() else ""
    return text if previous.startswith("-") else before


def _counter_value(text: str, what: str) -> int:
    """A counter of `-c`, read as iptables' sscanf("%llu") does: `-1` wraps, trailing junk is ignored."""
    found = _SCANF_LLU.match(text)
    if found is None:
        raise ValueError(f"{what} {text!r} is not a number")
    return int(found[0]) % 2**64


_SCANF_LLU = re.compile(r"[ \t]*[+-]?[0-9]+")


def _first_jump_to(table: _TableState, name: str) -> Rule | None:
    """The first rule of the table that jumps to chain `name` (which then cannot be deleted)."""
    for chain in table.chains.values():
        for rule in chain.rules:
            if rule.target is not None and rule.target.name == name:
                return rule
    return None


def _argument_words(argument) -> tuple[int, ...]:
    """The word indices of an argument, in order: its `!`, its option, its values."""
    head = (argument.option,) if argument.not_ is None else (argument.not_, argument.option)
    return (*head, *argument.values)


def _counters(text: str, column: int = 1) -> Counters:
    inner = text[1:-1] if text.startswith("[") and text.endswith("]") else None
    if inner is not None:
        packets, colon, count = inner.partition(":")
        if colon and packets.isdigit() and count.isdigit():
            return _ZERO_COUNTERS if inner == "0:0" else _new_counters(int(packets), int(count))
    raise _LineError("S113", f"counters {text!r} are not [packets:bytes]", column, column + len(text))


def _rule_number(text: str, column: int) -> int:
    if not text.isdigit() or int(text) < 1:
        raise _LineError("S124", f"rule number {text!r} must be a positive number", column, column + len(text))
    return int(text)


# ---------------------------------------------------------------------------------------
# One rule: options to typed modules
# ---------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Loaded:
    """A match or target being filled, in load order."""

    extension: Extension | None  # None: unknown module, read generically
    name: str
    token: int
    implicit: bool = False
    options: list[Option] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)
    end: int = 0  # last word index used


class _RuleBuilder:
    def __init__(self, parser: _Parser, table: str, line: int, words, offsets) -> None:
        self.parser = parser
        self.table = table
        self.line = line
        self.words = words
        self.offsets = offsets
        self.family = parser.family
        self.basics: list[Option] = []
        self.lists: list[list[Option]] = []  # the options of `-s a,b`, one per address (`_expanded`)
        self.seen_basic: set[str] = set()
        self.matches: list[_Loaded] = []
        self.target: _Loaded | None = None
        self.target_goto = False
        self.protocol: int | None = None
        self.counters: Counters | None = None
        self.trace: list[tuple] = []  # (argument, owner, spec) of each argument read, for _Program

    def column(self, index: int) -> int:
        return self.offsets[2 * index] + 1

    def end_column(self, index: int) -> int:
        return self.offsets[2 * index + 1] + 1

    def error(self, code: str, message: str, index: int, last: int | None = None) -> _LineError:
        return _LineError(code, message, self.column(index), self.end_column(index if last is None else last))

    # -- walking the arguments -----------------------------------------------------------

    def build(self, plan) -> None:
        arguments = list(plan.arguments)
        i = 0
        while i < len(arguments):
            following = arguments[i + 1] if i + 1 < len(arguments) else None
            taken = self.argument(arguments[i], following)
            if taken:
                rest = _argument_words(following)[taken:]
                if rest:
                    arguments[i + 1] = self.regroup(following, rest)
                else:
                    del arguments[i + 1]
            i += 1
        self.final_checks()

    def regroup(self, argument, words: tuple[int, ...]):
        """What is left of an argument whose first words an earlier option took as values."""
        text = self.words
        if text[words[0]] == "!" and len(words) > 1:
            not_, option, values = words[0], words[1], words[2:]
        elif text[words[0]].startswith("-") and len(text[words[0]]) > 1:
            not_, option, values = None, words[0], words[1:]
        else:
            raise self.error("S115", f"unexpected {unquote(text[words[0]])!r}", words[0])
        legacy = tuple(i for i in argument.legacy_not if i in values)
        return replace(argument, not_=not_, option=option, values=values, legacy_not=legacy)

    def argument(self, argument, following=None) -> int:
        """Read one option; the number of words it took from the following argument.

        getopt gives an option that needs a value the next word whatever it is, so in
        `-i ! -o eth1` the interface is `!` and -o is not negated, and in `-i -A` it is `-A`.
        """
        words = self.words
        spelling = words[argument.option]
        negated = argument.not_ is not None
        values = argument.values
        if argument.legacy_not:
            bang = argument.legacy_not[0]
            if values and values[0] == bang and len(values) > 1:
                self.parser.report(
                    "S111",
                    f"'{spelling} ! VALUE' was removed in iptables 1.4.3 and is rejected by 1.8: write '! {spelling} VALUE'",
                    self.line, self.column(argument.option), self.end_column(bang),
                )  # fmt: skip
                negated = True
                values = values[1:]
            elif values != (bang,):  # a lone `!` after an option is its value (`-i !`)
                raise self.error("S115", "unexpected '!'", bang)
        owner, spec = self.lookup(spelling, argument.option)
        self.trace.append((argument, owner, spec))
        nargs = spec.nargs
        if owner is None and spec.name == "-c" and len(values) == 1 and "," in words[values[0]]:
            nargs = 1  # `-c PACKETS,BYTES`, the one-word form of `-c PACKETS BYTES`
        if nargs < len(values):
            extra = values[nargs]
            raise self.error(
                "S115", f"unexpected {unquote(words[extra])!r}: {spec.name} takes {_count(spec.nargs)}", extra
            )
        stolen = 0
        if nargs > len(values) and following is not None:
            spare = _argument_words(following)
            stolen = min(nargs - len(values), len(spare))
            values = (*values, *spare[:stolen])
        if nargs > len(values):
            raise self.error("S114", f"option {spelling} requires {_count(spec.nargs)}", argument.option)
        texts = tuple(unquote(words[i]) for i in values)
        if nargs != spec.nargs:
            texts = tuple(texts[0].split(",", 1))
        first = argument.option if argument.not_ is None else argument.not_
        last = values[-1] if values else argument.option
        width = last - first + 1
        if negated and not spec.invert:
            raise self.error("S116", f"{spelling} cannot be negated with '!'", first, argument.option)
        try:
            if owner is None:
                self.basic(spec, texts, negated, first, width, argument.option)
            else:
                self.module_option(owner, spec, texts, negated, first, width, argument.option)
        except _LineError as error:
            if stolen and error.code == "S108":  # `--dport -j`: most likely the value is missing
                raise self.error(
                    "S114",
                    f"option {spelling} requires {_count(nargs)}: it takes the next word, and {error.message}",
                    argument.option,
                ) from None
            raise
        return stolen

    def lookup(self, spelling: str, index: int) -> tuple[_Loaded | None, OptionSpec]:
        """Who owns an option: the newest module that defines it, as getopt_long's merged table."""
        loaded = self.loaded()
        for owner in loaded:
            if owner.extension is not None:
                spec = owner.extension.option(spelling)
                if spec is not None:
                    return owner, spec
        basic = _BASIC_BY_SPELLING.get(spelling)
        if basic is not None:
            return None, basic
        # An implicit protocol match: `-p tcp --dport 22`.
        implicit = _PROTOCOL_MATCH.get(self.protocol) if self.protocol is not None else None
        if implicit and not any(m.name == implicit for m in self.matches):
            extension = extensions.find("match", implicit)
            if extension is None:
                # No option table for the protocol's match: read it generically, as for `-m`.
                self.report_unknown("match", implicit, index - 1)
                self.matches.append(_Loaded(None, implicit, -1, implicit=True))
                return self.lookup(spelling, index)
            if extension.available(self.family) and extension.option(spelling):
                self.matches.append(_Loaded(extension, implicit, -1, implicit=True))
                return self.lookup(spelling, index)
        # A module read generically may own any option, even one that looks like a
        # prefix of a known long option (`-m recent --set` is not `--set-counters`).
        generic = self.generic_owner(index)
        if generic is not None:
            return generic
        # getopt_long accepts an unambiguous prefix of a long option.
        if spelling.startswith("--"):
            candidates = []
            for owner in loaded:
                if owner.extension is not None:
                    for spec in owner.extension.options:
                        candidates += [(owner, spec) for s in spec.spellings if s.startswith(spelling)]
            candidates += [(None, spec) for s, spec in _BASIC_BY_SPELLING.items() if s.startswith(spelling)]
            distinct = {(id(o), s.name) for o, s in candidates}
            if len(distinct) == 1:
                return candidates[0]
        hint = ""
        if self.protocol is None and spelling in ("--dport", "--sport", "--dports", "--sports"):
            hint = ": it needs -p tcp or -p udp (and -m tcp / -m multiport) before it"
        raise self.error("S109", f"unknown option {spelling!r}{hint}", index)

    def generic_owner(self, index: int) -> tuple[_Loaded, OptionSpec] | None:
        """The newest module read without an option table, which takes any option and its values."""
        for owner in self.loaded():
            if owner.extension is None and (owner is not self.target or owner.name in IPTABLES_TARGETS):
                spelling = self.words[index]
                return owner, OptionSpec(spelling, None, (), self._generic_arity(index), True, True)
        return None

    def _generic_arity(self, index: int) -> int:
        # Without a table, an option takes every word up to the next option.
        count = 0
        for word in self.words[index + 1 :]:
            if word.startswith("-") or word == "!":
                break
            count += 1
        return count

    def loaded(self) -> list[_Loaded]:
        order = list(self.matches)
        if self.target is not None:
            order.append(self.target)
        order.sort(key=lambda m: m.token)
        return order[::-1]

    # -- the rule's own options ----------------------------------------------------------

    def basic(self, spec: OptionSpec, texts, negated, first, width, index) -> None:
        name = spec.name
        if name in ("-m", "-j", "-g"):
            self.module(name, texts[0], first, width, index)
            return
        if name in self.seen_basic and not spec.multi:
            raise self.error("S107", f"multiple {name} options are not allowed", first, first + width - 1)
        self.seen_basic.add(name)
        if name == "-c":
            try:
                self.counters = Counters(_counter_value(texts[0], "packets"), _counter_value(texts[1], "bytes"))
            except ValueError as error:
                raise self.error("S113", str(error), first, first + width - 1) from None
            return
        if name in ("-v", "-M"):
            return
        if name in ("-4", "-6"):
            wanted = Family.IPV4 if name == "-4" else Family.IPV6
            if wanted is not self.family:
                return  # iptables-restore skips rules of the other family
            return
        if name in ("-s", "-d") and "," in texts[0]:
            self.address_list(spec, texts, negated, first, width)
            return
        value = self.value(spec, texts, first, width)
        if name == "-p":
            if negated and value.number == 0:
                raise self.error("S108", f"'! -p {texts[0]}' would never match: every packet has a protocol", first)
            self.protocol = value.number
        option = self.option(spec, value, negated, texts, first, width)
        self.basics.append(option)

    def address_list(self, spec: OptionSpec, texts, negated, first, width) -> None:
        """`-s a,b`: iptables makes one rule per address (`_expanded`); the rule built here holds the first."""
        if negated:
            raise self.error(
                "S108", f"'! {spec.name}' cannot take a list of addresses (iptables: '! not allowed with multiple "
                "source or destination IP addresses')", first, first + width - 1,
            )  # fmt: skip
        values = [self.value(spec, (item,), first, width) for item in texts[0].split(",")]
        options = [Option(spec.name, value, negated, texts, first, width) for value in values]
        self.basics.append(options[0])
        self.lists.append(options)

    def module(self, kind: str, name: str, first: int, width: int, index: int) -> None:
        if kind == "-m":
            name = _MATCH_ALIASES.get(name, name)
            if not _MATCH_NAME.fullmatch(name):
                raise self.error(
                    "S108", f"-m {name!r}: not the name of a match (lower-case letters, digits and '_', at most 28)",
                    index, index + 1,
                )  # fmt: skip
            extension = extensions.find("match", name)
            if extension is None:
                self.report_unknown("match", name, index)
            elif not extension.available(self.family):
                raise self.error("S125", f"match '{name}' does not exist in {_tool(self.family)}", index, index + 1)
            self.matches.append(_Loaded(extension, name, first))
            return
        if self.target is not None:
            raise self.error("S107", "a rule has one target: -j/-g given twice", first, first + width - 1)
        extension = None if name in VERDICTS else extensions.find("target", name)
        if extension is not None and not extension.available(self.family):
            raise self.error("S125", f"target '{name}' does not exist in {_tool(self.family)}", index, index + 1)
        if kind == "-g" and (name in VERDICTS or extension is not None or name in IPTABLES_TARGETS):
            raise self.error("S120", f"-g needs a user chain, and '{name}' is a target", index + 1)
        if extension is None and name not in VERDICTS:
            if name in IPTABLES_TARGETS:
                self.report_unknown("target", name, index)
            else:
                self.check_jump(name, index + 1)
        self.target = _Loaded(extension, name, first)
        self.target_goto = kind == "-g"

    def check_jump(self, name: str, index: int) -> None:
        """`-j CHAIN`: iptables-restore looks the chain up when it reads the line, so it must exist by then."""
        table = self.parser.table
        if table is None:
            return
        if name in BUILTIN_CHAINS.get(table.name, ()):
            raise self.error("S120", f"cannot jump to built-in chain '{name}': only user chains are targets", index)
        if name in table.chains:
            return
        raise self.error(
            "S201",  # undefined-chain: documented with the structural checks (iptlint/checks/undefined_chain.py)
            f"target '{name}' is neither an iptables target nor a chain of table '{table.name}' "
            "declared before this line",
            index,
        )

    def report_unknown(self, kind: str, name: str, index: int) -> None:
        self.parser.report(
            "S110", f"iptlint has no option table for {kind} '{name}': its options are read without checks",
            self.line, self.column(index + 1), self.end_column(index + 1),
        )  # fmt: skip

    # -- module options -------------------------------------------------------------------

    def module_option(self, owner: _Loaded, spec: OptionSpec, texts, negated, first, width, index) -> None:
        if spec.name in owner.seen and not spec.multi:
            raise self.error("S107", f"{spec.name} may be given only once in -m {owner.name}", first, first + width - 1)
        owner.seen.add(spec.name)
        for other in spec.excludes:
            if other in owner.seen:
                raise self.error("S117", f"{spec.name} cannot be combined with {other}", first, first + width - 1)
        value = self.value(spec, texts, first, width) if owner.extension is not None else None
        owner.options.append(self.option(spec, value, negated, texts, first, width))
        owner.end = max(owner.end, first + width - 1)

    def value(self, spec: OptionSpec, texts, first: int, width: int):
        if spec.parse is None:
            return None
        key = (spec.parse, texts)  # the interner belongs to one parse, of one family
        cache = self.parser.interner.values
        found = cache.get(key, _MISSING)
        if found is _MISSING:
            try:
                found = _parse_value(spec, texts, self.family)
            except ValueError as error:
                found = _Invalid(str(error))
            cache[key] = found
        if isinstance(found, _Invalid):
            code = "S125" if "address in an" in found.message else "S108"
            raise self.error(code, f"{spec.name}: {found.message}", first, first + width - 1)
        return found

    def option(self, spec: OptionSpec, value, negated, texts, first, width) -> Option:
        key = ("o", spec.name, spec.parse, negated, texts, first, width)
        return self.parser.interner.node(key, lambda: Option(spec.name, value, negated, texts, first, width))

    # -- finishing --------------------------------------------------------------------

    def check_match_hooks(self, table: str, chain: str) -> None:
        """A match used in a built-in chain whose hook the kernel refuses for it (`-m owner` in INPUT).

        User chains take the hooks that reach them, which only the analysis knows.
        """
        if chain not in BUILTIN_CHAINS.get(table, ()):
            return
        for loaded in self.matches:
            hooks = loaded.extension.hooks if loaded.extension is not None else None
            if hooks is not None and chain not in hooks:
                index = max(loaded.token, 0)
                raise self.error(
                    "S125",
                    f"-m {loaded.name} cannot be used in {chain}: the kernel allows it only in {', '.join(hooks)}",
                    index,
                    index + 1 if loaded.token >= 0 else None,
                )

    def check_interfaces(self, chain: str) -> None:
        """No -o in INPUT/PREROUTING, no -i in OUTPUT/POSTROUTING (iptables checks the chain's name)."""
        wrong = _NO_INTERFACE.get(chain)
        for option in self.basics:
            if option.name == wrong:
                raise self.error("S117", f"{wrong} cannot be used in {chain}: {_NO_INTERFACE_WHY[wrong]}", option.token)

    def final_checks(self) -> None:
        for loaded in [*self.matches, *([self.target] if self.target else [])]:
            extension = loaded.extension
            if extension is None:
                continue
            index = loaded.token if loaded.token >= 0 else 0
            by_name = {o.name: o for o in loaded.options}
            for spec in extension.options:
                if spec.required and spec.name not in by_name:
                    raise self.error("S117", f"{_module(loaded)} needs {spec.name}", index, index + 1)
            if extension.protocols is not None and self.protocol not in extension.protocols:
                need = " or ".join(f"-p {v.Protocol(p).name}" for p in extension.protocols)
                raise self.error("S117", f"{_module(loaded)} needs {need} before it", index, index + 1)
            if extension.check is not None:
                problems = extension.check(by_name, self.family, self.protocol)
                if problems:
                    raise self.error("S117", f"{_module(loaded)}: {problems[0]}", index, max(index, loaded.end))

    def finished_matches(self) -> list[Match]:
        result = []
        for loaded in self.matches:
            width = (loaded.end - loaded.token + 1) if loaded.token >= 0 else 0
            options = tuple(loaded.options)
            key = ("m", loaded.name, options, loaded.token, width, loaded.implicit)
            result.append(
                self.parser.interner.node(
                    key,
                    lambda lo=loaded, o=options, w=width: Match(
                        lo.name, o, lo.token, w, lo.implicit, lo.extension is not None
                    ),
                )
            )
        return result

    def finished_target(self) -> Target | None:
        loaded = self.target
        if loaded is None:
            return None
        if loaded.name == "DROP" and self.parser.table is not None and self.parser.table.name == "nat":
            raise self.error("S128", NAT_DROP, loaded.token, loaded.token + 1)
        if loaded.name in VERDICTS:
            kind = TargetKind.VERDICT
        elif loaded.extension is not None:
            kind = TargetKind.EXTENSION
        else:
            # CHAIN when the chain exists now; checked again at COMMIT (close_table)
            table = self.parser.table
            kind = TargetKind.CHAIN if table is not None and loaded.name in table.chains else TargetKind.UNKNOWN
            if table is not None and kind is TargetKind.UNKNOWN:
                table.unsure = True
        width = max(loaded.end, loaded.token + 1) - loaded.token + 1
        options = tuple(loaded.options)
        key = ("t", loaded.name, kind, options, self.target_goto, loaded.token, width)
        return self.parser.interner.node(
            key, lambda: Target(loaded.name, kind, options, self.target_goto, loaded.token, width)
        )


_MISSING = object()


def _parse_value(spec: OptionSpec, texts: tuple[str, ...], family: Family):
    """The typed value of an option's words; raises ValueError."""
    return spec.parse(texts[0] if spec.nargs == 1 else texts, family)


# The chains whose packets have no output (or input) interface yet (or any more).
_NO_INTERFACE = {"INPUT": "-o", "PREROUTING": "-o", "OUTPUT": "-i", "POSTROUTING": "-i"}
_NO_INTERFACE_WHY = {
    "-o": "incoming packets have no output interface yet",
    "-i": "outgoing packets have no input interface",
}


@dataclass(frozen=True, slots=True)
class _Invalid:
    message: str


def _count(n: int) -> str:
    return {0: "no value", 1: "one value"}.get(n, f"{n} values")


def _module(loaded: _Loaded) -> str:
    return f"-j {loaded.name}" if loaded.name.isupper() else f"-m {loaded.name}"


def _tool(family: Family) -> str:
    return "ip6tables (IPv6)" if family is Family.IPV6 else "iptables (IPv4)"


# ---------------------------------------------------------------------------------------
# The fast path: redo for each `-A` line what _RuleBuilder did for the first of its key
# ---------------------------------------------------------------------------------------

FAST_PATH = True  # False: every line goes through _RuleBuilder (benchmarks/run.py --verify compares both)


NAT_DROP = (
    'DROP is refused in the nat table: iptables-restore says \'the "nat" table is not intended for filtering, '
    "the use of DROP is therefore inhibited'; drop in filter (or raw, mangle) instead"
)
_BUILTIN_NAMES = frozenset(name for names in BUILTIN_CHAINS.values() for name in names)


def _no_key(words: list[str]) -> None:
    return None


_new_option = fast_constructor(Option)
_new_match = fast_constructor(Match)
_new_target = fast_constructor(Target)
_new_rule = fast_constructor(Rule)
_new_chain = fast_constructor(Chain)
_new_counters = fast_constructor(Counters)
_ZERO_COUNTERS = Counters(0, 0)


_ADAPT_AT = 1000  # lines of a program after which its parts that nearly never hit their caches stop using them
_RECENT = 3  # how many programs _Parser.line tries by their patterns

# A value word of a rule key (grammar.rule_key blanks it), narrowed to what grammar.fast_words
# splits the same way: a quoted word without quote, blank or backslash inside, or a word
# without quote, blank, tab or backslash that does not start like an option or counters.
_VALUE = r'("[^"\t\\]*"|[^-!\[ "\t\\][^ "\t\\]*+)'
_JUMP_VALUE = r'(?=[^ ]*-)([^-!\[ "\t\\][^ "\t\\]*+)'  # after -j/-g, only a name with a '-' is a value


def _key_pattern(key: str) -> re.Pattern[str] | None:
    """A regex that matches a line exactly when its key is `key`, capturing every word.

    A line it matches has the key `key`, and its groups are the words `grammar.fast_words`
    gives (its value words are narrowed to make sure of both), so the program of the key
    can take it without the split and the key.  None when a kept word could make the
    split differ (a quote, a backslash).
    """
    parts = []
    previous = ""
    for word in key.split(" "):
        if word == "":
            parts.append(_JUMP_VALUE if previous in ("-j", "-g") else _VALUE)
        elif any(c in word for c in '"\\\t'):
            return None
        else:
            parts.append(f"({re.escape(word)})")
        previous = word
    return re.compile(" ".join(parts))


def _check_for(extension: Extension | None, protocol: int | None):
    """The final check of an extension that a program must run on each line, if any.

    None for a check that says it passes whatever the options in a rule of this
    protocol (`passes_with`, as DNAT's port check does with -p tcp): 30,000 calls less on a
    kube-proxy dump.  The builder still runs every check.
    """
    check = extension.check if extension is not None else None
    if check is not None and protocol in getattr(check, "passes_with", ()):
        return None
    return check


class _Step:
    """One option of a part of a `_Program`, with its nodes by value words."""

    __slots__ = (
        "at",
        "cache",
        "first",
        "get",
        "name",
        "negated",
        "parse",
        "shared",
        "spec",
        "typed",
        "values",
        "width",
    )

    def __init__(self, spec: OptionSpec, values: tuple[int, ...], negated: bool, first: int, width: int, typed: bool):
        self.spec, self.values, self.negated, self.first, self.width, self.typed = (
            spec, values, negated, first, width, typed,
        )  # fmt: skip
        self.name = spec.name
        self.at = values[0] if len(values) == 1 else None  # the value word of a one-word option
        self.parse = spec.parse if typed else None  # as _parse_value: one word, or the tuple of words
        self.get = itemgetter(*values) if values else _no_key
        self.cache: dict = {}
        self.shared = True  # False: the only step of its part, whose cache already holds the node

    def option(self, words, family: Family) -> Option:
        """The option node of this line's words, as _RuleBuilder makes it; raises ValueError on a bad value."""
        at = self.at
        if at is not None:
            text = words[at]
            if '"' in text:
                text = unquote(text)
            texts = (text,)
            value = self.parse(text, family) if self.parse is not None else None
        else:
            texts = tuple([unquote(words[i]) for i in self.values])
            value = _parse_value(self.spec, texts, family) if self.parse is not None else None
        return _new_option(self.name, value, self.negated, texts, self.first, self.width)


class _Slot:
    """One part of a rule in a `_Program`: the basic options, one match, or the target."""

    __slots__ = ("cache", "chain_name", "check", "extension", "fixed", "get", "goto", "implicit", "indices", "is_target",
                 "kind", "name", "name_at", "names", "sharers", "steps", "token", "uncached", "width")  # fmt: skip

    def __init__(self, steps: list[_Step]) -> None:
        self.steps = tuple(steps)
        self.cache: dict = {}  # the finished part by the value words it depends on
        self.name = ""
        self.name_at: int | None = None  # a jump target read from this word on each line
        self.chain_name = False  # a jump to a user chain: it must exist when the line is read
        self.token = self.width = 0
        self.implicit = self.goto = False
        self.extension: Extension | None = None
        self.check = None
        self.kind: TargetKind | None = None
        self.fixed: Match | Target | None = None  # the node, when it depends on no word
        self.is_target = False
        self.uncached = False  # its nodes made without the cache (_Program.adapt): nearly every value is new
        self.sharers: list | None = None  # [cache, slots]: the slots of other programs that share its cache
        self.names = tuple(step.name for step in steps)  # the option names, for the extension's check
        self.set_indices([i for step in steps for i in step.values])
        if len(steps) == 1:
            steps[0].shared = False

    def share(self, parser: _Parser, protocol: int | None) -> None:
        """Take the cache of the other programs' matches that make the same nodes from the same words.

        kube-proxy's `-A SEP -s IP -m comment --comment C -j KUBE-MARK-MASQ` and `-A SEP -p tcp
        -m comment --comment C -m tcp -j DNAT ...` hold their comment at the same words: the
        second line of each endpoint finds the node the first made (in one program the
        comments nearly never repeat).  The key is all a node depends on: its constants, the
        option words it reads, and, for an extension's check, the rule's protocol.
        """
        steps = tuple(
            (id(step.spec), step.values, step.negated, step.first, step.width, step.typed) for step in self.steps
        )
        key = (self.name, self.token, self.width, self.implicit, id(self.extension), self.indices, steps)
        if self.check is not None:
            key += (id(self.check), protocol)
        sharers = parser.match_caches.setdefault(key, [self.cache, 0])
        sharers[1] += 1
        self.cache = sharers[0]
        self.sharers = sharers

    def set_indices(self, indices: list[int]) -> None:
        self.indices = tuple(indices)
        self.get = itemgetter(*indices) if indices else _no_key  # the cache key: a word or a tuple of words

    def make(self, program: _Program, words: list[str], key, kind: TargetKind) -> Match | Target | None:
        """The match or target node of a line, cached; None when the builder must read the line."""
        steps = self.steps
        if not steps:
            options = ()
        elif len(steps) == 1 and not steps[0].shared:  # the part's own cache missed: a new value
            step = steps[0]
            at = step.at
            if at is not None:  # _Step.option, inlined: most new values are one word
                text = words[at]
                if '"' in text:
                    text = unquote(text)
                parse = step.parse
                value = parse(text, program.family) if parse is not None else None
                options = (_new_option(step.name, value, step.negated, (text,), step.first, step.width),)
            else:
                options = (step.option(words, program.family),)
        else:
            options = self.options(program, words)
        if self.check is not None and self.check(
            dict(zip(self.names, options, strict=True)), program.family, program.protocol
        ):
            return None
        if not self.is_target:
            node = _new_match(self.name, options, self.token, self.width, self.implicit, self.extension is not None)
        else:
            if self.name_at is None:
                name = self.name
            else:
                name = words[self.name_at]
                if '"' in name:
                    name = unquote(name)
            node = _new_target(name, kind, options, self.goto, self.token, self.width)
        self.cache[key] = node
        if not self.indices:
            self.fixed = node
        return node

    def options(self, program: _Program, words: list[str]) -> tuple[Option, ...]:
        """The option nodes, made as _RuleBuilder makes them; raises ValueError."""
        steps = self.steps
        if len(steps) == 1 and not steps[0].shared:  # the part's own cache missed: a new value
            return (steps[0].option(words, program.family),)
        result = []
        for step in steps:
            key = step.get(words)
            node = step.cache.get(key)
            if node is None:
                # As _RuleBuilder.value() and option(); a bad value raises ValueError and the
                # line goes through the builder, which reports it.
                node = step.option(words, program.family)
                if step.shared:
                    step.cache[key] = node
            result.append(node)
        return tuple(result)


class _Program:
    """What `_RuleBuilder` did for the first `-A` line of a key (`grammar.rule_key`), to redo for the others.

    Lines with the same key differ only in value words that do not change how a line is
    read, so they load the same modules, in the same order, with the same options.  What
    depends on those values is redone on every line: the typed values (through the same
    cache; a bad value falls back to the builder, which reports it), the extensions'
    final checks, whether a jump target exists yet, the counters.  Each option and each
    part of a rule (its basic options, each match, the target) is cached by its value
    words, so a part already seen costs one dict lookup; this is most of the speed on
    kube-proxy dumps.  Lines in chains named like a built-in chain always go through the builder.

    What keeps this exact: in `_RuleBuilder`, anything that depends on a value word other
    than a -m or -p value, or a -j/-g name without '-', must come from a value parser
    (ValueError), an extension's check, or `check_jump`.  A line the program cannot take
    goes through the builder, which also reports its errors.
    """

    __slots__ = (
        "basics", "chain_at", "counters_at", "drops", "family", "key", "length", "match", "matches", "next", "other",
        "pattern", "protocol", "reports", "run", "target", "value_at",
    )  # fmt: skip

    @classmethod
    def compile(
        cls, parser: _Parser, builder: _RuleBuilder, plan, words, offsets, reported: int, key: str
    ) -> _Program | None:
        """The program of `builder`'s line, or None when lines of its key must go through the builder."""
        text = parser.lines[builder.line - 1]
        fast = fast_words(text)
        if fast is None or fast != words or word_offsets(fast) != tuple(offsets):
            return None
        split = split_words(text)
        if split is None or cached_plan(split[0], split[1]) is not plan or plan.action != "append":
            return None
        program = cls()
        program.length = len(words)
        program.chain_at = plan.action_words[1]
        program.counters_at = plan.counters
        program.protocol = builder.protocol
        program.family = parser.family
        program.key = key if plan.counters is None else None  # its pattern is made on the key's next line
        # The value words (blank in the key), when the key's words are the line's: every line
        # of the key then has the same other words, so its offsets follow from their lengths.
        kept = key.split(" ")
        aligned = len(kept) == len(words) and all(k == "" or k == w for k, w in zip(kept, words, strict=True))
        program.value_at = tuple(i for i, k in enumerate(kept) if k == "") if aligned else None
        program.pattern = program.match = None
        program.next = None  # the program with a pattern that took the line after this one's last line
        program.other = None  # the one that did before, when another did since
        # Reports made while the line was built (S110): they depend only on the key.
        program.reports = []
        program.drops = builder.target is not None and builder.target.name == "DROP"
        starts = {offsets[2 * i] + 1: i for i in range(len(words))}
        ends = {offsets[2 * i + 1] + 1: i for i in range(len(words))}
        for finding in parser.findings[reported:]:
            span = finding.span
            if finding.code != "S110" or span.column not in starts or span.end_column not in ends:
                return None
            program.reports.append((finding.code, finding.message, starts[span.column], ends[span.end_column]))
        # Which part each argument went to.  Only lines whose arguments are the plan's, each
        # with as many values as its option takes (no word taken from the next argument).
        if len(builder.trace) != len(plan.arguments) or any(
            traced[0] is not argument for traced, argument in zip(builder.trace, plan.arguments, strict=True)
        ):
            return None
        parts: dict[int, list[_Step]] = {}
        basics: list[_Step] = []
        target_word = None
        for argument, owner, spec in builder.trace:
            if argument.legacy_not:
                return None
            values = argument.values
            first = argument.option if argument.not_ is None else argument.not_
            width = (values[-1] if values else argument.option) - first + 1
            negated = argument.not_ is not None
            if len(values) != spec.nargs:
                return None
            if owner is None:
                if spec.name in ("-m", "-j", "-g", "-p") and words[argument.option] != spec.name:
                    return None  # --match, --jump, --protocol...: the key blanked their value
                if spec.name == "-c":
                    return None
                if spec.name in ("-j", "-g"):
                    target_word = values[0]
                if spec.name in ("-m", "-j", "-g", "-4", "-6"):
                    continue
                part = basics
            else:
                part = parts.setdefault(id(owner), [])
            typed = spec.parse is not None and (owner is None or owner.extension is not None)
            part.append(_Step(spec, values, negated, first, width, typed))
        program.basics = _Slot(basics) if basics else None
        matches = []
        for loaded in builder.matches:
            slot = _Slot(parts.pop(id(loaded), []))
            if len(slot.steps) != len(loaded.options):
                return None
            slot.name, slot.token, slot.implicit, slot.extension = (
                loaded.name, loaded.token, loaded.implicit, loaded.extension,
            )  # fmt: skip
            slot.width = (loaded.end - loaded.token + 1) if loaded.token >= 0 else 0
            slot.check = _check_for(loaded.extension, builder.protocol)
            if slot.indices:
                slot.share(parser, builder.protocol)
            matches.append(slot)
        program.matches = tuple(matches)
        program.target = None
        loaded = builder.target
        if loaded is not None:
            slot = _Slot(parts.pop(id(loaded), []))
            if len(slot.steps) != len(loaded.options) or target_word is None:
                return None
            slot.name, slot.token, slot.extension, slot.goto = (
                loaded.name, loaded.token, loaded.extension, builder.target_goto,
            )  # fmt: skip
            slot.width = max(loaded.end, loaded.token + 1) - loaded.token + 1
            slot.is_target = True
            slot.check = _check_for(loaded.extension, builder.protocol)
            if loaded.name in VERDICTS:
                slot.kind = TargetKind.VERDICT
            elif loaded.extension is not None:
                slot.kind = TargetKind.EXTENSION
            else:  # CHAIN or UNKNOWN, on each line
                if unquote(words[target_word]) != loaded.name:
                    return None
                slot.chain_name = loaded.name not in IPTABLES_TARGETS
                slot.name_at = target_word
                slot.set_indices([target_word, *slot.indices])
            program.target = slot
        if parts:
            return None
        program.run = program.generate()
        return program

    def adapt(self) -> None:
        """After _ADAPT_AT lines: parts whose cache nearly never hit make their nodes without it."""
        for slot in (self.basics, *self.matches, self.target):
            if slot is not None and slot.indices and len(slot.cache) > 0.9 * _ADAPT_AT:
                # A cache other programs fill too says little of this one's hits (see _Slot.share).
                slot.uncached = slot.sharers is None or slot.sharers[1] == 1
        self.run = self.generate(adapting=False)

    def generate(self, adapting: bool = True):
        """`run(parser, number, text, words)`: add the rule of this line to its chain; False when the builder must read it.

        The hot loop of a big parse, one call per rule line, written out for this program:
        its parts unrolled, their caches and indices as constants, so a line costs no loop
        over the parts, no attribute lookups for them and no list of matches.  What it does
        is what `_Slot.make` and `_Slot.options` do (cached by value words), in the order
        `_RuleBuilder` would meet the same problems, so any line it refuses goes through the
        builder, which reports them.
        """

        def one_word(step: _Step, prefix: str, indent: str) -> list[str]:
            """Lines that set `option` to the option node of `step` (_Step.option for one word), inlined."""
            constants(prefix, step, ("name", "negated", "first", "width"))
            scope[f"{prefix}_parse"] = step.parse
            value = f"{prefix}_parse(text_, _family)" if step.parse is not None else "None"
            return [
                f"{indent}text_ = words[{step.at}]",
                f"{indent}if '\"' in text_:",  # unquote(), its common case first
                f"{indent}    if text_[0] == '\"' == text_[-1] and text_.count('\"') == 2 and '\\\\' not in text_:",
                f"{indent}        text_ = text_[1:-1]",
                f"{indent}    else:",
                f"{indent}        text_ = unquote(text_)",
                f"{indent}option = _new_option({prefix}_name, {value}, {prefix}_negated, (text_,), "
                f"{prefix}_first, {prefix}_width)",
            ]

        def constants(prefix: str, obj, names: tuple[str, ...]) -> None:
            """Bind attributes that never change after compile() as globals of `run` (`{prefix}_{name}`).

            A global is one specialized load; `slot.name` in the hot loop was two, a dozen times a line.
            """
            for name in names:
                scope[f"{prefix}_{name}"] = getattr(obj, name)

        def inlined(slot: _Slot) -> bool:
            """Whether a new node of `slot` is made here rather than by `_Slot.make`: one word, no check."""
            steps = slot.steps
            return slot.check is None and len(steps) == 1 and not steps[0].shared and steps[0].at is not None

        scope: dict = {
            "unquote": unquote, "_new_option": _new_option, "_new_match": _new_match, "_new_target": _new_target,
            "_program": self, "_BUILTIN_NAMES": _BUILTIN_NAMES, "BUILTIN_CHAINS": BUILTIN_CHAINS,
            "word_offsets": word_offsets, "_counters": _counters, "_LineError": _LineError, "_new_rule": _new_rule,
            "_VERDICT": _VERDICT, "_CHAIN": _CHAIN, "_UNKNOWN": _UNKNOWN, "_family": self.family, "_seen": [0],
        }  # fmt: skip
        code = [
            "def run(parser, number, text, words):",
            *(
                ["    _seen[0] += 1", f"    if _seen[0] == {_ADAPT_AT}:", "        _program.adapt()"]
                if adapting
                else []
            ),
            "    table = parser.table",
            f"    if table is None or not table.known or len(words) != {self.length}:",
            "        return False",
            f"    chain_name = words[{self.chain_at}]",
            "    chains = table.chains",
            "    chain = chains.get(chain_name)",
            "    if chain is None or chain.builtin or chain_name in _BUILTIN_NAMES:",
            "        return False",  # checks read these names (check_interfaces); they have few rules
        ]
        if self.drops:
            code += ["    if table.name == 'nat':", "        return False"]  # the builder reports S128
        if self.value_at is not None:  # offsets by the lengths of the value words, shared by all lengths
            scope["_shapes"] = {}
            lengths = "".join(f"len(words[{i}]), " for i in self.value_at)
            code += [
                f"    lengths = ({lengths})",
                "    offsets = _shapes.get(lengths)",
                "    if offsets is None:",
                "        offsets = parser.offsets.setdefault(tuple(map(len, words)), word_offsets(words))",
                "        _shapes[lengths] = offsets",
            ]
        else:
            code += [
                "    lengths = tuple(map(len, words))",
                "    shapes = parser.offsets",  # a few hundred shapes of offsets in 100,000 rules
                "    offsets = shapes.get(lengths)",
                "    if offsets is None:",
                "        offsets = shapes[lengths] = word_offsets(words)",
            ]
        if self.counters_at is not None:
            at = self.counters_at
            code += [
                "    try:",
                f"        counters = _counters(words[{at}], offsets[{2 * at}] + 1)",
                "    except _LineError:",
                "        return False",
            ]
        else:
            code.append("    counters = None")
        code.append("    try:")
        slot = self.basics
        if slot is None:
            code.append("        basics = ()")
        else:
            scope |= {"b_slot": slot, "b_get": slot.get, "b_cache": slot.cache}
            uncached = slot.uncached and len(slot.steps) == 1 and slot.steps[0].at is not None
            code += [
                "        key = b_get(words)" if not uncached else "        basics = None",
                "        basics = b_cache.get(key)" if not uncached else "",
                "        if basics is None:",
            ]
            if len(slot.steps) == 1 and not slot.steps[0].shared:  # the part's own cache missed: a new value
                if slot.steps[0].at is not None:
                    code += one_word(slot.steps[0], "b", "            ")
                    code.append(
                        "            basics = (option,)"
                        if uncached
                        else "            basics = b_cache[key] = (option,)"
                    )
                else:
                    scope["b_option"] = slot.steps[0].option
                    code.append("            basics = b_cache[key] = (b_option(words, _family),)")
            else:
                code.append("            basics = b_cache[key] = b_slot.options(_program, words)")
        names = []
        for i, slot in enumerate(self.matches):
            scope |= {f"m{i}_slot": slot, f"m{i}_get": slot.get, f"m{i}_cache": slot.cache}
            code += [
                f"        m{i} = m{i}_slot.fixed",
                f"        if m{i} is None:",
            ]
            uncached = slot.uncached and inlined(slot)
            code += [
                f"            key = m{i}_get(words)" if not uncached else "",
                f"            m{i} = m{i}_cache.get(key)" if not uncached else "",
                f"            if m{i} is None:",
            ]
            if inlined(slot):  # _Slot.make for this case
                store = "" if uncached else f"m{i}_cache[key] = "
                code += one_word(slot.steps[0], f"m{i}o", "                ")
                constants(f"m{i}", slot, ("name", "token", "width", "implicit"))
                code.append(
                    f"                m{i} = {store}_new_match(m{i}_name, (option,), m{i}_token, "
                    f"m{i}_width, m{i}_implicit, {slot.extension is not None})"
                )
            else:
                code += [
                    f"                m{i} = m{i}_slot.make(_program, words, key, _VERDICT)",
                    f"                if m{i} is None:",
                    "                    return False",
                ]
            names.append(f"m{i}")
        slot = self.target
        if slot is None:
            code.append("        target = None")
        else:
            scope |= {"t_slot": slot, "t_get": slot.get, "t_cache": slot.cache}
            constants("t", slot, ("name", "kind", "goto", "token", "width"))
            if slot.name_at is None:
                steps = slot.steps
                one = len(steps) == 1 and not steps[0].shared and steps[0].at is not None
                uncached = slot.uncached and one
                code += [
                    "        target = t_slot.fixed",
                    "        if target is None:",
                    "            key = t_get(words)" if not uncached else "",
                    "            target = t_cache.get(key)" if not uncached else "",
                    "            if target is None:",
                ]
                if one:  # _Slot.make for this case
                    code += one_word(steps[0], "to", "                ")
                    if slot.check is not None:
                        scope |= {"t_check": slot.check, "_protocol": self.protocol}
                        code += [
                            f"                if t_check({{{steps[0].name!r}: option}}, _family, _protocol):",
                            "                    return False",
                        ]
                    code.append(
                        f"                target = {'' if uncached else 't_cache[key] = '}_new_target(t_name, "
                        "t_kind, (option,), t_goto, t_token, t_width)"
                    )
                else:
                    code += [
                        "                target = t_slot.make(_program, words, key, t_slot.kind)",
                        "                if target is None:",
                        "                    return False",
                    ]
            else:
                code += [f"        name = words[{slot.name_at}]", "        if name in chains:"]
                if slot.chain_name:
                    code += [  # the set first: nearly every name is no built-in chain's
                        "            if name in _BUILTIN_NAMES and name in BUILTIN_CHAINS[table.name]:",
                        "                return False",
                    ]
                code.append("            kind = _CHAIN")
                if slot.chain_name:
                    code += ["        else:", "            return False"]  # check_jump reports it
                else:
                    code += ["        else:", "            kind = _UNKNOWN", "            table.unsure = True"]
                uncached = slot.uncached and not slot.steps and slot.check is None
                code += [
                    "        key = t_get(words)" if not uncached else "",
                    "        target = t_cache.get(key)" if not uncached else "        target = None",
                    "        if target is None or target.kind is not kind:",
                ]
                if not slot.steps and slot.check is None:  # _Slot.make for a jump without options
                    code += [
                        f"            name = words[{slot.name_at}]",
                        "            if '\"' in name:",
                        "                name = unquote(name)",
                        f"            target = {'' if uncached else 't_cache[key] = '}_new_target(name, kind, (), "
                        "t_goto, t_token, t_width)",
                    ]
                else:
                    code += [
                        "            target = t_slot.make(_program, words, key, kind)",
                        "            if target is None:",
                        "                return False",
                    ]
        matches = f"({', '.join(names)},)" if names else "()"
        code += [
            "    except ValueError:",
            "        return False",
            "    chain.rules.append(_new_rule(table.name, chain_name, number, text, offsets, basics, "
            f"{matches}, target, counters, '-A'))",
        ]
        if self.reports:
            scope["_reports"] = tuple(self.reports)
            code += [
                "    for code, message, first, last in _reports:",
                "        parser.report(code, message, number, offsets[2 * first] + 1, offsets[2 * last + 1] + 1)",
            ]
        code.append("    return True")
        exec("\n".join(line for line in code if line), scope)
        return scope["run"]


_VERDICT, _CHAIN, _UNKNOWN = TargetKind.VERDICT, TargetKind.CHAIN, TargetKind.UNKNOWN


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------


_LARGE_TEXT = 2_000_000  # characters (20,000 lines or so): from here on the AST is frozen after the parse


def parse(text: str, path: str = "-", family: Family | None = None) -> ParseResult:
    """Parse a dump.  Never raises on bad input: problems are S1xx findings."""
    if family is None:
        family = detect_family(text)
    # The AST holds no reference cycle, and the cyclic garbage collector, triggered again
    # and again by the allocation of hundreds of thousands of nodes, would walk all of
    # them each time: a third of the time of a kube-proxy-sized parse.  A large AST is
    # also frozen out of the collector's sight after, or the first collection after the
    # pause would scan every node once more (0.4 s on a kube-proxy-sized dump); as the
    # reachability walk does for its own objects.
    with collector.paused(freeze=len(text) >= _LARGE_TEXT):
        return _Parser(text, path, family).run()


def parse_bytes(data: bytes, path: str = "-", family: Family | None = None) -> ParseResult:
    """Parse raw file content, reporting binary data and invalid UTF-8 (S101)."""
    if b"\x00" in data[:65536]:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        finding = Finding(
            "S101", "the file is binary (it holds NUL bytes), not an iptables-save dump", path, Span(line, 1, line, 2)
        )
        return ParseResult(Ruleset(path, family or Family.IPV4), (finding,))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        text = data.decode("utf-8", errors="surrogateescape")
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        result = parse(text, path, family)
        finding = Finding(
            "S101", f"invalid UTF-8 byte 0x{data[error.start]:02x}: the file is not UTF-8 text",
            path, Span(line, column, line, column + 1),
        )  # fmt: skip
        return ParseResult(result.ruleset, tuple(sorted((*result.findings, finding), key=Finding.sort_key)))
    return parse(text, path, family)
