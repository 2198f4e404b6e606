"""Other inputs than `iptables-save`: `iptables -S` rules and `iptables -L -n -v` listings.

iptlint's parser reads `iptables-save` dumps.  Two other outputs of iptables are what
people paste into tickets and blog posts, so iptlint reads them too, by translating them
into an `iptables-save` text and parsing that (see docs/input-formats.md):

* `rules`: the output of `iptables -S` (or a restore file without `*table` lines):
  `-P`, `-N` and `-A` lines of one table.  The table is named by a `--table` option or
  a header comment (`# iptables -t nat -S`, `# table: nat`); the default is filter.
  Exact: the lines are parsed as they are written.
* `listing`: the output of `iptables -L [-n] [-v] [-x] [--line-numbers]`, one or
  several tables.  Each rule line is turned back into the `iptables-save` rule it was
  printed from, module by module (`tcp dpt:80` -> `-m tcp --dport 80`, see
  iptlint/syntax/listing_modules.py).  A listing hides things (interfaces without
  `-v`, addresses without `-n`, exact counters without `-x`, a hashlimit's name...):
  each loss is an S126 finding and the rule is marked uncertain in
  `Ruleset.uncertain`; text iptlint cannot read back is S127.

Every line, finding and rule of the result points at the line of the input it came
from.  Findings inside a listing rule span its whole line (columns of the translated
text mean nothing in the listing).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from iptlint.findings import Finding, Span
from iptlint.syntax.ast import BUILTIN_CHAINS, Comment, Family, Rule, Ruleset, Uncertainty
from iptlint.syntax.diagnostics import DIAGNOSTICS
from iptlint.syntax.listing_modules import read_matches, read_target
from iptlint.syntax.parser import ParseResult, detect_family, parse, parse_bytes


class InputFormat(enum.Enum):
    SAVE = "save"
    RULES = "rules"
    LISTING = "listing"

    def __str__(self) -> str:
        return self.value


# ---------------------------------------------------------------------------------------
# Detection and table names
# ---------------------------------------------------------------------------------------

_CHAIN_HEADER = re.compile(
    r"^Chain (\S+) \((?:policy (\S+)(?: (\S+) packets, (\S+) bytes)?|(\d+) references|ERROR obtaining refs)\)\s*$"
)
_TABLE_LINE = re.compile(r"^\*\S")
_RULES_LINE = re.compile(r"^\s*(?:\[\d+:\d+\]\s*)?-[APNIXFDRZE]\s")
# A command line naming the table: a shell prompt or comment, optional sudo/watch, then iptables.
_COMMAND = re.compile(
    r"^(?:.*?[#$%>]\s*)?(?:sudo\s+)?(?:watch\s+(?:-\S+\s+)*)?(?:\S*/)?(ip6?tables(?:-legacy|-nft)?)(\s.*)?$"
)
_TABLE_OPTION = re.compile(r"(?:^|\s)(?:-t\s*|--table[=\s]\s*)(\w+)")
_TABLE_COMMENT = re.compile(r"^#\s*table\s*[:=]\s*(\w+)\s*$", re.I)


def detect_format(text: str) -> InputFormat:
    """`save` when a line starts with `*`, `listing` when one is a `Chain X (...)` header,
    `rules` when `-A/-P/-N...` lines come without any `*table`, `:CHAIN` or COMMIT line
    (which `iptables -S` never prints); `save` otherwise, so that a dump missing its
    `*table` line is still reported as one (S103)."""
    lines = text.split("\n")
    if any(_TABLE_LINE.match(line) for line in lines):
        return InputFormat.SAVE
    if any(_CHAIN_HEADER.match(line) for line in lines):
        return InputFormat.LISTING
    save_only = any(line.startswith((":", "COMMIT")) for line in lines)  # iptables -S prints neither
    if not save_only and any(_RULES_LINE.match(line) for line in lines):
        return InputFormat.RULES
    return InputFormat.SAVE


def table_named_by(line: str) -> str | None:
    """The table a header or command line names: `# table: nat`, `# iptables -t nat -L -n`,
    `root@host:~# iptables -L -t nat`; `filter` for an iptables command without `-t`.
    None when the line names no table."""
    found = _TABLE_COMMENT.match(line.strip())
    if found:
        return found.group(1)
    command = _COMMAND.match(line.strip())
    if command is None:
        return None
    arguments = command.group(2) or ""
    if not re.search(r"(?:^|\s)(?:-[a-zA-Z]*[LS]|--list(?:-rules)?)\b", arguments):
        return None
    option = _TABLE_OPTION.search(arguments)
    return option.group(1) if option else "filter"


def command_flags(line: str) -> str:
    """The short flags of an iptables command line (`-L -n -v` -> 'Lnv'), '' for other lines."""
    command = _COMMAND.match(line.strip())
    if command is None:
        return ""
    flags = ""
    for word in (command.group(2) or "").split():
        if re.fullmatch(r"-[a-zA-Z]+", word):
            flags += word[1:]
        elif word == "--numeric":
            flags += "n"
        elif word == "--verbose":
            flags += "v"
        elif word == "--exact":
            flags += "x"
    return flags


# ---------------------------------------------------------------------------------------
# Conversions: a synthetic iptables-save text and where each of its lines came from
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loss:
    """Something the input does not say exactly, at one of its lines."""

    line: int
    kind: str  # a short key: 'counters', 'interfaces', 'names', 'hashlimit-name', 'excerpt'...
    detail: str
    code: str = "S126"


@dataclass
class Conversion:
    """An iptables-save text built from another format, with a map back to the input."""

    lines: list[str] = field(default_factory=list)
    origin: list[int] = field(default_factory=list)  # input line of each synthetic line
    losses: list[Loss] = field(default_factory=list)
    exact_columns: bool = True  # False: the synthetic words do not sit where the input's do

    def add(self, text: str, line: int) -> None:
        self.lines.append(text)
        self.origin.append(line)

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


def convert_rules(text: str, table: str | None = None) -> Conversion:
    """`iptables -S` output (or restore commands without table lines) -> a save text.

    A header comment or command line naming a table starts that table's section; the
    first section's table is `table`, else the one the header names, else filter.
    `-P CHAIN POLICY -c P B` (from `iptables -S -v`) becomes `:CHAIN POLICY [P:B]`.
    """
    conversion = Conversion()
    source = _physical_lines(text)
    current: str | None = None
    for number, line in enumerate(source, 1):
        named = None if _RULES_LINE.match(line) or line.startswith(":") else table_named_by(line)
        if named is not None:
            if current is None:
                current = table or named
                conversion.add(f"*{current}", number)
            elif named != current:
                conversion.add("COMMIT", number)
                current = named
                conversion.add(f"*{current}", number)
            conversion.add(line if line.startswith("#") else f"# {line}", number)
            continue
        if current is None and (_RULES_LINE.match(line) or line.startswith(":")):
            current = table or "filter"
            conversion.add(f"*{current}", number)
        conversion.add(_policy_with_counters(line), number)
    if current is not None:
        conversion.add("COMMIT", max(1, len(source)))
    return conversion


_POLICY_COUNTERS = re.compile(r"^-P\s+(\S+)\s+(\S+)\s+-c\s+(\d+)\s+(\d+)\s*$")


def _policy_with_counters(line: str) -> str:
    found = _POLICY_COUNTERS.match(line)
    if found is None:
        return line
    chain, policy, packets, octets = found.groups()
    return f":{chain} {policy} [{packets}:{octets}]"


def _physical_lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


# ---------------------------------------------------------------------------------------
# Listings: chain headers, column headers, rule lines
# ---------------------------------------------------------------------------------------

_COLUMN_HEADER = re.compile(
    r"^\s*(num\s+)?(pkts\s+bytes\s+)?target\s+prot\s+opt\s+(in\s+out\s+)?source\s+destination\s*$"
)
_FRAGMENT = {"--": None, "-f": "-f", "!f": "! -f"}

# Protocol numbers iptables prints with -n (1.8.9) and the names iptables-save writes.
_PROTOCOL_NAMES = {
    "0": None, "all": None, "6": "tcp", "17": "udp", "1": "icmp", "58": "ipv6-icmp", "icmpv6": "ipv6-icmp",
    "132": "sctp", "136": "udplite", "50": "esp", "51": "ah", "135": "mh", "33": "dccp", "47": "gre",
}  # fmt: skip


@dataclass
class _Layout:
    """Which columns a listing has, from its column header line."""

    numbers: bool = True
    counters: bool = True
    interfaces: bool = True
    line: int = 0


@dataclass
class _ChainBlock:
    name: str
    policy: str | None
    counters: tuple[str, str] | None
    line: int
    rules: list[tuple[int, str]] = field(default_factory=list)  # (line, save rule text)


@dataclass
class _TableBlock:
    name: str | None  # None: not named, inferred from its chains
    line: int
    flags: str = ""
    chains: list[_ChainBlock] = field(default_factory=list)


def convert_listing(text: str, table: str | None = None, family: Family = Family.IPV4) -> Conversion:
    """`iptables -L -n -v [-x] [--line-numbers]` output, of one or several tables -> a save text."""
    conversion = Conversion(exact_columns=False)
    blocks, comments = _listing_blocks(_physical_lines(text), table, conversion.losses, family)
    for number, comment in comments:
        conversion.add(comment, number)
    named = [(block.name or _infer_table(block, conversion.losses), block) for block in blocks]
    latest = {name: block for name, block in named}
    for name, block in named:
        if latest[name] is block:
            _emit_table(conversion, block, name)
            continue
        # An earlier state of a table listed again later (a post's before/after, `watch`).
        first, last = _block_lines(block)
        conversion.losses[:] = [x for x in conversion.losses if not first <= x.line <= last]
        conversion.losses.append(
            Loss(block.line, "repeated", f"table '{name}' is listed again on line {latest[name].line}: "
                 "this earlier listing is ignored, the last one is read", "S127")
        )  # fmt: skip
    return conversion


def _block_lines(block: _TableBlock) -> tuple[int, int]:
    """The first and last line of a table's listing."""
    lines = [block.line] + [c.line for c in block.chains] + [n for c in block.chains for n, _ in c.rules]
    return min(lines), max(lines)


