"""multiport: up to 15 ports or port ranges in one rule (libxt_multiport, revision 1).

    -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT
    -p udp -m multiport ! --sports 53,123

One of `--sports`, `--dports` or `--ports` (either direction), once.  A range `A:B`
takes two of the 15 slots and needs A < B.  Needs `-p tcp`, `udp`, `udplite`, `sctp` or
`dccp` given before the match, not negated.
"""

from __future__ import annotations

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_PORTS = 15  # XT_MULTI_PORTS
PROTOCOLS = (6, 17, 136, 132, 33)
_ALL = ("--sports", "--dports", "--ports")


def port_list(text: str, family) -> tuple[v.Range, ...]:
    """`80,443,8000:8080` as parse_multi_ports_v1 reads it: a range uses two slots."""
    ranges = []
    slots = 0
    for item in text.split(","):
        first, colon, last = item.partition(":")
        slots += 2 if colon else 1
        if slots > MAX_PORTS:
            raise ValueError(f"too many ports in {text!r}: at most {MAX_PORTS}, a range counts as 2")
        lo = v.port(first, family)
        hi = v.port(last, family) if colon else lo
        if colon and lo >= hi:
            raise ValueError(f"port range {item} is invalid: the first port must be below the second")
        ranges.append(v.Range(lo, hi))
    return tuple(ranges)


def _others(name: str) -> tuple[str, ...]:
    return tuple(other for other in _ALL if other != name)


def _check(options, family, protocol):
    if not options:
        return ["give one of --sports, --dports or --ports"]
    return []


EXTENSION = Extension(
    name="multiport",
    kind="match",
    summary="lists of ports",
    protocols=PROTOCOLS,
    options=(
        opt("--sports", port_list, "--source-ports", invert=True, excludes=_others("--sports")),
        opt("--dports", port_list, "--destination-ports", invert=True, excludes=_others("--dports")),
        opt("--ports", port_list, invert=True, excludes=_others("--ports")),
    ),
    check=_check,
)
