"""TCPOPTSTRIP: remove TCP options from TCP packets (libxt_TCPOPTSTRIP).

    -A POSTROUTING -p tcp -j TCPOPTSTRIP --strip-options sack-permitted,timestamp

`--strip-options` a comma list of option numbers 2-255 or names (wscale, mss,
sack-permitted, sack, timestamp, md5), each once; iptables-save prints numbers.  Without
it the target does nothing.  The kernel refuses the rule without `-p tcp` (iptables-nft
1.8.9 `--test` does not check that).  Not terminal.  Valid only in the mangle table.
"""

# Sources: iptables 1.8.9 extensions/libxt_TCPOPTSTRIP.c (tcp_optionmap, parse_list);
# kernel net/netfilter/xt_TCPOPTSTRIP.c (.table = "mangle", .proto = IPPROTO_TCP),
# checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

OPTION_NUMBERS = {"wscale": 3, "mss": 2, "sack-permitted": 4, "sack": 5, "timestamp": 8, "md5": 19}


def strip_options(text: str, family) -> frozenset[int]:
    """The TCP option numbers to strip, as parse_list reads the list."""
    numbers: list[int] = []
    for item in text.split(","):
        number = OPTION_NUMBERS.get(item)
        if number is None:
            try:
                number = v.to_int(item, 0, 255, "TCP option")
            except ValueError:
                raise ValueError(f"bad TCP option value {item!r}: a number or {', '.join(OPTION_NUMBERS)}") from None
        if number < 2:
            raise ValueError("TCP options 0 (end of list) and 1 (no-op) cannot be stripped")
        if number in numbers:
            raise ValueError(f"option {item!r} is given twice")
        numbers.append(number)
    return frozenset(numbers)


EXTENSION = Extension(
    name="TCPOPTSTRIP",
    kind="target",
    summary="strip TCP options",
    tables=("mangle",),
    check=_checks.protocol_in(6),
    options=(opt("--strip-options", strip_options),),
)