def _listing_blocks(
    lines: list[str], table: str | None, losses: list[Loss], family: Family = Family.IPV4
) -> tuple[list[_TableBlock], list[tuple[int, str]]]:
    """Cut a listing into tables: at a line naming a table, or when a chain repeats or a
    built-in chain follows a user chain (iptables lists built-in chains first)."""
    blocks: list[_TableBlock] = []
    comments: list[tuple[int, str]] = []
    named: tuple[str | None, int, str] | None = (table, 0, "") if table else None
    current: _TableBlock | None = None
    chain: _ChainBlock | None = None
    layout = _Layout()
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        header = _CHAIN_HEADER.match(stripped)
        if header is not None:
            name, policy, packets, octets = header.group(1), header.group(2), header.group(3), header.group(4)
            if current is None or _starts_new_table(current, name):
                if named is not None:
                    current = _TableBlock(named[0], named[1] or number, named[2])
                    named = None
                else:
                    current = _TableBlock(None, number)
                blocks.append(current)
            counters = (packets, octets) if packets is not None else None
            chain = _ChainBlock(name, policy, counters, number)
            current.chains.append(chain)
            layout = _Layout(line=number)
            continue
        names_table = table_named_by(stripped) if stripped else None
        if names_table is not None:
            if names_table not in BUILTIN_CHAINS:
                losses.append(
                    Loss(number, "table", f"'{names_table}' is not a table (iptables would refuse the command): "
                         "the listing's table is read from its chains")
                )  # fmt: skip
            named = (names_table if names_table in BUILTIN_CHAINS else None, number, command_flags(stripped))
            current, chain = None, None
            if stripped.startswith("#"):
                comments.append((number, stripped))
            continue
        if not stripped:
            continue
        columns = _COLUMN_HEADER.match(line)
        if columns is not None:
            layout = _Layout(bool(columns.group(1)), bool(columns.group(2)), bool(columns.group(3)), number)
            continue
        if chain is not None:
            rule = _listing_rule(line, number, layout, chain, losses, family)
            if rule is not None:
                chain.rules.append((number, rule))
                continue
        if stripped.startswith("#"):
            comments.append((number, stripped))
            continue
        losses.append(Loss(number, "line", "a line that is neither a chain header nor a rule: ignored", "S127"))
    return blocks, comments


