"""set: membership of the packet's addresses/ports in an ipset (libxt_set, revision 4).

    -m set --match-set docker-ext-bridges-v4 dst -j DOCKER
    -m set ! --match-set blocklist src,dst --packets-gt 10

`--match-set NAME DIRS` takes two words: the set and up to 6 comma-separated `src`/`dst`
(one per dimension of the set).  The set must exist when the rules are loaded: a dump
that uses one depends on `ipset restore` having run first, which iptlint cannot see.
"""

from __future__ import annotations

from dataclasses import dataclass

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_NAME = 31  # IPSET_MAXNAMELEN - 1
MAX_DIMENSIONS = 6  # IPSET_DIM_MAX


@dataclass(frozen=True, slots=True)
class SetMatch:
    """`--match-set NAME src,dst`: which packet field feeds each dimension of the set."""

    name: str
    directions: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.name} {','.join(self.directions)}"


def match_set(texts: tuple[str, str], family) -> SetMatch:
    """The two words of `--match-set`: a set name of at most 31 characters, then src/dst flags."""
    name, dirs = texts
    if not name:
        raise ValueError("empty set name")
    if len(name) > MAX_NAME:
        raise ValueError(f"set name {name!r} is longer than {MAX_NAME} characters")
    if dirs.startswith(("-", "!")):
        raise ValueError("--match-set takes two words: the set name, then src/dst flags")
    items = dirs.split(",")
    if len(items) > MAX_DIMENSIONS:
        raise ValueError(f"at most {MAX_DIMENSIONS} src/dst flags")
    directions = []
    for item in items:
        # libxt_set compares only the first three characters (strncmp(ptr, "src", 3)).
        if item[:3] not in ("src", "dst"):
            raise ValueError(f"{item!r} is not src or dst")
        directions.append(item[:3])
    return SetMatch(name, tuple(directions))


_COUNTER = v.uint(0, 0xFFFFFFFFFFFFFFFF, "counter")
_PACKETS = ("--packets-eq", "--packets-lt", "--packets-gt")
_BYTES = ("--bytes-eq", "--bytes-lt", "--bytes-gt")


def _others(name: str, group: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(other for other in group if other != name)


EXTENSION = Extension(
    name="set",
    kind="match",
    summary="ipset membership",
    options=(
        opt("--match-set", match_set, "--set", nargs=2, invert=True, required=True),
        opt("--return-nomatch"),
        opt("--update-counters", invert=True),
        opt("--update-subcounters", invert=True),
        opt("--packets-eq", _COUNTER, invert=True, excludes=_others("--packets-eq", _PACKETS)),
        opt("--packets-lt", _COUNTER, excludes=_others("--packets-lt", _PACKETS)),
        opt("--packets-gt", _COUNTER, excludes=_others("--packets-gt", _PACKETS)),
        opt("--bytes-eq", _COUNTER, invert=True, excludes=_others("--bytes-eq", _BYTES)),
        opt("--bytes-lt", _COUNTER, excludes=_others("--bytes-lt", _BYTES)),
        opt("--bytes-gt", _COUNTER, excludes=_others("--bytes-gt", _BYTES)),
    ),
)
