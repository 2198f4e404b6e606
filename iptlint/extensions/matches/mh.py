"""mh: the type of IPv6 Mobility Header packets (libip6t_mh).

    -p mh -m mh --mh-type binding-update -j ACCEPT
    -p mobility-header -m mh ! --mh-type 4:123

`--mh-type TYPE[:TYPE]`: numbers 0-255 or names (any case, a prefix will do), may be
negated.  The kernel wants `-p mh` (protocol 135).
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

# Order of mh_names in libip6t_mh.c.
TYPES = (
    ("binding-refresh-request", 0), ("brr", 0), ("home-test-init", 1), ("hoti", 1),
    ("careof-test-init", 2), ("coti", 2), ("home-test", 3), ("hot", 3), ("careof-test", 4),
    ("cot", 4), ("binding-update", 5), ("bu", 5), ("binding-acknowledgement", 6), ("ba", 6),
    ("binding-error", 7), ("be", 7),
)  # fmt: skip


def _type(text: str) -> int:
    """A name as name_to_type reads it: an exact name, else the first name it starts, else a number."""
    starts = [(name, number) for name, number in TYPES if name.startswith(text.lower())]
    exact = [number for name, number in starts if name == text.lower()]
    if exact or starts:
        return exact[0] if exact else starts[0][1]
    try:
        return v.to_int(text, 0, 255, "MH type")
    except ValueError:
        raise ValueError(f"MH type {text!r} is neither a number 0-255 nor a type name") from None


def mh_types(text: str, family) -> v.Range:
    if ":" not in text:
        number = _type(text)
        return v.Range(number, number)
    first, _, last = text.partition(":")
    lo = _type(first) if first else 0
    hi = _type(last) if last else 255
    if lo > hi:
        raise ValueError(f"MH type range {text} is inverted")
    return v.Range(lo, hi)


EXTENSION = Extension(
    name="mh",
    kind="match",
    summary="IPv6 mobility header type",
    family="ipv6",
    protocols=(135,),
    options=(opt("--mh-type", mh_types, invert=True),),
)
