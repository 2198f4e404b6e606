"""dscp: the DiffServ code point, the top six bits of the TOS / traffic class byte (libxt_dscp).

    -m dscp --dscp 0x2e -j ACCEPT
    -m dscp ! --dscp-class AF41

Exactly one of `--dscp` (0-63) or `--dscp-class` (BE, EF, CS0-CS7, AF11-AF43, any case);
iptables-save prints a class as its number (`--dscp-class EF` saves as `--dscp 0x2e`).
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

# Order of ds_classes in extensions/dscp_helper.c: the first name that starts the word wins.
CLASSES = (
    ("CS0", 0x00), ("CS1", 0x08), ("CS2", 0x10), ("CS3", 0x18), ("CS4", 0x20), ("CS5", 0x28),
    ("CS6", 0x30), ("CS7", 0x38), ("BE", 0x00), ("AF11", 0x0A), ("AF12", 0x0C), ("AF13", 0x0E),
    ("AF21", 0x12), ("AF22", 0x14), ("AF23", 0x16), ("AF31", 0x1A), ("AF32", 0x1C), ("AF33", 0x1E),
    ("AF41", 0x22), ("AF42", 0x24), ("AF43", 0x26), ("EF", 0x2E),
)  # fmt: skip


def dscp_class(text: str, family) -> int:
    """The code point of a class name, read like class_to_dscp (a prefix compare, any case)."""
    for name, code in CLASSES:
        if text.upper().startswith(name):
            return code
    raise ValueError(f"DSCP class {text!r} is not BE, EF, CS0-CS7 or AF11-AF43")


def _one_given(options, family, protocol) -> list[str]:
    if "--dscp" not in options and "--dscp-class" not in options:
        return ["give --dscp or --dscp-class"]
    return []


EXTENSION = Extension(
    name="dscp",
    kind="match",
    summary="DiffServ code point",
    options=(
        opt("--dscp", v.uint(0, 63, "DSCP"), invert=True, excludes=("--dscp-class",)),
        opt("--dscp-class", dscp_class, invert=True, excludes=("--dscp",)),
    ),
    check=_one_given,
)
