"""bpf: run a classic BPF program, or a pinned eBPF object, on the packet (libxt_bpf, revision 1).

    -m bpf --bytecode "4,48 0 0 9,21 0 1 6,6 0 0 1,6 0 0 0" -j ACCEPT
    -m bpf --object-pinned /sys/fs/bpf/allow -j ACCEPT

Exactly one of `--bytecode` (`COUNT,CODE JT JF K,...` as printed by `nfbpf_compile`,
1-64 instructions, COUNT equal to their number) or `--object-pinned PATH`.
"""

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_INSTRUCTIONS = 64  # XT_BPF_MAX_NUM_INSTR
_FIELD_BITS = (16, 8, 8, 32)  # code, jt, jf, k; sscanf wraps larger numbers
_SCANF_NUMBER = re.compile(r"[+-]?[0-9]+\Z")  # %hu, %hhu, %u: decimal, a sign allowed


def _instruction(text: str, index: int) -> tuple[int, ...]:
    words = text.split()[: len(_FIELD_BITS)]
    if len(words) < len(_FIELD_BITS) or not all(_SCANF_NUMBER.match(word) for word in words):
        raise ValueError(f"instruction {index} ({text!r}) is not 'CODE JT JF K'")
    return tuple(int(word) & ((1 << bits) - 1) for word, bits in zip(words, _FIELD_BITS, strict=True))


def bytecode(text: str, family) -> tuple[tuple[int, ...], ...]:
    """A classic BPF program as bpf_parse_string reads it; a trailing comma is allowed."""
    count_text, comma, rest = text.partition(",")
    if not comma or not count_text.lstrip().isdigit():  # sscanf("%hu%c"): the comma right after
        raise ValueError("the program does not start with its instruction count and a comma")
    count = int(count_text)
    if not 1 <= count <= MAX_INSTRUCTIONS:
        raise ValueError(f"instruction count {count} is out of range 1-{MAX_INSTRUCTIONS}")
    items = rest.split(",")
    if items[-1] == "":
        items.pop()
    program = tuple(_instruction(item, index) for index, item in enumerate(items))
    if len(program) != count:
        raise ValueError(f"the program has {len(program)} instructions but says {count}")
    return program


def _exactly_one(options, family, protocol) -> list[str]:
    if "--bytecode" not in options and "--object-pinned" not in options:
        return ["give --bytecode or --object-pinned"]
    return []


EXTENSION = Extension(
    name="bpf",
    kind="match",
    summary="BPF program",
    options=(
        opt("--bytecode", bytecode, excludes=("--object-pinned",)),
        opt("--object-pinned", v.string(None, "path"), excludes=("--bytecode",)),
    ),
    check=_exactly_one,
)
