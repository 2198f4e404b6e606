"""ipv6header: which IPv6 extension headers the packet has (libip6t_ipv6header).

    -m ipv6header --header ipv6-frag,ipv6-route --soft -j DROP
    -m ipv6header ! --header hop-by-hop

`--header` (may be negated) is a comma-separated list of headers, by name (`hop-by-hop`,
`hop`, `dst`, `ipv6-opts`, `route`, `ipv6-route`, `frag`, `ipv6-frag`, `auth`, `ah`, `esp`,
`none`, `ipv6-nonxt`, `prot`, `protocol`) or number (0, 60, 43, 44, 51, 50, 59, 255).
Exactly that set must be present, or with `--soft` at least one of them.
"""

from iptlint.extensions.spec import Extension, opt

# Header numbers by name: chain_protos of libip6t_ipv6header.c and the /etc/protocols
# names getprotobyname finds first.  255 stands for "any upper-layer protocol".
HEADERS = {
    "hop-by-hop": 0, "hop": 0, "hopopt": 0, "HOPOPT": 0, "ip": 0, "IP": 0, "0": 0,
    "dst": 60, "ipv6-opts": 60, "IPv6-Opts": 60, "60": 60,
    "route": 43, "ipv6-route": 43, "IPv6-Route": 43, "43": 43,
    "frag": 44, "ipv6-frag": 44, "IPv6-Frag": 44, "44": 44,
    "auth": 51, "ah": 51, "AH": 51, "51": 51,
    "esp": 50, "ESP": 50, "50": 50,
    "none": 59, "ipv6-nonxt": 59, "IPv6-NoNxt": 59, "59": 59,
    "protocol": 255, "prot": 255, "255": 255,
}  # fmt: skip


def header_list(text: str, family) -> frozenset[int]:
    """The header numbers of a list, as parse_header reads it (empty items are skipped)."""
    names = [name for name in text.split(",") if name]
    if not names:
        raise ValueError("no header named")
    unknown = [name for name in names if name not in HEADERS]
    if unknown:
        raise ValueError(f"unknown header {unknown[0]!r}")
    return frozenset(HEADERS[name] for name in names)


EXTENSION = Extension(
    name="ipv6header",
    kind="match",
    summary="IPv6 extension headers present",
    family="ipv6",
    options=(
        opt("--header", header_list, invert=True, required=True),
        opt("--soft"),
    ),
)
