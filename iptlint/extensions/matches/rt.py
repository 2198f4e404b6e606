"""rt: the IPv6 Routing extension header (libip6t_rt).

    -m rt --rt-type 0 -j DROP
    -m rt --rt-type 0 --rt-segsleft 1:23 --rt-0-addrs 2001:db8::1,2001:db8::2 --rt-0-not-strict

`--rt-type`, `--rt-segsleft N[:M]` and `--rt-len` may be negated.  For type 0 only,
written after `--rt-type 0`: `--rt-0-res`, `--rt-0-addrs` (up to 16 comma-separated IPv6
addresses) and, after it, `--rt-0-not-strict`.  Type 0 is deprecated (RFC 5095): drop it.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_ADDRESSES = 16  # IP6T_RT_HOPS
_UINT32 = v.uint(0, 0xFFFFFFFF, "value")


def address_list(text: str, family) -> tuple:
    """`--rt-0-addrs`: IPv6 addresses separated by commas, as parse_addresses reads them."""
    items = text.split(",")
    if len(items) > MAX_ADDRESSES:
        raise ValueError(f"{len(items)} addresses: at most {MAX_ADDRESSES}")
    return tuple(v.single_address(item, family) for item in items)


def _after_type_zero(options, name: str) -> bool:
    rt_type = options.get("--rt-type")
    return rt_type is not None and rt_type.value == 0 and not rt_type.negated and rt_type.token < options[name].token


def _check(options, family, protocol) -> list[str]:
    for name in ("--rt-0-res", "--rt-0-addrs"):
        if name in options and not _after_type_zero(options, name):
            return [f"{name} needs --rt-type 0 before it"]
    strict = options.get("--rt-0-not-strict")
    addresses = options.get("--rt-0-addrs")
    if strict is not None and (addresses is None or addresses.token > strict.token):
        return ["--rt-0-not-strict needs --rt-0-addrs before it"]
    return []


EXTENSION = Extension(
    name="rt",
    kind="match",
    summary="IPv6 routing header",
    family="ipv6",
    options=(
        opt("--rt-type", _UINT32, invert=True),
        opt("--rt-segsleft", v.uint_range_as_written(0, 0xFFFFFFFF, "segments left"), invert=True),
        opt("--rt-len", _UINT32, invert=True),
        opt("--rt-0-res"),
        opt("--rt-0-addrs", address_list),
        opt("--rt-0-not-strict"),
    ),
    check=_check,
)