def _starts_new_table(block: _TableBlock, chain: str) -> bool:
    """Whether `chain` cannot belong to the table listed so far: it repeats, or it is a
    built-in chain after a user chain or out of hook order (iptables lists built-in
    chains first, PREROUTING, INPUT, FORWARD, OUTPUT, POSTROUTING)."""
    names = [c.name for c in block.chains]
    if chain in names:
        return True
    if chain not in _HOOK_ORDER or not names:
        return False
    if names[-1] not in _HOOK_ORDER:
        return True
    return _HOOK_ORDER[chain] <= _HOOK_ORDER[names[-1]]


_HOOK_ORDER = {"PREROUTING": 0, "INPUT": 1, "FORWARD": 2, "OUTPUT": 3, "POSTROUTING": 4}


_ALL_BUILTINS = frozenset(name for chains in BUILTIN_CHAINS.values() for name in chains)
_NAT_TARGETS = ("DNAT", "SNAT", "MASQUERADE", "REDIRECT", "NETMAP")


def _infer_table(block: _TableBlock, losses: list[Loss]) -> str:
    """The table a listing without a naming line shows, from its built-in chains.

    Exactly the built-in chains of one table: that table (filter rather than security).
    Otherwise the first table (filter, nat, mangle, raw) whose built-ins include them,
    nat first when a rule uses a NAT target; the guess is an S126 loss."""
    builtins = {c.name for c in block.chains if c.name in _ALL_BUILTINS}
    for name in ("filter", "nat", "mangle", "raw"):
        if builtins == set(BUILTIN_CHAINS[name]):
            return name
    uses_nat = any(f"-j {target}" in text for c in block.chains for _, text in c.rules for target in _NAT_TARGETS)
    order = ("nat", "filter", "mangle", "raw") if uses_nat else ("filter", "nat", "mangle", "raw")
    guess = next((name for name in order if builtins <= set(BUILTIN_CHAINS[name])), "filter")
    shown = ", ".join(sorted(builtins)) or "no built-in chain"
    losses.append(
        Loss(
            block.line,
            "table",
            f"the listing does not name its table ({shown}): read as '{guess}'; "
            f"precede it with '# iptables -t {guess} -L -n -v' to say so",
        )
    )
    return guess


