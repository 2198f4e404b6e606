"""owner: the user, group or socket of locally generated packets (libxt_owner).

    -m owner --uid-owner 1000 -j ACCEPT
    -m owner ! --gid-owner 100-199 --suppl-groups -j REJECT

Users and groups are numbers, ranges (`0-99`) or names looked up on the machine that
loads the rules (iptables-save always prints numbers).  `--suppl-groups` must follow
`--gid-owner`.  Only packets sent from this host have an owner: the kernel accepts the
match in OUTPUT and POSTROUTING only.
"""

from __future__ import annotations

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_ID = 0xFFFFFFFE  # (uid_t)-1 means "no id"
_NUMBER = r"(0[xX][0-9a-fA-F]+|[0-9]+)"  # strtoul(..., 0): decimal, 0x hex, 0 octal
_RANGE = re.compile(_NUMBER + r"(?:[-:]" + _NUMBER + r")?\Z")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*\$?\Z")


def id_range(what: str) -> v.Parser:
    """A user or group: `1000`, `1000-1999` (or `:`), or a name resolved at load time."""

    def parse(text: str, family) -> v.Range | str:
        found = _RANGE.match(text)
        if found is None:
            if _NAME.match(text):
                return text
            raise ValueError(f"{what} {text!r} is neither a number, a range nor a name")
        lo = v.to_int(found.group(1), 0, MAX_ID, what)
        hi = v.to_int(found.group(2), 0, MAX_ID, what) if found.group(2) else lo
        if lo > hi:
            raise ValueError(f"{what} range {text} is inverted: the kernel refuses it")
        return v.Range(lo, hi)

    parse.__name__ = f"id_range_{what}"
    return parse


def _check(options, family, protocol):
    if not options:
        return ["give --uid-owner, --gid-owner or --socket-exists"]
    suppl, gid = options.get("--suppl-groups"), options.get("--gid-owner")
    if suppl is not None and (gid is None or gid.token > suppl.token):
        return ["--suppl-groups needs --gid-owner before it"]
    return []


EXTENSION = Extension(
    name="owner",
    kind="match",
    summary="user, group or socket of local packets",
    hooks=("OUTPUT", "POSTROUTING"),
    options=(
        opt("--uid-owner", id_range("user"), invert=True),
        opt("--gid-owner", id_range("group"), invert=True),
        opt("--socket-exists", invert=True),
        opt("--suppl-groups"),
    ),
    check=_check,
)
