"""tcp: TCP source and destination ports, flags and options (libxt_tcp).

    -p tcp -m tcp --dport 22 --tcp-flags SYN,RST,ACK SYN -j ACCEPT
    -p tcp --syn -j DROP        (same as --tcp-flags FIN,SYN,RST,ACK SYN)

Loaded implicitly by `-p tcp` when one of its options follows; needs `-p tcp`.
Flags are FIN, SYN, RST, PSH, ACK, URG, ALL (those six) and NONE: iptables knows no
ECE/CWR names.  `--tcp-option` is an option kind 1-255.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

FLAG_NAMES = ("FIN", "SYN", "RST", "PSH", "ACK", "URG")
SYN_FLAGS = v.TcpFlags(frozenset({"FIN", "SYN", "RST", "ACK"}), frozenset({"SYN"}))


def flag_set(text: str) -> frozenset[str]:
    """`SYN,ACK`, `ALL`, `NONE`, any case, as parse_tcp_flag reads them."""
    flags: set[str] = set()
    for word in text.split(","):
        name = word.upper()
        if name == "ALL":
            flags.update(FLAG_NAMES)
        elif name in FLAG_NAMES:
            flags.add(name)
        elif name != "NONE" and word:
            raise ValueError(f"unknown TCP flag {word!r}: flags are {', '.join(FLAG_NAMES)}, ALL and NONE")
    return frozenset(flags)


def tcp_flags(texts: tuple[str, str], family) -> v.TcpFlags:
    """`--tcp-flags MASK COMP`: the flags examined, and which of them must be set."""
    mask, comp = texts
    return v.TcpFlags(flag_set(mask), flag_set(comp))


EXTENSION = Extension(
    name="tcp",
    kind="match",
    summary="TCP ports, flags and options",
    protocols=(6,),
    options=(
        opt("--sport", v.port_range, "--source-port", invert=True),
        opt("--dport", v.port_range, "--destination-port", invert=True),
        opt("--tcp-flags", tcp_flags, nargs=2, invert=True, excludes=("--syn",)),
        opt("--syn", None, invert=True, excludes=("--tcp-flags",)),
        opt("--tcp-option", v.uint(1, 255, "TCP option"), invert=True),
    ),
)
