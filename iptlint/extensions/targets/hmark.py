"""HMARK: set the packet mark from a hash of its addresses, ports and protocol, to spread
flows over routes or queues (libxt_HMARK).

    -A PREROUTING -j HMARK --hmark-tuple src,dst,sport,dport --hmark-mod 4 --hmark-offset 1 --hmark-rnd 0xcafe

The mark is `hash % --hmark-mod + --hmark-offset`.  `--hmark-mod` (at least 1) and
`--hmark-rnd` (the hash seed) are required.  What is hashed comes from `--hmark-tuple`
(a comma list of ct, src, dst, sport, dport, proto, spi; each a prefix of the name, any
case) or from the masks: `--hmark-src-prefix`/`--hmark-dst-prefix` (a length or a dotted
mask), `--hmark-sport-mask`, `--hmark-dport-mask`, `--hmark-spi-mask`, `--hmark-proto-mask`,
or fixed values `--hmark-sport`, `--hmark-dport`, `--hmark-spi`; at least one of these.
SPI and port masks exclude each other (a tuple item counts as its mask option, and that
option may then not be given after it); the kernel also refuses fixed SPI with fixed
ports.  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_HMARK.c (HMARK_opts, hmark_parse_type,
# HMARK_check, HMARK_OPT_PKT_MASK); kernel net/netfilter/xt_HMARK.c (hmark_tg_check; no
# .table, no .hooks), checked by loading in a namespace.

import ipaddress

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v
from iptlint.syntax.ast import Family

# Tuple item -> the option whose flag it sets (None: ct, the conntrack tuple).
TUPLE_ITEMS = {
    "ct": None,
    "src": "--hmark-src-prefix",
    "dst": "--hmark-dst-prefix",
    "sport": "--hmark-sport-mask",
    "dport": "--hmark-dport-mask",
    "proto": "--hmark-proto-mask",
    "spi": "--hmark-spi-mask",
}
PACKET_OPTIONS = (
    "--hmark-src-prefix", "--hmark-dst-prefix", "--hmark-spi-mask", "--hmark-sport-mask",
    "--hmark-dport-mask", "--hmark-proto-mask", "--hmark-sport", "--hmark-dport", "--hmark-spi",
)  # fmt: skip


def hmark_tuple(text: str, family) -> tuple[str, ...]:
    """The tuple items, each found by strncasecmp against the word's length."""
    items = []
    for word in text.split(","):
        name = next((item for item in TUPLE_ITEMS if word and item.startswith(word.lower())), None)
        if name is None:
            raise ValueError(f"bad type {word!r} in --hmark-tuple: use {', '.join(TUPLE_ITEMS)}")
        items.append(name)
    return tuple(items)


def _inet_aton(text: str) -> int | None:
    """An IPv4 address as getaddrinfo(AI_NUMERICHOST) reads it: 1-4 C numbers, the last fills the rest."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    try:
        numbers = [v.to_int(part, 0, 0xFFFFFFFF) for part in parts]
    except ValueError:
        return None
    *leading, last = numbers
    if any(number > 0xFF for number in leading) or last >= 1 << (8 * (5 - len(parts))):
        return None
    value = 0
    for number in leading:
        value = value << 8 | number
    return value << (8 * (5 - len(parts))) | last


def prefix_length(text: str, family: Family) -> int | ipaddress.IPv4Address | ipaddress.IPv6Address:
    """XTTYPE_PLENMASK: a prefix length, or a mask as an address (returned as such when
    it has holes, which iptables accepts)."""
    bits = 32 if family is Family.IPV4 else 128
    try:
        return v.to_int(text, 0, bits, "prefix length")
    except ValueError:
        pass
    if family is Family.IPV4:
        number = _inet_aton(text)
        mask = ipaddress.IPv4Address(number) if number is not None else None
    else:
        try:
            mask = ipaddress.IPv6Address(text) if "%" not in text else None
        except ValueError:
            mask = None
    if mask is None:
        raise ValueError(f"{text!r} is neither a prefix length 0-{bits} nor a network mask")
    inverted = ~int(mask) & ((1 << bits) - 1)
    if inverted & (inverted + 1):
        return mask
    return bits - inverted.bit_length()


def _tuple_flags(options) -> set[str]:
    tuple_option = options.get("--hmark-tuple")
    items = tuple_option.value if tuple_option is not None else ()
    return {TUPLE_ITEMS[item] for item in items if TUPLE_ITEMS[item]} | ({"ct"} if "ct" in items else set())


def _check(options, family, protocol) -> list[str]:
    from_tuple = _tuple_flags(options)
    tuple_option = options.get("--hmark-tuple")
    for name in from_tuple:
        given = options.get(name)
        if given is not None and tuple_option is not None and given.token > tuple_option.token:
            return [f"{name} may be given only once: --hmark-tuple already set it"]
    flags = from_tuple | set(options)
    if "--hmark-spi-mask" in flags and flags & {"--hmark-sport-mask", "--hmark-dport-mask"}:
        return ["--hmark-spi-mask cannot be used with --hmark-sport-mask or --hmark-dport-mask"]
    if "--hmark-spi" in flags and flags & {"--hmark-sport", "--hmark-dport"}:
        return ["--hmark-spi cannot be used with --hmark-sport or --hmark-dport: the kernel refuses the rule"]
    if "ct" not in flags and not flags & set(PACKET_OPTIONS):
        return ["give --hmark-tuple or a mask (--hmark-src-prefix, --hmark-sport-mask...)"]
    return []


_U16 = v.uint(0, 0xFFFF)
_U32 = v.uint(0, 0xFFFFFFFF)

EXTENSION = Extension(
    name="HMARK",
    kind="target",
    summary="set the packet mark from a hash",
    check=_checks.every(_checks.at_least_one("--hmark-rnd", message="--hmark-rnd is mandatory"), _check),
    options=(
        opt("--hmark-tuple", hmark_tuple),
        opt("--hmark-src-prefix", prefix_length),
        opt("--hmark-dst-prefix", prefix_length),
        opt("--hmark-sport-mask", _U16),
        opt("--hmark-dport-mask", _U16),
        opt("--hmark-spi-mask", _U32),
        opt("--hmark-sport", _U16),
        opt("--hmark-dport", _U16),
        opt("--hmark-spi", _U32),
        opt("--hmark-proto-mask", _U16),
        opt("--hmark-rnd", _U32),
        opt("--hmark-mod", v.uint(1, 0xFFFFFFFF, "modulus"), required=True),
        opt("--hmark-offset", _U32),
    ),
)