def _emit_table(conversion: Conversion, block: _TableBlock, name: str) -> None:
    conversion.add(f"*{name}", block.line)
    builtins = BUILTIN_CHAINS.get(name, ())
    for chain in block.chains:
        policy = chain.policy or "-"
        if chain.policy and chain.name not in builtins:
            conversion.losses.append(
                Loss(chain.line, "table", f"chain '{chain.name}' has a policy but is not built into table '{name}'")
            )
        # A user chain's counters are always [0:0] in iptables-save; a listing without -v
        # shows none for a built-in chain: leave them out (None), as `:NAME POLICY` does.
        counters = "[0:0]" if chain.policy is None else ""
        if chain.counters is not None:
            packets = _exact_counter(chain.counters[0], chain.line, conversion.losses)
            octets = _exact_counter(chain.counters[1], chain.line, conversion.losses)
            counters = f"[{packets}:{octets}]"
        conversion.add(f":{chain.name} {policy} {counters}".rstrip(), chain.line)
    for chain in block.chains:
        for number, rule in chain.rules:
            conversion.add(rule, number)
    conversion.add("COMMIT", _block_lines(block)[1])


# -- counters -----------------------------------------------------------------------------

_SUFFIXES = {"K": 1, "M": 2, "G": 3, "T": 4}


