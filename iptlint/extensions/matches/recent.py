"""recent: remember source (or destination) addresses in a named list (libxt_recent).

    -m recent --set --name ssh --rsource
    -m recent --update --seconds 60 --hitcount 4 --name ssh --rsource -j DROP

Exactly one of `--set`, `--rcheck`, `--update`, `--remove`.  `--reap` needs `--seconds`;
`--rttl` cannot go with `--set` or `--remove`.  The list name (default `DEFAULT`) is a
file under /proc/net/xt_recent, so the kernel refuses `/`, `.` and `..`; it keeps at
most 65535 hits per address.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_NAME = 199  # XT_RECENT_NAME_LEN - 1: iptables cuts longer names short
MAX_HITCOUNT = 65535  # the kernel keeps at most this many timestamps per entry
_ACTIONS = ("--set", "--rcheck", "--update", "--remove")


def list_name(text: str, family) -> str:
    """A name the kernel can make a /proc entry of."""
    if not text or text in (".", "..") or "/" in text:
        raise ValueError(f"list name {text!r} cannot be a /proc/net/xt_recent file name")
    return text[:MAX_NAME]


def _others(name: str, group: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(other for other in group if other != name)


def _check(options, family, protocol):
    if not any(name in options for name in _ACTIONS):
        return ["give one of --set, --rcheck, --update or --remove"]
    if "--reap" in options and "--seconds" not in options:
        return ["--reap needs --seconds"]
    return []


EXTENSION = Extension(
    name="recent",
    kind="match",
    summary="lists of recently seen addresses",
    options=(
        opt("--set", invert=True, excludes=_others("--set", _ACTIONS)),
        opt("--rcheck", invert=True, excludes=_others("--rcheck", _ACTIONS)),
        opt("--update", invert=True, excludes=_others("--update", _ACTIONS)),
        opt("--remove", invert=True, excludes=_others("--remove", _ACTIONS)),
        opt("--seconds", v.uint(1, 0xFFFFFFFF, "seconds")),
        opt("--reap"),
        opt("--hitcount", v.uint(0, MAX_HITCOUNT, "hit count")),
        opt("--rttl", excludes=("--set", "--remove")),
        opt("--name", list_name),
        opt("--mask", v.single_address),
        opt("--rsource"),
        opt("--rdest"),
    ),
    check=_check,
)
