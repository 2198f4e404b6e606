"""How an extension (a match `-m NAME` or a target `-j NAME`) declares its options.

Each extension is one file, `iptlint/extensions/matches/<name>.py` or
`iptlint/extensions/targets/<name>.py`, holding an `EXTENSION = Extension(...)`: the
same facts as the option table of iptables' `extensions/libxt_<name>.c` (names,
whether `!` is allowed, how many words, how values are read), written as data.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from iptlint.syntax.ast import Family, Option
from iptlint.syntax.values import Parser

Kind = Literal["match", "target"]
FamilyName = Literal["both", "ipv4", "ipv6"]

# A final check sees the options of one match or target, by canonical name, and the
# rule's protocol (None when the rule has no -p); it returns error messages.
FinalCheck = Callable[[Mapping[str, Option], Family, "int | None"], list[str]]


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option: `name` is the spelling iptables-save prints, `aliases` the others it accepts."""

    name: str
    parse: Parser | None = None  # None: a flag, takes no value
    aliases: tuple[str, ...] = ()
    nargs: int = 1
    invert: bool = False  # may be negated with '!'
    multi: bool = False  # may be given more than once
    required: bool = False
    excludes: tuple[str, ...] = ()  # canonical names of options it cannot be combined with

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def opt(
    name: str,
    parse: Parser | None = None,
    *aliases: str,
    nargs: int | None = None,
    invert: bool = False,
    multi: bool = False,
    required: bool = False,
    excludes: tuple[str, ...] = (),
) -> OptionSpec:
    """Shorthand for an `OptionSpec`; `nargs` defaults to 0 for flags and 1 otherwise."""
    if nargs is None:
        nargs = 0 if parse is None else 1
    return OptionSpec(name, parse, tuple(aliases), nargs, invert, multi, required, excludes)


@dataclass(frozen=True, slots=True)
class Extension:
    name: str
    kind: Kind
    options: tuple[OptionSpec, ...] = ()
    summary: str = ""
    family: FamilyName = "both"
    protocols: tuple[int, ...] | None = None  # a match only valid with `-p` one of these
    tables: tuple[str, ...] | None = None  # a target only valid in these tables
    hooks: tuple[str, ...] | None = None  # ... and reachable only from these built-in chains
    check: FinalCheck | None = None
    terminal: bool = False  # a target that always ends evaluation (DROP-like: REJECT, DNAT...)

    def available(self, family: Family) -> bool:
        return self.family == "both" or self.family == family.value

    def option(self, spelling: str) -> OptionSpec | None:
        for spec in self.options:
            if spelling == spec.name or spelling in spec.aliases:
                return spec
        return None