def counter_range(text: str) -> tuple[int, int]:
    """The exact numbers a listing's counter stands for: '743K' -> (742500, 743499).

    iptables prints a number above 99999 divided by 1000 (rounded half up) until it fits
    in four digits, with K, M, G or T; with -x it prints the exact number."""
    text = text.strip()
    if text.isdigit():
        return int(text), int(text)
    found = re.fullmatch(r"(\d+)([KMGT])", text)
    if found is None:
        raise ValueError(f"not a counter: {text!r}")
    low = high = int(found.group(1))
    for _ in range(_SUFFIXES[found.group(2)]):
        low, high = max(low * 1000 - 500, 0), high * 1000 + 499
    return max(low, 100000), high


def _exact_counter(text: str, line: int, losses: list[Loss]) -> int:
    """A counter as a number; a rounded one (743K) is its middle value, noted as a loss."""
    low, high = counter_range(text)
    if low != high:
        losses.append(
            Loss(line, "counters", f"counter {text} is rounded ({low}..{high}): list with -x for exact numbers")
        )
        return int(text[:-1]) * 1000 ** _SUFFIXES[text[-1]]
    return low


# -- one rule line ---------------------------------------------------------------------------

_OPT_WORDS = frozenset(_FRAGMENT)


def _listing_rule(
    line: str, number: int, layout: _Layout, chain: _ChainBlock, losses: list[Loss], family: Family = Family.IPV4
) -> str | None:
    """A listing rule line -> the iptables-save rule it was printed from (None: not a rule line)."""
    words = [(m.group(), m.start(), m.end()) for m in re.finditer(r"\S+", line)]
    head = (1 if layout.numbers else 0) + (2 if layout.counters else 0)
    opt = next((i for i in range(head + 1, min(head + 3, len(words))) if words[i][0] in _OPT_WORDS), None)
    tail = opt + 1 + (2 if layout.interfaces else 0) + 2 if opt is not None else len(words) + 1
    if opt is None or tail > len(words):
        return None
    if layout.numbers and not words[0][0].isdigit():
        return None
    if layout.numbers:
        _check_numbering(int(words[0][0]), number, chain, losses)
    counters = ""
    if layout.counters:
        try:
            packets = _exact_counter(words[head - 2][0], number, losses)
            octets = _exact_counter(words[head - 1][0], number, losses)
        except ValueError:
            return None
        counters = f"[{packets}:{octets}] "
    target = words[head][0] if opt == head + 2 else None
    index = opt - 1
    protocol = words[index][0]
    negated_protocol = protocol.startswith("!")
    protocol_name = _PROTOCOL_NAMES.get(protocol.lstrip("!"), protocol.lstrip("!"))
    fragment = _FRAGMENT[words[opt][0]]
    position = opt + 1
    interfaces: list[str] = []
    if layout.interfaces:
        interfaces = _interface("-i", words[position][0]) + _interface("-o", words[position + 1][0])
        position += 2
    else:
        losses.append(Loss(number, "interfaces", "listed without -v: interfaces (-i/-o) are not shown"))
    # iptables-save's order: -s -d -i -o -p -f
    basics = _address("-s", words[position][0], number, losses, family)
    basics += _address("-d", words[position + 1][0], number, losses, family)
    basics += interfaces
    if protocol_name is not None:
        basics += (["!"] if negated_protocol else []) + ["-p", protocol_name]
    if fragment:
        basics.append(fragment)
    extra = line[words[position + 1][2] :]
    goto = False
    stripped = extra.lstrip()
    if stripped.startswith("[goto]"):
        goto, extra = True, stripped[len("[goto]") :]
    modules, target, target_words, rest = _read_extra(extra, protocol_name, target)
    if rest.strip():
        losses.append(Loss(number, "text", f"text iptlint cannot read back: {rest.strip()!r}", "S127"))
    for module in {words[1] for words in modules} & set(_HIDDEN_OPTIONS):
        losses.append(Loss(number, *_HIDDEN_OPTIONS[module]))
    jump = []
    if target:
        jump = ["-g" if goto else "-j", target, *target_words]
    text = " ".join(_quote(w) for w in [*basics, *(w for m in modules for w in m), *jump])
    return f"{counters}-A {chain.name} {text}".rstrip()


