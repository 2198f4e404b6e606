"""conntrack: connection tracking state and the original/reply tuples (libxt_conntrack).

    -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -m conntrack --ctorigdst 203.0.113.10 --ctorigdstport 8080 -j DROP

`--ctorigdst`/`--ctorigdstport` see the destination before DNAT: the way to match a
published Docker port in DOCKER-USER.  At least one option; states and statuses may be
abbreviated (`EST`).  iptables 1.8.9 loads inverted ranges (`--ctexpire 9:1`) and
`--ctproto 0`, which never match (1.8.11 refuses them); iptlint reads them."""

from __future__ import annotations

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

STATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
STATUSES = ("NONE", "EXPECTED", "SEEN_REPLY", "ASSURED", "CONFIRMED")


def abbreviated_list(*names: str, what: str):
    """A comma-separated list of `names`, each word any case and possibly cut short.

    Like libxt_conntrack's strncasecmp(word, NAME, len(word)): the first name in
    table order that starts with the word wins (`E` is ESTABLISHED).
    """

    def parse(text: str, family) -> frozenset[str]:
        found = []
        for word in text.split(","):
            name = next((n for n in names if word and n.startswith(word.upper())), None)
            if name is None:
                raise ValueError(f"{what} {word!r} is not one of {', '.join(names)}")
            found.append(name)
        return frozenset(found)

    parse.__name__ = "abbreviated_" + "_".join(names)
    return parse


def _at_least_one(options, family, protocol):
    return [] if options else ["at least one option is required"]


_STATES = abbreviated_list(*STATES, what="conntrack state")
_STATUS = abbreviated_list(*STATUSES, what="conntrack status")
_DIRECTION = v.choice("ORIGINAL", "REPLY", what="direction", fold=True)

EXTENSION = Extension(
    name="conntrack",
    kind="match",
    summary="connection tracking state and tuples",
    options=(
        opt("--ctstate", _STATES, invert=True),
        opt("--ctproto", v.protocol, invert=True),
        opt("--ctorigsrc", v.address, invert=True),
        opt("--ctorigdst", v.address, invert=True),
        opt("--ctreplsrc", v.address, invert=True),
        opt("--ctrepldst", v.address, invert=True),
        opt("--ctorigsrcport", v.port_range_as_written, invert=True),
        opt("--ctorigdstport", v.port_range_as_written, invert=True),
        opt("--ctreplsrcport", v.port_range_as_written, invert=True),
        opt("--ctrepldstport", v.port_range_as_written, invert=True),
        opt("--ctstatus", _STATUS, invert=True),
        opt("--ctexpire", v.uint_range_as_written(0, 0xFFFFFFFF, "expiry"), invert=True),
        opt("--ctdir", _DIRECTION),
    ),
    check=_at_least_one,
)
