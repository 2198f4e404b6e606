"""hashlimit: a rate limit per source/destination address or port (libxt_hashlimit, rev. 3).

    -m hashlimit --hashlimit-above 20/sec --hashlimit-mode srcip --hashlimit-name ssh -j DROP
    -m hashlimit --hashlimit-upto 4kb/s --hashlimit-burst 400kb --hashlimit-name mini

Needs `--hashlimit-name` and one of `--hashlimit-upto`/`--hashlimit-above` (the old
`--hashlimit` is `--hashlimit-upto`).  A rate in bytes (`10mb/s`) needs a burst in
bytes at least as large as one rate unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from iptlint.extensions.matches.limit import leading_number, rate_parser
from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

SCALE = 1_000_000  # XT_HASHLIMIT_SCALE_v2
BURST_MAX = 1_000_000  # XT_HASHLIMIT_BURST_MAX
UINT32_MAX = 0xFFFFFFFF
UINT64_MAX = 0xFFFFFFFFFFFFFFFF
BYTE_SHIFT = 4  # XT_HASHLIMIT_BYTE_SHIFT
MODES = ("srcip", "dstip", "srcport", "dstport")
_SIZE = {"": 1, "k": 1024, "m": 1024 * 1024}
_BYTES = re.compile(r"(.?)b/s")
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class ByteRate:
    """A rate in bytes per second, `512kb/s`."""

    bytes_per_second: int

    def __str__(self) -> str:
        return f"{self.bytes_per_second}b/s"


def byte_cost(bytes_per_second: int) -> int:
    """The kernel's cost of one rate unit (bytes_to_cost in libxt_hashlimit.c)."""
    return UINT32_MAX // (((bytes_per_second >> BYTE_SHIFT) & UINT32_MAX) + 1)


def cost_bytes(cost: int) -> int:
    """The smallest byte burst the kernel accepts for `cost` (cost_to_bytes)."""
    return ((UINT32_MAX // cost if cost else UINT32_MAX) - 1) << BYTE_SHIFT


_packet_rate = rate_parser(SCALE)


def rate(text: str, family) -> v.Rate | ByteRate:
    """`20/sec`, `1000/min` (packets) or `512kb/s`, `10mb/s`, `123456b/s` (bytes).

    As parse_bytes reads it: any text holding `b/s` after its first character is a byte
    rate, the count is the number it starts with, and the character before `b/s` scales
    it only if it is `k` or `m` (so `5gb/s` is 5 bytes per second).
    """
    found = _BYTES.search(text, 1)
    if found is None:
        return _packet_rate(text, family)
    number = leading_number(text) * _SIZE.get(found.group(1), 1)
    if number <= 0:
        raise ValueError(f"rate {text!r} is not a positive number of bytes per second")
    if number > UINT64_MAX:
        raise ValueError(f"rate {text} is too large")
    if byte_cost(number) == 0:
        raise ValueError(f"rate {text} is too high")
    return ByteRate(number)


def burst(text: str, family) -> int:
    """A packet count up to 1000000, or a byte count with a `k`/`m` suffix (`400kb`).

    As parse_burst reads it: a number (decimal, 0x hex or 0 octal) of at least 1; the
    character after it scales it when it is `k` or `m`, and anything else after it is
    ignored (the packet limit is then checked only against the rate, at the end).
    """
    found = _NUMBER.match(text)
    if found is None:
        raise ValueError(f"burst {text!r} is not a number")
    number = v.to_int(found.group(1), 1, UINT64_MAX, "burst")
    rest = text[found.end() :]
    if not rest and number > BURST_MAX:
        raise ValueError(f"burst {text} is out of range 1-{BURST_MAX}")
    number *= _SIZE.get(rest[:1], 1)
    if number > UINT64_MAX:
        raise ValueError(f"burst {text} is too large")
    return number


def prefix_length(text: str, family) -> int:
    """A mask as a prefix length (`24`) or a contiguous mask (`255.255.255.0`, `ffff:ffff::`)."""
    limit = 32 if family is Family.IPV4 else 128
    if text.isdigit():
        return v.to_int(text, 0, limit, "prefix length")
    try:
        mask = int(v.single_address(text, family))
    except ValueError:
        raise ValueError(f"{text!r} is neither a prefix length (0-{limit}) nor a network mask") from None
    ones = bin(mask).count("1")
    if mask != ((1 << ones) - 1) << (limit - ones):
        raise ValueError(f"mask {text} is not contiguous: give a prefix length 0-{limit}")
    return ones


def mode(text: str, family) -> frozenset[str]:
    """`srcip,dstport`: what the buckets are keyed on (`|` also separates)."""
    words = [w for w in re.split(r"[,|]", text) if w]
    for word in words:
        if word not in MODES:
            raise ValueError(f"mode {word!r} is not one of {', '.join(MODES)}")
    return frozenset(words)


def table_name(text: str, family) -> str:
    """The name of the hash table, a file under /proc/net/ipt_hashlimit: not empty, no `/`."""
    if not text or text in (".", "..") or "/" in text:
        raise ValueError(f"name {text!r} cannot be a /proc/net/ipt_hashlimit file name")
    return text


def interval(text: str, family) -> int:
    """`--hashlimit-rate-interval`: seconds, at least 1 (read with atoi, as parse_interval does)."""
    number = leading_number(text)
    if not 1 <= number <= 0x7FFFFFFF:
        raise ValueError(f"rate interval {text!r} is not a number of seconds from 1 to {0x7FFFFFFF}")
    return number


def _check(options, family, protocol):
    limit = options.get("--hashlimit-upto") or options.get("--hashlimit-above")
    if limit is None:
        return ["give --hashlimit-upto or --hashlimit-above"]
    if "--hashlimit-rate-interval" in options and "--hashlimit-rate-match" not in options:
        return ["--hashlimit-rate-interval needs --hashlimit-rate-match (the kernel refuses it alone)"]
    given_burst = options.get("--hashlimit-burst")
    if isinstance(limit.value, ByteRate):
        needed = cost_bytes(byte_cost(limit.value.bytes_per_second))
        if given_burst is not None and given_burst.value < needed:
            return [f"a burst of {given_burst.value} bytes is below one rate unit: at least {needed}b"]
    elif given_burst is not None and given_burst.value > BURST_MAX:
        return [f"--hashlimit-burst {given_burst.text} is out of range 1-{BURST_MAX}"]
    return []


_UINT32 = v.uint(0, UINT32_MAX)
_POSITIVE = v.uint(1, UINT32_MAX)  # the kernel refuses a zero garbage-collection interval or expiry

EXTENSION = Extension(
    name="hashlimit",
    kind="match",
    summary="rate limit per address or port",
    options=(
        opt("--hashlimit-upto", rate, "--hashlimit", invert=True, excludes=("--hashlimit-above",)),
        opt("--hashlimit-above", rate, invert=True, excludes=("--hashlimit-upto",)),
        opt("--hashlimit-burst", burst),
        opt("--hashlimit-mode", mode),
        opt("--hashlimit-srcmask", prefix_length),
        opt("--hashlimit-dstmask", prefix_length),
        opt("--hashlimit-name", table_name, required=True),
        opt("--hashlimit-htable-size", _UINT32),
        opt("--hashlimit-htable-max", _UINT32),
        opt("--hashlimit-htable-gcinterval", _POSITIVE),
        opt("--hashlimit-htable-expire", _POSITIVE),
        opt("--hashlimit-rate-match"),
        opt("--hashlimit-rate-interval", interval),
    ),
    check=_check,
)