@functools.lru_cache(maxsize=4096)
def _read_extra(extra: str, protocol: str | None, target: str | None) -> tuple[list, str | None, list[str], str]:
    """The modules' words, the target, its words and the text left, of the text after the
    addresses (the same texts recur thousands of times in a big listing)."""
    modules, rest = read_matches(extra, protocol)
    if target == "CT" and rest.strip() == "NOTRACK":  # -j NOTRACK, an alias of CT, prints so
        target, rest = "NOTRACK", ""
    target_words, rest = read_target(target, rest)
    return modules, target, target_words, rest


# Options a module's listing text never shows: (loss kind, what it means).
_HIDDEN_OPTIONS = {
    "hashlimit": ("hashlimit-name", "a listing does not show a hashlimit's name: read as 'unknown'"),
    "quota": ("quota-inversion", "a listing does not show whether a quota is inverted ('! --quota')"),
}


def _check_numbering(shown: int, line: int, chain: _ChainBlock, losses: list[Loss]) -> None:
    expected = len(chain.rules) + 1
    if shown != expected:
        losses.append(
            Loss(
                line,
                "excerpt",
                f"rule number {shown} where {expected} was expected: an excerpt, rules of chain "
                f"'{chain.name}' are missing and the positions are not the kernel's",
            )
        )


def _interface(option: str, word: str) -> list[str]:
    if word in ("*", "any", "+", "!+"):  # `-i +` matches every name: iptables-save leaves it out
        return []
    if word.startswith("!"):
        return ["!", option, word[1:]]
    return [option, word]


# An IPv6 mask is listed as an address when no prefix length can say it (feed::/0:ffff::).
_ADDRESS = re.compile(
    r"^[0-9.]+(?:/[0-9.]+)?$|^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(?:/(?:\d+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*))?$"
)


def _address(option: str, word: str, line: int, losses: list[Loss], family: Family = Family.IPV4) -> list[str]:
    """`-s`/`-d` words of an address column.  Without -n, IPv4 prints 'anywhere' for a /0
    mask (exact), but IPv6 for the address `::` whatever its mask (`::/8` too): a loss."""
    negated = word.startswith("!")
    address = word[1:] if negated else word
    if address == "anywhere":
        address = "::/0" if family is Family.IPV6 else "0.0.0.0/0"
        if family is Family.IPV6:
            losses.append(Loss(line, "names", "IPv6 'anywhere' (listed without -n) is the address :: with any mask"))
    if address in ("0.0.0.0/0", "::/0") and not negated:
        return []
    if not _ADDRESS.match(address):
        losses.append(
            Loss(line, "names", f"'{address}' is a host name, not an address (listed without -n): condition left out")
        )
        return []
    if "/" not in address:
        address += "/128" if ":" in address else "/32"
    return (["!"] if negated else []) + [option, address]


_NEEDS_QUOTES = re.compile(r'[\s"\\\']|^$')


