"""Final checks several targets share: at least one action given, an option needing
another, a protocol the kernel insists on.

Each helper returns a `FinalCheck` (see iptlint/extensions/spec.py): a function of the
target's options by canonical name, the family and the rule's protocol number, that
returns error messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from iptlint.syntax.ast import Family, Option

Check = Callable[[Mapping[str, Option], Family, "int | None"], list[str]]

PROTOCOL_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 33: "dccp", 58: "ipv6-icmp", 132: "sctp", 136: "udplite"}


def at_least_one(*names: str, message: str | None = None) -> Check:
    """The target does nothing without one of `names` (iptables: "parameter required")."""

    def check(options, family, protocol) -> list[str]:
        if any(name in options for name in names):
            return []
        return [message or f"give one of {', '.join(names)}"]

    return check


def needs(option: str, *required: str) -> Check:
    """`option` only works together with one of `required` (the `.also` of an option table)."""

    def check(options, family, protocol) -> list[str]:
        if option in options and not any(name in options for name in required):
            return [f"{option} needs {' or '.join(required)}"]
        return []

    return check


def protocol_in(*protocols: int, reason: str = "", when: str | None = None) -> Check:
    """The kernel refuses the rule unless `-p` is one of `protocols` (only when `when` is given)."""
    wanted = " or ".join(f"-p {PROTOCOL_NAMES.get(p, p)}" for p in protocols)

    def check(options, family, protocol) -> list[str]:
        if when is not None and when not in options:
            return []
        if protocol in protocols:
            return []
        subject = f"{when} needs" if when else "needs"
        return [f"{subject} {wanted} before it{reason}: the kernel refuses the rule"]

    return check


def every(*checks: Check) -> Check:
    """Run checks in order and report the first that finds a problem."""

    def check(options, family, protocol) -> list[str]:
        for one in checks:
            problems = one(options, family, protocol)
            if problems:
                return problems
        return []

    return check


def others(name: str, group: tuple[str, ...]) -> tuple[str, ...]:
    """The options of a mutually exclusive group other than `name`, for `excludes=`."""
    return tuple(other for other in group if other != name)
