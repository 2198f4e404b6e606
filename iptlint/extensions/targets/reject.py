"""REJECT: drop the packet and answer with an ICMP error or a TCP reset (libipt_REJECT, libip6t_REJECT).

    -A INPUT -p tcp -j REJECT --reject-with tcp-reset
    -A INPUT -j REJECT --reject-with icmp-host-prohibited

`--reject-with TYPE`, default `icmp-port-unreachable` (IPv6: `icmp6-port-unreachable`).
iptables takes any prefix of a type or of its alias, in any case (`tcp-rst`, `net-unreach`,
even `icmp-h`), and saves the full name.  `tcp-reset` needs `-p tcp`: the kernel refuses
it otherwise (iptables-nft 1.8.9 `--test` does not see that; 1.8.11 does).  Terminal: the
packet is dropped after the answer is sent.  Valid only in the filter table, from INPUT,
FORWARD and OUTPUT.
"""

# Sources: iptables 1.8.9 extensions/libipt_REJECT.c and libip6t_REJECT.c (reject_table,
# REJECT_parse's strncasecmp prefix match); kernel net/ipv4/netfilter/ipt_REJECT.c and
# net/ipv6/netfilter/ip6t_REJECT.c (.table = "filter", .hooks = LOCAL_IN | FORWARD |
# LOCAL_OUT, reject_tg_check: TCP_RESET only with -p tcp), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax.ast import Family

# (name iptables-save prints, alias), in reject_table order: the first prefix match wins.
# The tables leave out what iptables compiles out (#if 0): echo-reply, icmp6-not-neighbor.
IPV4_TYPES = (
    ("icmp-net-unreachable", "net-unreach"),
    ("icmp-host-unreachable", "host-unreach"),
    ("icmp-proto-unreachable", "proto-unreach"),
    ("icmp-port-unreachable", "port-unreach"),
    ("icmp-net-prohibited", "net-prohib"),
    ("icmp-host-prohibited", "host-prohib"),
    ("tcp-reset", "tcp-rst"),
    ("icmp-admin-prohibited", "admin-prohib"),
)
IPV6_TYPES = (
    ("icmp6-no-route", "no-route"),
    ("icmp6-adm-prohibited", "adm-prohibited"),
    ("icmp6-addr-unreachable", "addr-unreach"),
    ("icmp6-port-unreachable", "port-unreach"),
    ("tcp-reset", "tcp-reset"),
    ("icmp6-policy-fail", "policy-fail"),
    ("icmp6-reject-route", "reject-route"),
)
DEFAULT = {Family.IPV4: "icmp-port-unreachable", Family.IPV6: "icmp6-port-unreachable"}


def reject_with(text: str, family: Family) -> str:
    """The full name of the reply type `text` abbreviates, as REJECT_parse finds it."""
    types = IPV6_TYPES if family is Family.IPV6 else IPV4_TYPES
    word = text.lower()
    for name, alias in types:
        if name.startswith(word) or alias.startswith(word):
            return name
    names = ", ".join(name for name, _ in types)
    if "echo-reply".startswith(word) or "echoreply".startswith(word):
        raise ValueError("echo-reply is no longer supported")
    raise ValueError(f"unknown reject type {text!r}: use one of {names}")


def _tcp_reset_needs_tcp(options, family, protocol) -> list[str]:
    option = options.get("--reject-with")
    if option is not None and option.value == "tcp-reset" and protocol != 6:
        return ["--reject-with tcp-reset needs -p tcp before it: the kernel refuses the rule"]
    return []


EXTENSION = Extension(
    name="REJECT",
    kind="target",
    summary="drop and answer with an ICMP error or a TCP reset",
    tables=("filter",),
    hooks=("INPUT", "FORWARD", "OUTPUT"),
    terminal=True,
    check=_tcp_reset_needs_tcp,
    options=(opt("--reject-with", reject_with),),
)
