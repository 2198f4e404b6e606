"""addrtype: the routing type of the source or destination address (libxt_addrtype).

    -m addrtype --dst-type LOCAL -j DOCKER
    -m addrtype ! --dst-type LOCAL --limit-iface-out

Docker sends locally addressed traffic to its DOCKER chain this way.  One of
`--src-type`/`--dst-type` is required.  IPv6 has no BROADCAST, BLACKHOLE, PROHIBIT,
THROW, NAT or XRESOLVE: the kernel refuses those types in ip6tables.
"""

from iptlint.extensions.matches.conntrack import abbreviated_list
from iptlint.extensions.spec import Extension, opt
from iptlint.syntax.ast import Family

# rtn_names in libxt_addrtype.c: the order matters for abbreviations (`U` is UNSPEC).
TYPES = (
    "UNSPEC", "UNICAST", "LOCAL", "BROADCAST", "ANYCAST", "MULTICAST",
    "BLACKHOLE", "UNREACHABLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE",
)  # fmt: skip
NOT_IN_IPV6 = frozenset({"BROADCAST", "BLACKHOLE", "PROHIBIT", "THROW", "NAT", "XRESOLVE"})


def _check(options, family, protocol):
    if "--src-type" not in options and "--dst-type" not in options:
        return ["give --src-type or --dst-type"]
    if family is Family.IPV6:
        for name in ("--src-type", "--dst-type"):
            option = options.get(name)
            unsupported = sorted(option.value & NOT_IN_IPV6) if option is not None else []
            if unsupported:
                return [f"{name} {', '.join(unsupported)}: the kernel has no such IPv6 address type"]
    return []


_TYPES = abbreviated_list(*TYPES, what="address type")

EXTENSION = Extension(
    name="addrtype",
    kind="match",
    summary="source/destination address type (LOCAL, BROADCAST...)",
    options=(
        opt("--src-type", _TYPES, invert=True),
        opt("--dst-type", _TYPES, invert=True),
        opt("--limit-iface-in", excludes=("--limit-iface-out",)),
        opt("--limit-iface-out", excludes=("--limit-iface-in",)),
    ),
    check=_check,
)
