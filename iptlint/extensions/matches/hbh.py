"""hbh: the IPv6 Hop-by-Hop Options extension header (libip6t_hbh).

    -m hbh --hbh-len 0 --hbh-opts 5:2 -j ACCEPT

`--hbh-len` (may be negated) and `--hbh-opts TYPE[:LENGTH],...` (up to 16 options, each
type 0-255; type 0, Pad1, has no length).  `dst` reads the Destination Options header
the same way.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_OPTIONS = 16  # IP6T_OPTS_OPTSNR


def _number(text: str, what: str) -> int:
    """A number as parse_opts_num reads it (strtoul base 0), keeping only its low eight bits."""
    return v.to_int(text, 0, 2**64 - 1, what) & 0xFF


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
