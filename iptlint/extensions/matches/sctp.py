"""sctp: SCTP ports and chunk types (libxt_sctp).

    -p sctp -m sctp --dport 3868 --chunk-types any INIT,COOKIE_ECHO -j ACCEPT
    -p sctp -m sctp --chunk-types only DATA:Be

Loaded implicitly by `-p sctp` when one of its options follows; needs `-p sctp`.
`--chunk-types` takes two words: `all`, `any` or `only`, then chunk names, each with
optional flags after `:` (upper case: flag set, lower case: flag clear).
"""

from __future__ import annotations

from dataclasses import dataclass

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

# Chunk name -> (type number, flags it may carry), as sctp_chunk_names in libxt_sctp.c.
CHUNK_TYPES = {
    "DATA": (0, "IUBE"), "INIT": (1, ""), "INIT_ACK": (2, ""), "SACK": (3, ""),
    "HEARTBEAT": (4, ""), "HEARTBEAT_ACK": (5, ""), "ABORT": (6, "T"), "SHUTDOWN": (7, ""),
    "SHUTDOWN_ACK": (8, ""), "ERROR": (9, ""), "COOKIE_ECHO": (10, ""), "COOKIE_ACK": (11, ""),
    "ECN_ECNE": (12, ""), "ECN_CWR": (13, ""), "SHUTDOWN_COMPLETE": (14, "T"), "I_DATA": (64, "IUBE"),
    "RE_CONFIG": (130, ""), "PAD": (132, ""), "ASCONF": (193, ""), "ASCONF_ACK": (128, ""),
    "FORWARD_TSN": (192, ""), "I_FORWARD_TSN": (194, ""),
}  # fmt: skip
MATCH_TYPES = ("all", "any", "only")
MAX_CHUNKS_WITH_FLAGS = 4  # XT_NUM_SCTP_FLAGS


@dataclass(frozen=True, slots=True)
class Chunk:
    """A chunk type and the flags it must have set (`set`) or clear (`clear`)."""

    name: str
    type: int
    set: str = ""
    clear: str = ""


@dataclass(frozen=True, slots=True)
class ChunkTypes:
    """`--chunk-types any INIT,DATA:B`: how to combine, and which chunks (empty for NONE)."""

    how: str
    chunks: tuple[Chunk, ...]
    every_type: bool = False  # the list was ALL


def _chunk(text: str) -> Chunk:
    name, _, flags = text.partition(":")
    found = CHUNK_TYPES.get(name.upper())
    if found is None:
        raise ValueError(f"unknown SCTP chunk type {name!r}")
    number, valid = found
    for flag in flags:
        if flag.upper() not in valid:
            allowed = f"only {', '.join(valid)}" if valid else "none"
            raise ValueError(f"flag {flag!r} is not valid for chunk {name.upper()} (flags: {allowed})")
    set_flags = "".join(f for f in flags if f.isupper())
    clear_flags = "".join(f.upper() for f in flags if f.islower())
    return Chunk(name.upper(), number, set_flags, clear_flags)


def chunk_types(texts: tuple[str, str], family) -> ChunkTypes:
    """The two words of `--chunk-types`: `all|any|only` and `ALL`, `NONE` or `NAME[:FLAGS],...`."""
    how_text, chunks_text = texts
    how = how_text.lower()
    if how not in MATCH_TYPES:
        raise ValueError(f"match type {how_text!r} is not all, any or only")
    if chunks_text.upper() == "ALL":
        return ChunkTypes(how, (), every_type=True)
    if chunks_text.upper() == "NONE":
        return ChunkTypes(how, ())
    chunks = tuple(_chunk(item) for item in chunks_text.split(",") if item)
    if not chunks:
        raise ValueError(f"no chunk type in {chunks_text!r}")
    flagged = {c.type for c in chunks if c.set or c.clear}
    if len(flagged) > MAX_CHUNKS_WITH_FLAGS:
        raise ValueError(f"at most {MAX_CHUNKS_WITH_FLAGS} chunk types may carry flags")
    return ChunkTypes(how, chunks)


EXTENSION = Extension(
    name="sctp",
    kind="match",
    summary="SCTP ports and chunk types",
    protocols=(132,),
    options=(
        opt("--sport", v.port_range, "--source-port", invert=True),
        opt("--dport", v.port_range, "--destination-port", invert=True),
        opt("--chunk-types", chunk_types, nargs=2, invert=True),
    ),
)
