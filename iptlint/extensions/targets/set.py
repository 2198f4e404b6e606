"""SET: add the packet's addresses/ports to an ipset, delete them, or read skb fields from
a set entry (libxt_SET, revision 3).

    -A INPUT -p tcp -m tcp --dport 22 -j SET --add-set ssh-clients src --exist --timeout 3600

`--add-set NAME DIRS`, `--del-set NAME DIRS`, `--map-set NAME DIRS` (two words: the set
and up to 6 comma-separated src/dst); at least one.  `--exist` and `--timeout` (0 to
4294967294 seconds) go with `--add-set`; `--map-mark`, `--map-prio`, `--map-queue` with
`--map-set`, which needs one of them.  The sets must exist when the rules are loaded
(`ipset restore` first), which iptlint cannot see.  Not terminal.
"""

# Sources: iptables 1.8.9 extensions/libxt_SET.c (set_target_opts_v3, parse_target,
# set_target_check_v3) and libxt_set.h (parse_dirs); kernel net/netfilter/xt_set.c.

from iptlint.extensions.matches.set import match_set
from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

MAP_FLAGS = ("--map-mark", "--map-prio", "--map-queue")


def _check(options, family, protocol) -> list[str]:
    for flag in ("--exist", "--timeout"):
        if flag in options and "--add-set" not in options:
            return [f"{flag} can be used with --add-set only"]
    for flag in MAP_FLAGS:
        if flag in options and "--map-set" not in options:
            return [f"{flag} can be used with --map-set only"]
    if "--map-set" in options and not any(flag in options for flag in MAP_FLAGS):
        return ["--map-set needs --map-mark, --map-prio or --map-queue"]
    return []


EXTENSION = Extension(
    name="SET",
    kind="target",
    summary="add to or delete from an ipset",
    check=_checks.every(
        _checks.at_least_one("--add-set", "--del-set", "--map-set", message="give --add-set, --del-set or --map-set"),
        _check,
    ),
    options=(
        opt("--add-set", match_set, nargs=2),
        opt("--del-set", match_set, nargs=2),
        opt("--exist"),
        opt("--timeout", v.uint(0, 0xFFFFFFFE, "timeout")),
        opt("--map-set", match_set, nargs=2),
        opt("--map-mark"),
        opt("--map-prio"),
        opt("--map-queue"),
    ),
)
