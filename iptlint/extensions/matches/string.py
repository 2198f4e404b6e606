"""string: a byte pattern anywhere in the packet (libxt_string).

    -m string --string "GET /admin" --algo bm --to 200 -j DROP
    -m string --hex-string "|16 03 01|" --algo kmp

`--algo` (bm or kmp) and one of `--string`/`--hex-string` are required.  A hex string
mixes text with `|hex bytes|` blocks and `\\x` escapes; patterns are 1-128 bytes.
`--from`/`--to` bound the offsets searched (0-65535, from <= to).
"""

from __future__ import annotations

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_PATTERN = 128  # XT_STRING_MAX_PATTERN_SIZE
ALGORITHMS = ("bm", "kmp")  # the kernel's textsearch algorithms that take a plain pattern
_HEX = frozenset(b"0123456789abcdefABCDEF")


def pattern(text: str, family) -> bytes:
    """`--string`: the bytes as written, 1-128 of them (the kernel refuses an empty pattern)."""
    data = text.encode("utf-8", "surrogateescape")
    if not data:
        raise ValueError("the pattern is empty")
    if len(data) > MAX_PATTERN:
        raise ValueError(f"the pattern is {len(data)} bytes long; the limit is {MAX_PATTERN}")
    return data


def hex_pattern(text: str, family) -> bytes:
    """`abc|0d 0a|def\\|`: text, `|...|` hex blocks and backslash escapes.

    A step-by-step port of parse_hex_string in libxt_string.c, whose corner cases
    (a character right after `|` is read in the same step) decide what is valid.
    """
    s = text.encode("utf-8", "surrogateescape")
    if not s:
        raise ValueError("the pattern is empty")
    out = bytearray()
    in_hex = False
    i = 0
    while i < len(s):
        if len(out) >= MAX_PATTERN:
            raise ValueError(f"the pattern is longer than {MAX_PATTERN} bytes")
        escaped = False
        if s[i] == ord("\\"):
            if in_hex:
                raise ValueError("a backslash escape cannot be inside a |hex| block")
            escaped = True
        elif s[i] == ord("|"):
            in_hex = not in_hex
            while in_hex and s[i + 1 : i + 2] == b" ":
                i += 1
            if i + 1 >= len(s):
                break
            i += 1
        if escaped:
            if i + 1 >= len(s):
                raise ValueError("a backslash at the end of the pattern escapes nothing")
            out.append(s[i + 1])
            i += 2
        elif in_hex:
            if i + 1 >= len(s):
                raise ValueError("odd number of hex digits")
            if i + 2 >= len(s):
                raise ValueError("a |hex| block must end with '|'")
            pair = s[i : i + 2]
            if not all(c in _HEX for c in pair):
                raise ValueError(f"invalid hex digits {pair.decode(errors='replace')!r}")
            out.append(int(pair, 16))
            i += 3 if s[i + 2] == ord(" ") else 2
        else:
            out.append(s[i])
            i += 1
    return bytes(out)


def _check(options, family, protocol):
    if "--string" not in options and "--hex-string" not in options:
        return ["give --string or --hex-string"]
    start, end = options.get("--from"), options.get("--to")
    if start is not None and end is not None and start.value > end.value:
        return [f"--from {start.value} is beyond --to {end.value}"]
    return []


EXTENSION = Extension(
    name="string",
    kind="match",
    summary="a byte pattern in the packet",
    options=(
        opt("--from", v.uint16),
        opt("--to", v.uint16),
        opt("--algo", v.choice(*ALGORITHMS, what="algorithm"), required=True),
        opt("--string", pattern, invert=True, excludes=("--hex-string",)),
        opt("--hex-string", hex_pattern, invert=True, excludes=("--string",)),
        opt("--icase"),
    ),
    check=_check,
)