def _quote(word: str) -> str:
    if not _NEEDS_QUOTES.search(word) or word == "!":
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------
# Parsing any format, with findings and rules mapped back to the input
# ---------------------------------------------------------------------------------------


def parse_input(
    text: str,
    path: str = "-",
    family: Family | None = None,
    input_format: InputFormat | str = InputFormat.SAVE,
    table: str | None = None,
) -> ParseResult:
    """Parse a save dump, `iptables -S` rules or an `iptables -L` listing ('auto': detect)."""
    chosen = detect_format(text) if str(input_format) == "auto" else InputFormat(str(input_format))
    if chosen is InputFormat.SAVE:
        return parse(text, path, family)
    family = family or (detect_family(text) if chosen is InputFormat.RULES else _listing_family(text))
    rules = chosen is InputFormat.RULES
    conversion = convert_rules(text, table) if rules else convert_listing(text, table, family)
    result = parse(conversion.text, path, family)
    return map_back(result, conversion, _physical_lines(text), chosen)


def parse_input_bytes(
    data: bytes,
    path: str = "-",
    family: Family | None = None,
    input_format: InputFormat | str = InputFormat.SAVE,
    table: str | None = None,
) -> ParseResult:
    """`parse_input` of raw file content; a save dump goes through `parse_bytes` (S101)."""
    text = data.decode("utf-8", errors="surrogateescape")
    chosen = detect_format(text) if str(input_format) == "auto" else InputFormat(str(input_format))
    if chosen is InputFormat.SAVE or b"\x00" in data[:65536]:
        return parse_bytes(data, path, family)
    return parse_input(text, path, family, chosen, table)


def on_listing_lines(findings: Iterable[Finding], ruleset: Ruleset) -> list[Finding]:
    """Findings of a listing span whole lines (their columns belong to the translated text),
    and say so when a rule they name is uncertain: a check may be wrong about it."""
    findings = list(findings)
    if ruleset.input_format != str(InputFormat.LISTING):
        return findings
    source = list(ruleset.lines)
    return [_on_listing_line(f, ruleset, source) for f in findings]


# What an uncertainty means for a finding about the rule (counters matter to no check).
_UNCERTAIN_WORDS = {
    "interfaces": "hides interfaces",
    "names": "shows names instead of addresses",
    "hashlimit-name": "hides the hashlimit name",
    "quota-inversion": "hides a quota's '!'",
    "excerpt": "is an excerpt",
    "text": "has text iptlint could not read",
}


def _on_listing_line(finding: Finding, ruleset: Ruleset, source: list[str]) -> Finding:
    own = [r for r in finding.related if r.path is None]
    related = tuple(
        dataclasses.replace(r, span=_whole_line(r.span.line, source)) if r.path is None else r for r in finding.related
    )
    message = finding.message
    if finding.code not in ("S126", "S127"):
        lines = [finding.span.line] + [r.span.line for r in own]
        kinds = {u.kind for line in lines for u in ruleset.uncertainty(line)}
        words = [_UNCERTAIN_WORDS[k] for k in _UNCERTAIN_WORDS if k in kinds]
        if words:
            message += f" (uncertain: the listing {', '.join(words)})"
    return dataclasses.replace(finding, span=_whole_line(finding.span.line, source), related=related, message=message)


def _listing_family(text: str) -> Family:
    """IPv6 when an ip6tables command names the listing, a rule uses ICMPv6, or an address
    column holds an IPv6 network (`::/0`, `fe80::/10`: ip6tables prints every address with
    its prefix).  A listing without -n showing only 'anywhere' cannot say: IPv4."""
    return Family.IPV6 if _IPV6_LISTING.search(text) else Family.IPV4


_IPV6_LISTING = re.compile(
    r"\bip6tables\b|\bipv6-icmp|\bicmpv6\b|(?<!\S)!?[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}/\d{1,3}(?!\S)"
)


