"""hbh: the IPv6 Hop-by-Hop Options extension header (libip6t_hbh).

    -m hbh --hbh-len 0 --hbh-opts 5:2 -j ACCEPT

`--hbh-len` (may be negated) and `--hbh-opts TYPE[:LENGTH],...` (up to 16 options, each
type 0-255; type 0, Pad1, has no length).  `dst` reads the Destination Options header
the same way.
"""

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_OPTIONS = 16  # IP6T_OPTS_OPTSNR


_STRTOUL = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


def _number(text: str, what: str) -> int:
    """A number as parse_opts_num reads it (strtoul base 0, a sign allowed), keeping its low eight bits."""
    found = _STRTOUL.match(text)
    if found is None:
        raise ValueError(f"{what} {text!r} is not a number")
    sign, digits = found.groups()
    octal = len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX"
    number = int(digits, 8 if octal else 0)
    if number > 2**64 - 1:
        raise ValueError(f"{what} {text!r} is too big")
    return (-number if sign == "-" else number) & 0xFF


def option_list(text: str, family) -> tuple[tuple[int, int | None], ...]:
    """`TYPE[:LENGTH],...` as parse_options reads it: (type, length or None) pairs."""
    items = text.split(",")
    if len(items) > MAX_OPTIONS:
        raise ValueError(f"{len(items)} options: at most {MAX_OPTIONS}")
    result = []
    for index, item in enumerate(items):
        type_text, colon, length_text = item.partition(":")
        if colon and index == MAX_OPTIONS - 1:
            raise ValueError(f"option {index + 1} cannot have a length: at most {MAX_OPTIONS - 1} may")
        option_type = _number(type_text, "option type")
        if colon and option_type == 0:
            raise ValueError("option type 0 (Pad1) has no length")
        result.append((option_type, _number(length_text, "option length") if colon else None))
    return tuple(result)


EXTENSION = Extension(
    name="hbh",
    kind="match",
    summary="IPv6 hop-by-hop options header",
    family="ipv6",
    options=(
        opt("--hbh-len", v.uint(0, 0xFFFFFFFF, "header length"), invert=True),
        opt("--hbh-opts", option_list),
    ),
)
