"""The lark grammar, compiled once, and the shape cache that makes it fast.

`grammars/iptables_save.lark` is the single source of truth for the shape of a line.
Lark's LALR parser costs tens of microseconds a line, too slow for a 150,000-line
kube-proxy dump, but such dumps repeat a few line shapes.  So a command line is split
into words by one regular expression built from the grammar's own terminals; the
sequence of word classes (with option names spelled out) is the line's *shape*.  The
first line of each shape is parsed by lark and the resulting tree is turned into a
`Plan` (which word is the chain, which words belong to which option); later lines of
the same shape reuse the plan.  When lark's own tokens disagree with the fast split,
the shape is marked uncacheable and every such line goes through lark.

What lark taught a run is kept for the next (`iptlint.cache`): the plan of every shape,
the words of the table and chain lines it parsed, and the regular expressions of the
fast split.  The entry is keyed by the grammar's text and this module's source, so the
.lark file stays the single source of truth: a run whose lines all have known shapes
never imports lark (about 30 ms of a 150 ms budget), and gets what lark would give.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from iptlint import cache

if TYPE_CHECKING:
    from lark import Lark, Token, Tree

START_SYMBOLS = ["table_header", "chain_decl", "commit", "comment", "command"]


@functools.cache
def grammar_text() -> str:
    """The grammar, from the installed package or the source checkout."""
    packaged = resources.files("iptlint") / "grammars" / "iptables_save.lark"
    if packaged.is_file():
        return packaged.read_text()
    return (Path(__file__).resolve().parents[2] / "grammars" / "iptables_save.lark").read_text()


@functools.cache
def parser() -> Lark:
    """Lark's LALR parser of the grammar.

    Compiling the grammar takes about 0.3 s, more than a whole `iptlint check` of a small
    file should, so the compiled tables are kept in the user's cache directory.  Lark
    keys the cache file by a hash of the grammar text, its options and the lark and
    Python versions, and rebuilds it when any of them changes: the .lark file stays the
    source of truth.
    """
    from lark import Lark

    text = grammar_text()
    return Lark(
        text,
        parser="lalr",
        start=START_SYMBOLS,
        propagate_positions=True,
        maybe_placeholders=False,
        cache=_cache_file(text) or False,
    )


def _cache_file(text: str) -> str | None:
    """Where lark keeps the compiled grammar; None when there is no writable cache directory."""
    directory = cache.directory()
    if directory is None:
        return None
    return str(directory / f"grammar-{cache.key(text)[:16]}.lark-cache")


def __getattr__(name: str):
    """lark's exceptions (`grammar.UnexpectedInput`...), imported only when a line fails to parse."""
    if name in ("UnexpectedInput", "UnexpectedCharacters", "UnexpectedToken", "UnexpectedEOF"):
        import lark.exceptions

        return getattr(lark.exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Word classes of the fast split, in the lexer's priority order.
_CLASSES = ("RULE_COUNTERS", "NOT", "LEGACY_NOT", "OPTION", "WORD")


@functools.cache
def _fast_split() -> re.Pattern[str]:
    learned = _learned()
    if learned.terminals:
        try:
            return _split_pattern(learned.terminals)
        except (re.error, TypeError):  # not what this module wrote: ask lark again
            pass
    learned.terminals.clear()
    learned.terminals.update((t.name, t.pattern.to_regexp()) for t in parser().terminals if t.name in _CLASSES)
    learned.changed = True
    return _split_pattern(learned.terminals)


def _split_pattern(terminals: dict[str, str]) -> re.Pattern[str]:
    alternatives = "|".join(f"(?P<{name}>{terminals[name]})" for name in _CLASSES)
    return re.compile(rf"[ \t]*(?:{alternatives})")


def split_words(text: str) -> tuple[list[str], list[str], list[int]] | None:
    """Words, their classes and flattened (start, end) offsets; None if a character fits no word."""
    pattern = _fast_split()
    words: list[str] = []
    classes: list[str] = []
    offsets: list[int] = []
    position, end = 0, len(text)
    match = pattern.match
    while position < end:
        found = match(text, position)
        if found is None:
            if text[position:].strip(" \t") == "":
                break
            return None
        kind = found.lastgroup
        start, stop = found.span(kind)
        words.append(found.group(kind))
        classes.append(kind)
        offsets.append(start)
        offsets.append(stop)
        position = stop
    return words, classes, offsets


@dataclass(frozen=True, slots=True)
class Argument:
    """Word indices of one argument: `! --dport 80` is Argument(not_=0, option=1, values=(2,))."""

    not_: int | None
    option: int
    values: tuple[int, ...]
    legacy_not: tuple[int, ...]  # indices among `values` that are a legacy `!`


@dataclass(frozen=True, slots=True)
class Plan:
    """Where the parts of a command are, by word index; shared by every line of one shape."""

    counters: int | None
    action: str  # append, insert, delete, replace, new_chain, ...
    action_words: tuple[int, ...]  # the command word, then its chain / number / policy words
    arguments: tuple[Argument, ...]


_UNCACHEABLE = object()
_plans: dict[tuple, object] = {}


def shape_of(words: list[str], classes: list[str]) -> tuple:
    return tuple(w if c == "OPTION" else c for w, c in zip(words, classes, strict=False))


def plan_for(text: str, words: list[str], classes: list[str], offsets: list[int]) -> tuple[Plan, list[str], list[int]]:
    """The plan of a command line, with its words and offsets.

    Raises lark's exceptions when the line does not parse.
    """
    key = shape_of(words, classes)
    cached = _plans.get(key)
    if cached is None:
        cached = _stored_plan(key)
    if cached is not None and cached is not _UNCACHEABLE:
        return cached, words, offsets  # type: ignore[return-value]
    from lark import Token

    tree = parser().parse(text, start="command")
    tokens = [t for t in tree.scan_values(lambda v: isinstance(v, Token))]
    lark_offsets: list[int] = []
    for token in tokens:
        lark_offsets.append(token.start_pos)
        lark_offsets.append(token.end_pos)
    plan = _plan_from_tree(tree, tokens)
    if cached is None:
        _plans[key] = plan if lark_offsets == offsets else _UNCACHEABLE
        _learned().changed = True
    return plan, [str(t) for t in tokens], lark_offsets


def cached_plan(words: list[str], classes: list[str]) -> Plan | None:
    """The plan every line of this shape gets without lark, or None (not seen yet, or uncacheable)."""
    key = shape_of(words, classes)
    found = _plans.get(key)
    if found is None:
        found = _stored_plan(key)
    return found if isinstance(found, Plan) else None


def line_words(text: str, start: str) -> tuple[str, ...]:
    """The words lark makes of a table header or chain declaration (`start`), remembered by text.

    Raises lark's exceptions when the line does not parse.
    """
    found = _learned().lines.get((start, text))
    if found is None:
        found = tuple(str(token) for token in parser().parse(text, start=start).children)
        learned = _learned()
        if len(learned.lines) < _MAX_LINES:
            learned.lines[(start, text)] = found
            learned.changed = True
    return found


# ---------------------------------------------------------------------------------------
# What lark taught earlier runs (see the module's docstring)
# ---------------------------------------------------------------------------------------

# Kept in the cache: the shapes of a host's dumps are a few dozen, the whole shared corpus
# (every iptables test case) has 1,490 (330 kB, 10 ms to read: too much for every run).
# When there are more, those this run used are kept first.
_MAX_SHAPES = 1000
_MAX_LINES = 256  # table headers and unusual chain declarations


@dataclass(slots=True)
class _Learned:
    """The cache entry, in memory: `terminals`, `lines`, and the plans not used yet this run."""

    key: str
    terminals: dict[str, str]  # word class -> its regular expression in the grammar
    lines: dict[tuple[str, str], tuple[str, ...]]  # (start symbol, text) -> lark's words
    rows: dict[tuple, tuple | None]  # shape -> its plan as `_row_of` wrote it (None: uncacheable)
    changed: bool = False


def _lark_identity() -> str:
    """Which lark is installed (its file, size and time), found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec("lark")
    if spec is None or spec.origin is None:
        return ""
    try:
        status = os.stat(spec.origin)
    except OSError:
        return spec.origin
    return f"{spec.origin}:{status.st_size}:{status.st_mtime_ns}"


@functools.cache
def _learned() -> _Learned:
    key = cache.key(grammar_text(), cache.source_of(__file__), _lark_identity())
    learned = _Learned(key, {}, {}, {})
    stored = cache.read("grammar", key)
    try:
        terminals, lines, rows = stored  # type: ignore[misc]
        learned.terminals.update((name, terminals[name]) for name in _CLASSES)
        learned.lines.update(((start, text), tuple(words)) for start, text, words in lines)
        learned.rows.update(rows)
        strings = [*learned.terminals.values(), *(w for k, ws in learned.lines.items() for w in (*k, *ws))]
        if not all(type(text) is str for text in strings):
            raise TypeError("not text")
    except (TypeError, ValueError, KeyError):  # no entry, or not one this module wrote: relearn
        return _Learned(key, {}, {}, {})
    return learned


def _stored_plan(shape: tuple) -> Plan | object | None:
    """The plan an earlier run learned for `shape` (from now on in `_plans`), or None."""
    rows = _learned().rows
    if shape not in rows:
        return None
    row = rows.pop(shape)
    try:
        plan = _UNCACHEABLE if row is None else _plan_of(row, len(shape))
    except (TypeError, ValueError):  # not a row this module wrote: relearn the shape
        return None
    _plans[shape] = plan
    return plan


def _plan_of(row: tuple, words: int) -> Plan:
    """The plan `_row_of` wrote for a shape of `words` words; ValueError for anything else (a
    damaged entry must not reach the parser)."""
    counters, action, action_words, arguments = row
    plan = Plan(counters, action, tuple(action_words), tuple(Argument(*argument) for argument in arguments))
    indices = [plan.counters, *plan.action_words]
    for argument in plan.arguments:
        indices += [argument.not_, argument.option, *argument.values, *argument.legacy_not]
    if not isinstance(plan.action, str) or not all(i is None or (type(i) is int and 0 <= i < words) for i in indices):
        raise ValueError("not a plan")
    return plan


def _row_of(plan: Plan) -> tuple:
    arguments = tuple((a.not_, a.option, a.values, a.legacy_not) for a in plan.arguments)
    return plan.counters, plan.action, plan.action_words, arguments


def save() -> bool:
    """Write what this process learned to the cache, if it learned anything; True when written."""
    if not _learned.cache_info().currsize:
        return False
    learned = _learned()
    if not learned.changed:
        return False
    rows = {shape: None if plan is _UNCACHEABLE else _row_of(plan) for shape, plan in _plans.items()}  # type: ignore[arg-type]
    for shape, row in learned.rows.items():  # learned by earlier runs, not used by this one
        rows.setdefault(shape, row)
    kept = dict(itertools.islice(rows.items(), _MAX_SHAPES))
    lines = [(start, text, words) for (start, text), words in learned.lines.items()]
    written = cache.write("grammar", learned.key, (learned.terminals, lines, kept))
    learned.changed = not written
    return written


def _plan_from_tree(tree: Tree, tokens: list[Token]) -> Plan:
    from lark import Token

    index = {id(token): i for i, token in enumerate(tokens)}
    counters = None
    action = ""
    action_words: tuple[int, ...] = ()
    arguments = []
    for child in tree.children:
        if isinstance(child, Token):
            counters = index[id(child)]
        elif child.data == "argument":
            parts = child.children
            not_ = None
            if parts[0].type == "NOT":
                not_ = index[id(parts[0])]
                parts = parts[1:]
            values = tuple(index[id(p)] for p in parts[1:])
            legacy = tuple(index[id(p)] for p in parts[1:] if p.type == "LEGACY_NOT")
            arguments.append(Argument(not_, index[id(parts[0])], values, legacy))
        else:
            action = str(child.data)
            action_words = tuple(index[id(t)] for t in child.children)
    return Plan(counters, action, action_words, tuple(arguments))


# ---------------------------------------------------------------------------------------
# The fast path for rule lines (used by parser._Program)
#
# Most lines of a big dump are "simple": words separated by single spaces, no tab, and
# double quotes only around whole words without backslashes.  For those, `str.split`
# gives the same words as `split_words`, at C speed.  `rule_key` masks the words that
# are values (they never change how a line parses) and keeps everything else: option
# words, `!`, and the values that do change the parse (after -m, -p, and after -j/-g
# unless the name holds a '-', which no verdict or target extension does).  Lines with
# the same key have the same plan and the same modules, so the parser can replay the
# work it did for the first of them (see parser._Program).
# ---------------------------------------------------------------------------------------

_RULE_KEY = re.compile(
    r" (?:(?<! -m )(?<! -p )(?<! -j )(?<! -g )(?:\"[^\"]*\"|[^-!\[ \"][^ ]*)"  # a value
    r"|(?<= -[jg] )(?=[^ ]*-)[^-!\[ \"][^ ]*)"  # a jump to a user chain
)  # each starts with ' ', so the regex engine skips to the next blank at C speed
_RULE_KEY_COUNTERS = re.compile(r"^\[[0-9]+:[0-9]+\](?= )")  # the counters of iptables-save -c


def fast_words(text: str) -> list[str] | None:
    """The words of a simple line (see above), or None when `split_words` is needed."""
    if "\t" in text:
        return None
    quotes = text.count('"')
    if quotes == 0:
        words = text.split(" ")
    elif quotes == 2 and "\\" not in text:  # one quoted word, as in most kube-proxy rules
        before, quoted, after = text.split('"')
        if before[-1:] != " " or after[:1] not in ("", " "):
            return None
        words = before[:-1].split(" ")
        words.append(f'"{quoted}"')
        if after:
            words += after[1:].split(" ")
    else:
        parts = text.split('"')
        if len(parts) % 2 == 0 or "\\" in text:
            return None
        words = parts[0].split(" ")
        if words.pop() != "":
            return None  # a quote inside a word
        last = len(parts) - 1
        for i in range(1, last, 2):
            words.append(f'"{parts[i]}"')
            rest = parts[i + 1].split(" ")
            if rest[0] != "":
                return None  # a quote inside a word
            if i + 1 < last:
                if len(rest) < 2 or rest.pop() != "":
                    return None
                words.extend(rest[1:])
            elif len(rest) > 1:
                words.extend(rest[1:])
    if "" in words:
        return None  # two blanks in a row, or a blank at an end
    return words


def rule_key(text: str) -> str:
    """The key of a simple line: its text with the value words blanked."""
    if text[0] == "[":
        text = _RULE_KEY_COUNTERS.sub("", text, 1)
    return _RULE_KEY.sub(" ", text)


def word_offsets(words: list[str]) -> tuple[int, ...]:
    """Flattened (start, end) offsets of words separated by single spaces."""
    offsets = []
    start = 0
    for word in words:
        end = start + len(word)
        offsets.append(start)
        offsets.append(end)
        start = end + 1
    return tuple(offsets)


def unquote(word: str) -> str:
    """The argument iptables-restore makes of a word: quotes removed, `\\x` inside quotes is `x`."""
    if '"' not in word:
        return word
    if word[0] == '"' and word.count('"') == 2 and word[-1] == '"' and "\\" not in word:
        return word[1:-1]  # the common case, `"a comment"`
    out = []
    quoted = escaped = False
    for char in word:
        if quoted:
            if escaped:
                out.append(char)
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                quoted = False
            else:
                out.append(char)
        elif char == '"':
            quoted = True
        else:
            out.append(char)
    if quoted:  # a quote left open runs to the end of the line, and takes its newline too
        out.append("\n")
    return "".join(out)
