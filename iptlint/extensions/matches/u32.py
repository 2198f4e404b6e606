"""u32: tests on 32-bit words read at computed offsets of the packet (libxt_u32).

    -m u32 --u32 "0>>22&0x3C@12>>26&0x3C@0=0x47455420" -j DROP   (TCP payload starts "GET ")

A test is `LOCATION=VALUES`: LOCATION is a number followed by operations `&N`, `<<N`,
`>>N`, `@N` (at most 10 numbers); VALUES is up to 10 `N` or `N:M` separated by `,`.
Up to 10 tests are joined with `&&`.  Blanks are allowed between items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_SIZE = 10  # XT_U32_MAXSIZE
_NUMBER = re.compile(r"\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_OPERATOR = re.compile(r"\s*(&&|&|<<|>>|@|=|,|:)")


@dataclass(frozen=True, slots=True)
class U32Test:
    """One `LOCATION=VALUES` test: the start number, then (operator, number) steps."""

    start: int
    steps: tuple[tuple[str, int], ...]
    values: tuple[v.Range, ...]


class _Reader:
    """Reads numbers and operators from a u32 expression, left to right."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at_end(self) -> bool:
        return not self.text[self.pos :].strip()

    def number(self) -> int:
        found = _NUMBER.match(self.text, self.pos)
        if found is None:
            raise ValueError(f"at char {self.pos}: a number was expected")
        self.pos = found.end()
        return v.to_int(found.group(1), 0, 0xFFFFFFFF, "u32 number")

    def operator(self) -> str | None:
        found = _OPERATOR.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group(1)


def _test(reader: _Reader) -> tuple[U32Test, str | None]:
    start = reader.number()
    steps = []
    while (op := reader.operator()) in ("&", "<<", ">>", "@"):
        steps.append((op, reader.number()))
        if len(steps) + 1 > MAX_SIZE:
            raise ValueError("too many operations in one location")
    if op != "=":
        raise ValueError(f"at char {reader.pos}: '=' was expected after the location")
    values = []
    while True:
        lo = reader.number()
        op = reader.operator()
        hi = lo
        if op == ":":
            hi = reader.number()
            op = reader.operator()
        values.append(v.Range(lo, hi))
        if len(values) > MAX_SIZE:
            raise ValueError("too many values in one test")
        if op != ",":
            break
    if op not in (None, "&&") or (op is None and not reader.at_end()):
        raise ValueError(f"at char {reader.pos}: ',' or '&&' was expected")
    return U32Test(start, tuple(steps), tuple(values)), op


def u32_tests(text: str, family) -> tuple[U32Test, ...]:
    """`--u32`: up to 10 tests joined by `&&`, read as u32_parse in libxt_u32.c reads them."""
    reader = _Reader(text)
    tests = []
    while True:
        test, joiner = _test(reader)
        tests.append(test)
        if len(tests) > MAX_SIZE:
            raise ValueError(f"at most {MAX_SIZE} tests joined by '&&'")
        if joiner is None:
            return tuple(tests)


EXTENSION = Extension(
    name="u32",
    kind="match",
    summary="tests on packet words",
    options=(opt("--u32", u32_tests, invert=True, required=True),),
)
