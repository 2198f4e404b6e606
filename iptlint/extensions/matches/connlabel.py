"""connlabel: a connection tracking label bit (libxt_connlabel).

    -m connlabel --label 12 -j ACCEPT
    -m connlabel ! --label blocked --set

`--label BIT` (0-127) or a name from /etc/xtables/connlabel.conf on the host that loads
the rules, may be negated; `--set` also sets the bit on the connection.
"""

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

LABEL_BITS = 128  # XT_CONNLABEL_MAXBIT + 1
_NUMBER = re.compile(r"(0[xX][0-9a-fA-F]+|[0-9]+)\Z")


def label(text: str, family) -> int | str:
    """A label bit, or a label name that only the loading host's connlabel.conf can resolve."""
    if not text:
        raise ValueError("the label is empty")
    if _NUMBER.match(text):
        return v.to_int(text, 0, LABEL_BITS - 1, "connection label bit")
    if any(char.isspace() for char in text):
        raise ValueError(f"label {text!r} is neither a bit number nor a name (connlabel.conf names have no blanks)")
    return text


EXTENSION = Extension(
    name="connlabel",
    kind="match",
    summary="conntrack label",
    options=(
        opt("--label", label, invert=True, required=True),
        opt("--set"),
    ),
)
