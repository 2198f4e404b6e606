"""rateest: compare rates measured by the RATEEST target (libxt_rateest).

    -m rateest --rateest-gt --rateest RE1 --rateest-bps 5mbit -j DROP
    -m rateest --rateest-delta --rateest1 RE1 --rateest-bps1 8bit --rateest-lt --rateest-bps2 16bit --rateest2 RE2

Absolute mode compares the estimator `--rateest NAME` with a rate; relative mode
(`--rateest1 A ... --rateest2 B`) compares two estimators; `--rateest-delta` compares
their differences.  One of `--rateest-lt`, `-gt`, `-eq` (may be negated) and a
`--rateest-bps` (bits/s with a unit such as `kbit`) or `--rateest-pps` (packets/s) are
needed.  The estimators must exist when the rules load (created by `-j RATEEST`).
"""

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

# Units of rateest_get_rate, in bits (copied by iptables from iproute2's tc); any case.
UNITS = {
    "bit": 1, "kibit": 1024, "kbit": 1000, "mibit": 1024**2, "mbit": 10**6, "gibit": 1024**3,
    "gbit": 10**9, "tibit": 1024**4, "tbit": 10**12, "bps": 8, "kibps": 8 * 1024, "kbps": 8000,
    "mibps": 8 * 1024**2, "mbps": 8 * 10**6, "gibps": 8 * 1024**3, "gbps": 8 * 10**9,
    "tibps": 8 * 1024**4, "tbps": 8 * 10**12,
}  # fmt: skip
# What strtod reads: decimal and hexadecimal floating numbers, inf and nan.
_FLOAT = re.compile(
    r"\s*[+-]?(?:0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
    r"|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?|nan)",
    re.IGNORECASE,
)
_MODES = ("--rateest-lt", "--rateest-gt", "--rateest-eq")
_RATES = ("--rateest-bps1", "--rateest-pps1", "--rateest-bps2", "--rateest-pps2")


def estimator(text: str, family) -> str:
    if not text:
        raise ValueError("the estimator name is empty")
    return text


def byte_rate(text: str, family) -> int:
    """A rate as rateest_get_rate reads it, in bytes per second: a number alone is bytes/s."""
    found = _FLOAT.match(text)
    if found is None:
        raise ValueError(f"rate {text!r} does not start with a number")
    unit = text[found.end() :]
    if unit and unit.lower() not in UNITS:
        raise ValueError(f"rate unit {unit!r} is not one of {', '.join(UNITS)}")
    number = found.group().strip()
    value = float.fromhex(number) if "x" in number.lower() else float(number)
    bytes_per_second = value * (UNITS[unit.lower()] if unit else 8) / 8
    return 0 if bytes_per_second != bytes_per_second else int(min(max(bytes_per_second, 0), 0xFFFFFFFF))


def _check(options, family, protocol) -> list[str]:
    if "--rateest" not in options:
        return ["give the estimator: --rateest NAME (or --rateest1 NAME)"]
    if not any(name in options for name in _MODES):
        return ["give --rateest-lt, --rateest-gt or --rateest-eq (the kernel refuses the rule without one)"]
    if not any(name in options for name in _RATES):
        return ["give --rateest-bps or --rateest-pps (the kernel refuses the rule without one)"]
    return []


EXTENSION = Extension(
    name="rateest",
    kind="match",
    summary="rate estimator comparison",
    options=(
        opt("--rateest", estimator, "--rateest1"),
        opt("--rateest2", estimator),
        opt("--rateest-delta"),
        opt("--rateest-lt", invert=True),
        opt("--rateest-gt", invert=True),
        opt("--rateest-eq", invert=True),
        # In iptables the rate after these is optional (relative mode without --rateest-delta
        # leaves it out); iptlint's option tables cannot say so and require it.
        opt("--rateest-bps1", byte_rate),
        opt("--rateest-pps1", v.uint(0, 0xFFFFFFFF, "packet rate")),
        opt("--rateest-bps2", byte_rate, "--rateest-bps"),
        opt("--rateest-pps2", v.uint(0, 0xFFFFFFFF, "packet rate"), "--rateest-pps"),
    ),
    check=_check,
)