def map_back(result: ParseResult, conversion: Conversion, source: list[str], chosen: InputFormat) -> ParseResult:
    """The parse of a conversion, with every line number, rule and finding on the input's lines."""
    origin = conversion.origin

    def line_of(synthetic: int) -> int:
        return origin[synthetic - 1] if 0 < synthetic <= len(origin) else synthetic

    def rule_of(rule: Rule) -> Rule:
        return replace(rule, line=line_of(rule.line))

    tables = tuple(
        replace(
            table,
            line=line_of(table.line),
            commit_line=line_of(table.commit_line) if table.commit_line else 0,
            chains=tuple(
                replace(chain, line=line_of(chain.line) if chain.line else 0, rules=tuple(map(rule_of, chain.rules)))
                for chain in table.chains
            ),
        )
        for table in result.ruleset.tables
    )
    comments = tuple(
        Comment(line_of(c.line), c.text) for c in result.ruleset.comments if not _synthetic(c, source, origin)
    )
    ruleset = replace(
        result.ruleset,
        tables=tables,
        comments=comments,
        lines=tuple(source),
        input_format=str(chosen),
        uncertain=_uncertainties(conversion.losses),
    )
    findings = [_moved(f, conversion, source) for f in result.findings]
    findings += loss_findings(conversion.losses, result.ruleset.path, source)
    return ParseResult(ruleset, tuple(sorted(set(findings), key=Finding.sort_key)))


def _synthetic(comment: Comment, source: list[str], origin: list[int]) -> bool:
    line = origin[comment.line - 1] if 0 < comment.line <= len(origin) else 0
    return not (0 < line <= len(source)) or source[line - 1].strip() != comment.text.strip()


def _moved(finding: Finding, conversion: Conversion, source: list[str]) -> Finding:
    """A finding on the input's line; its columns kept only where the line was not rewritten."""
    synthetic = finding.span.line
    if not 0 < synthetic <= len(conversion.origin):
        return finding
    line = conversion.origin[synthetic - 1]
    same_text = 0 < line <= len(source) and source[line - 1] == conversion.lines[synthetic - 1]
    if conversion.exact_columns and same_text:
        span = Span(line, finding.span.column, line, finding.span.end_column)
    else:
        span = _whole_line(line, source)
    return dataclasses.replace(finding, span=span)


def _whole_line(line: int, source: list[str]) -> Span:
    text = source[line - 1] if 0 < line <= len(source) else ""
    return Span(line, 1, line, max(len(text.rstrip()), 1) + 1)


_LOSS_HINTS = {
    "counters": "counters are rounded to K/M/G",
    "interfaces": "interfaces are not shown",
    "names": "host names stand for addresses",
    "excerpt": "rules are missing",
    "line": "text that is not part of a listing",
}


def loss_findings(losses: Iterable[Loss], path: str, source: list[str]) -> list[Finding]:
    """One finding per kind of loss, at its first line, counting the other lines it hit."""
    by_kind: dict[tuple[str, str], list[Loss]] = {}
    for loss in losses:
        by_kind.setdefault((loss.code, loss.kind), []).append(loss)
    findings = []
    for (code, kind), found in by_kind.items():
        aggregate = kind in _LOSS_HINTS
        for loss in found[:1] if aggregate else found:
            message = loss.detail
            others = len({x.line for x in found}) - 1
            if aggregate and others:
                message += f" (and {others} more lines)"
            findings.append(Finding(code, message, path, _whole_line(loss.line, source), DIAGNOSTICS[code].severity))
    return findings


def _uncertainties(losses: Iterable[Loss]) -> tuple[Uncertainty, ...]:
    seen: dict[tuple[int, str], Uncertainty] = {}
    for loss in losses:
        seen.setdefault((loss.line, loss.kind), Uncertainty(loss.line, loss.kind, loss.detail))
    return tuple(sorted(seen.values(), key=lambda u: (u.line, u.kind)))
