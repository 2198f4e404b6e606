"""The typed AST of a dump: Ruleset -> Table -> Chain -> Rule -> Match / Target -> Option.

Every node is a frozen, slotted dataclass.  The tree describes the ruleset *after* its
commands ran (`-I` rules inserted, `-D` rules deleted, `-F` chains flushed...), which is
what the kernel holds and what the semantics need; each rule keeps the command that
made it and its source line.

Positions.  A `Rule` carries its line, its source text and the column offsets of its
words; `Option`, `Match` and `Target` carry the index of their first word (`token`)
and how many words they span.  `rule.span_of(node)` turns that into a `Span`.  This
keeps identical option nodes shareable between rules (`-p tcp`, `-j KUBE-MARK-MASQ`
occur thousands of times in a kube-proxy dump), which is what makes parsing a 100,000
rule file fast and small; see docs/architecture.md.

Implicit protocol matches (`-p tcp --dport 80` without `-m tcp`) are explicit here, as
in the kernel: a `Match("tcp", ..., implicit=True)` whose `token` is -1.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from iptlint.findings import Span


def fast_constructor(cls):
    """`cls(*all_fields)` for a frozen slotted dataclass, about 4x faster.

    The object is made as an instance of a private twin class with the same slots and no
    frozen `__setattr__`, so each field is one plain slot store, then given its real class
    (`__class__` assignment, allowed because the two layouts are the same): the result is
    the object `cls(...)` makes (same type, fields, equality and hash).  dataclasses' own
    __init__ goes through object.__setattr__ per field.  `cls` itself when it has a
    __post_init__ that must run.  For the parser's hot paths, which make hundreds of
    thousands of nodes and values.
    """
    fields = dataclasses.fields(cls)
    if hasattr(cls, "__post_init__") or not all(f.init for f in fields):
        return cls
    names = [f.name for f in fields]
    if cls.__bases__ == (object,) and "__slots__" in vars(cls):
        twin = type(f"_{cls.__name__}Twin", (), {"__slots__": cls.__slots__})
        scope = {"_new": object.__new__, "_twin": twin, "_cls": cls}
        lines = [f"def make({', '.join(names)}):", "    self = _new(_twin)"]
        lines += [f"    self.{n} = {n}" for n in names]
        lines += ["    self.__class__ = _cls", "    return self"]
    else:  # slots from a base class too: set them through their descriptors (2x faster than cls())
        scope = {"_new": object.__new__, "_cls": cls} | {f"_set_{n}": getattr(cls, n).__set__ for n in names}
        lines = [f"def make({', '.join(names)}):", "    self = _new(_cls)"]
        lines += [f"    _set_{n}(self, {n})" for n in names]
        lines += ["    return self"]
    exec("\n".join(lines), scope)
    return scope["make"]


class Family(enum.Enum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"

    def __str__(self) -> str:
        return self.value


BUILTIN_CHAINS: dict[str, tuple[str, ...]] = {
    "raw": ("PREROUTING", "OUTPUT"),
    "mangle": ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"),
    "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
    "filter": ("INPUT", "FORWARD", "OUTPUT"),
    "security": ("INPUT", "FORWARD", "OUTPUT"),
}

VERDICTS = frozenset({"ACCEPT", "DROP", "RETURN", "QUEUE"})


@dataclass(frozen=True, slots=True)
class Counters:
    packets: int
    bytes: int


@dataclass(frozen=True, slots=True)
class Option:
    """One option of a match, a target or the rule itself (`-s`, `--dport`, `--to-destination`).

    `name` is the spelling iptables-save prints (`--dport` for `--destination-port`);
    `value` is typed by the extension's option table (None for flags such as `--syn`);
    `raw` holds the words as written, unquoted.
    """

    name: str
    value: Any = None
    negated: bool = False
    raw: tuple[str, ...] = ()
    token: int = -1
    width: int = 0

    @property
    def text(self) -> str:
        return " ".join(self.raw)


@dataclass(frozen=True, slots=True)
class Match:
    """A match module with its options, `-m conntrack --ctstate NEW` or an implicit `tcp`."""

    name: str
    options: tuple[Option, ...] = ()
    token: int = -1
    width: int = 0
    implicit: bool = False
    known: bool = True  # typed by an extension table; False: parsed generically

    def get(self, name: str) -> Option | None:
        for option in self.options:
            if option.name == name:
                return option
        return None


class TargetKind(enum.Enum):
    VERDICT = "verdict"  # ACCEPT, DROP, RETURN, QUEUE
    EXTENSION = "extension"  # REJECT, DNAT, LOG, MARK...
    CHAIN = "chain"  # a user chain declared in the same table
    UNKNOWN = "unknown"  # neither: an undefined chain or a target module iptlint lacks


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    kind: TargetKind
    options: tuple[Option, ...] = ()
    goto: bool = False
    token: int = -1
    width: int = 0

    def get(self, name: str) -> Option | None:
        for option in self.options:
            if option.name == name:
                return option
        return None


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as the kernel holds it, with where it came from."""

    table: str
    chain: str
    line: int
    text: str = field(repr=False)
    offsets: tuple[int, ...] = field(repr=False)  # start, end of each word, flattened
    basics: tuple[Option, ...] = ()  # -s -d -i -o -p -f: the part of a rule that is not a module
    matches: tuple[Match, ...] = ()
    target: Target | None = None
    counters: Counters | None = None
    command: str = "-A"

    # -- positions -------------------------------------------------------------------

    @property
    def span(self) -> Span:
        start = self.offsets[0] if self.offsets else 0
        end = self.offsets[-1] if self.offsets else len(self.text)
        return Span(self.line, start + 1, self.line, end + 1)

    def token_span(self, first: int, width: int = 1) -> Span:
        if first < 0 or 2 * first >= len(self.offsets):
            return self.span
        last = min(first + max(width, 1) - 1, len(self.offsets) // 2 - 1)
        return Span(self.line, self.offsets[2 * first] + 1, self.line, self.offsets[2 * last + 1] + 1)

    def span_of(self, node: Option | Match | Target) -> Span:
        return self.token_span(node.token, node.width)

    # -- convenient reads ------------------------------------------------------------

    def basic(self, name: str) -> Option | None:
        for option in self.basics:
            if option.name == name:
                return option
        return None

    @property
    def protocol(self) -> Option | None:
        return self.basic("-p")

    @property
    def source(self) -> Option | None:
        return self.basic("-s")

    @property
    def destination(self) -> Option | None:
        return self.basic("-d")

    @property
    def in_interface(self) -> Option | None:
        return self.basic("-i")

    @property
    def out_interface(self) -> Option | None:
        return self.basic("-o")

    def match(self, name: str) -> Match | None:
        for match in self.matches:
            if match.name == name:
                return match
        return None

    def options(self) -> Iterator[tuple[Match | None, Option]]:
        """Every option of the rule with the match it belongs to (None: a basic option)."""
        for option in self.basics:
            yield None, option
        for match in self.matches:
            for option in match.options:
                yield match, option

    @property
    def jump(self) -> str | None:
        """The chain this rule jumps or goes to, if its target is a chain."""
        if self.target is not None and self.target.kind is TargetKind.CHAIN:
            return self.target.name
        return None

    @property
    def unconditional(self) -> bool:
        """True when the rule has no condition at all (no basic option, no match)."""
        return not self.basics and not self.matches

    def key(self) -> tuple:
        """What the rule does, independent of where it is written (for duplicates, baselines)."""
        return (
            tuple((o.name, o.negated, o.value) for o in self.basics),
            tuple((m.name, tuple((o.name, o.negated, o.raw) for o in m.options)) for m in self.matches),
            None
            if self.target is None
            else (
                self.target.name,
                self.target.goto,
                tuple((o.name, o.negated, o.raw) for o in self.target.options),
            ),
        )

    @property
    def source_text(self) -> str:
        return self.text.strip()


@dataclass(frozen=True, slots=True)
class Chain:
    name: str
    policy: str | None  # ACCEPT / DROP for built-in chains, None for user chains
    rules: tuple[Rule, ...] = ()
    line: int = 0  # the `:NAME` line, 0 when the chain was never declared
    counters: Counters | None = None
    builtin: bool = False

    @property
    def span(self) -> Span:
        return Span(self.line, 1, self.line, len(self.name) + 2)


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    chains: tuple[Chain, ...] = ()
    line: int = 0
    commit_line: int = 0  # 0: never committed

    def chain(self, name: str) -> Chain | None:
        for chain in self.chains:
            if chain.name == name:
                return chain
        return None

    @property
    def rules(self) -> Iterator[Rule]:
        for chain in self.chains:
            yield from chain.rules


@dataclass(frozen=True, slots=True)
class Comment:
    line: int
    text: str


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """Something the input did not say exactly about the rule or chain at `line`.

    Set for inputs other than iptables-save (see iptlint/syntax/formats.py): an
    `iptables -L` listing rounds counters (`kind` 'counters'), hides interfaces
    without -v ('interfaces'), may show host names ('names'), an excerpt ('excerpt')...
    """

    line: int
    kind: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Ruleset:
    path: str
    family: Family
    tables: tuple[Table, ...] = ()
    comments: tuple[Comment, ...] = ()
    lines: tuple[str, ...] = field(default=(), repr=False)
    input_format: str = "save"  # save, rules (iptables -S) or listing (iptables -L)
    uncertain: tuple[Uncertainty, ...] = ()  # what a listing did not show exactly, by line

    def uncertainty(self, line: int) -> tuple[Uncertainty, ...]:
        """What is uncertain about the rule or chain written at `line` (empty: nothing)."""
        return tuple(u for u in self.uncertain if u.line == line)

    def table(self, name: str) -> Table | None:
        for table in self.tables:
            if table.name == name:
                return table
        return None

    def chain(self, table: str, chain: str) -> Chain | None:
        found = self.table(table)
        return None if found is None else found.chain(chain)

    @property
    def rules(self) -> Iterator[Rule]:
        for table in self.tables:
            yield from table.rules

    def line_text(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""
