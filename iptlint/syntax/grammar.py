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
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Tree

START_SYMBOLS = ["table_header", "chain_decl", "commit", "comment", "command"]


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
    if os.environ.get("IPTLINT_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "iptlint")
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError:
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return os.path.join(directory, f"grammar-{digest}.lark-cache")


# Word classes of the fast split, in the lexer's priority order.
_CLASSES = ("RULE_COUNTERS", "NOT", "LEGACY_NOT", "OPTION", "WORD")


@functools.cache
def _fast_split() -> re.Pattern[str]:
    terminals = {t.name: t.pattern.to_regexp() for t in parser().terminals}
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
    if cached is not None and cached is not _UNCACHEABLE:
        return cached, words, offsets  # type: ignore[return-value]
    tree = parser().parse(text, start="command")
    tokens = [t for t in tree.scan_values(lambda v: isinstance(v, Token))]
    lark_offsets: list[int] = []
    for token in tokens:
        lark_offsets.append(token.start_pos)
        lark_offsets.append(token.end_pos)
    plan = _plan_from_tree(tree, tokens)
    if cached is None:
        _plans[key] = plan if lark_offsets == offsets else _UNCACHEABLE
    return plan, [str(t) for t in tokens], lark_offsets


def cached_plan(words: list[str], classes: list[str]) -> Plan | None:
    """The plan every line of this shape gets without lark, or None (not seen yet, or uncacheable)."""
    found = _plans.get(shape_of(words, classes))
    return found if isinstance(found, Plan) else None


def _plan_from_tree(tree: Tree, tokens: list[Token]) -> Plan:
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
