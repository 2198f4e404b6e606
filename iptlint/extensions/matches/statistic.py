"""statistic: match a random share of packets, or every n-th one (libxt_statistic).

    -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-ABC
    -m statistic --mode nth --every 3 --packet 0 -j DNAT --to-destination 10.0.0.1

kube-proxy spreads connections over endpoints this way.  `random` needs
`--probability` (0 to 1); `nth` needs `--every N` and `--packet P` with 0 <= P < N.
"""

from __future__ import annotations

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def probability(text: str, family) -> float:
    """A probability as strtod reads it, within 0-1."""
    if not _DECIMAL.match(text):
        raise ValueError(f"probability {text!r} is not a number")
    value = float(text)
    if not 0 <= value <= 1:
        raise ValueError(f"probability {text} is out of range 0-1")
    return value


def _check(options, family, protocol):
    mode = options["--mode"].value if "--mode" in options else None
    if mode == "random" and "--probability" not in options:
        return ["--mode random needs --probability"]
    if mode == "nth" and not ("--every" in options or "--packet" in options):
        return ["--mode nth needs --every and --packet"]
    every, packet = options.get("--every"), options.get("--packet")
    if (every is None) != (packet is None):
        return ["--every and --packet go together"]
    if every is not None and packet.value > every.value - 1:
        return [f"--packet {packet.value} must be below --every {every.value}"]
    return []


_NTH = ("--every", "--packet")

EXTENSION = Extension(
    name="statistic",
    kind="match",
    summary="random or every-n-th packet",
    options=(
        opt("--mode", v.choice("random", "nth", what="mode"), required=True),
        opt("--probability", probability, invert=True, excludes=_NTH),
        opt("--every", v.uint(1, 0xFFFFFFFF, "every"), invert=True, excludes=("--probability",)),
        opt("--packet", v.uint(0, 0xFFFFFFFF, "packet"), excludes=("--probability",)),
    ),
    check=_check,
)
