"""conntrack: the connection's state and tuples (`-m conntrack --ctstate RELATED,ESTABLISHED`).

    -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 -j DROP

How the kernel decides (conntrack_mt in xt_conntrack.c): first `--ctstate`, if
given; then, for a packet without a connection (INVALID, UNTRACKED), the match is
true exactly when `--ctstate` was given, whatever the other options say; otherwise
every other option must hold.  So each other option, negated or not, needs a tracked
packet (NEW, ESTABLISHED or RELATED), and with `--ctstate INVALID` they are skipped
for INVALID packets.  The model follows that structure:

    ctstate ∩ (untracked ∪ (tracked ∩ other options))     with --ctstate
    tracked ∩ other options                               without

Exact:
- `--ctstate`: the `ct_state` field; SNAT and DNAT are `ct_snat`/`ct_dnat` (the
  connection was source/destination-NATed), which only a tracked packet has.
- `--ctorigdst`, `--ctorigdstport`: `ct_orig_dst`/`ct_orig_dport`, the destination
  before DNAT (a host name: bounds, as for `-d`).

Bounds (what the packet model has no field for, or knows only in part):
- `--ctproto P`: the connection's protocol is the packet's, except for a RELATED ICMP
  error, which belongs to the connection it reports on: exact outside RELATED,
  unknown within it.
- `--ctdir ORIGINAL|REPLY`: a NEW packet is always in the original direction; other
  states may go either way (the walk assumes the original direction).
- `--ctstatus`: SEEN_REPLY holds for every ESTABLISHED packet and no NEW one;
  CONFIRMED for every ESTABLISHED one; ASSURED never for a NEW one; EXPECTED and the
  rest are unknown.  NONE matches nothing (no bit in the mask).
- `--ctorigsrc`, `--ctreplsrc`, `--ctrepldst`, their ports and `--ctexpire`: unknown.
Every bounded option is still limited to tracked packets, so its `over` is exact
about INVALID and UNTRACKED.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from iptlint.semantics import packets as p
from iptlint.semantics.models.tcp import negatable
from iptlint.semantics.packets import Bounds, PacketSet
from iptlint.syntax.ast import Family, Match, Option

if TYPE_CHECKING:
    from iptlint.semantics.models import ModelContext

TRACKED_STATES = ("NEW", "ESTABLISHED", "RELATED")
UNTRACKED_STATES = ("INVALID", "UNTRACKED")


def tracked(family: Family) -> PacketSet:
    """Packets with a connection (the kernel's `ct != NULL`): NEW, ESTABLISHED, RELATED."""
    return p.from_states(TRACKED_STATES, family)


def states(names: frozenset[str], family: Family) -> PacketSet:
    """`--ctstate` / `--state`: the packet's own state, or SNAT/DNAT of a tracked connection."""
    result = p.from_states(sorted(names - {"SNAT", "DNAT"}), family)
    for virtual, field in (("SNAT", "ct_snat"), ("DNAT", "ct_dnat")):
        if virtual in names:
            result |= tracked(family) & p.from_flag(field, True, family)
    return result


def _states_of(names: tuple[str, ...], family: Family) -> PacketSet:
    return p.from_states(names, family)


def protocol(option: Option, family: Family) -> Bounds:
    """`--ctproto`: the packet's protocol except for RELATED packets (ICMP errors)."""
    number = option.value.number
    if number == 0:
        return Bounds.exactly(PacketSet.none(family))  # no connection has protocol 0
    same = p.from_protocol(number, family)
    related = _states_of(("RELATED",), family)
    return Bounds(over=same | related, under=same - related)


def direction(option: Option, family: Family) -> Bounds:
    """`--ctdir`: NEW packets go in the original direction; the rest may go either way."""
    new = _states_of(("NEW",), family)
    if option.value == "ORIGINAL":
        return Bounds(over=PacketSet.any(family), under=new)
    return Bounds(over=~new, under=PacketSet.none(family))


def status(option: Option, family: Family) -> Bounds:
    """`--ctstatus A,B`: the connection has any of the status bits."""
    established = _states_of(("ESTABLISHED",), family)
    new = _states_of(("NEW",), family)
    over, under = PacketSet.none(family), PacketSet.none(family)
    for name in option.value:
        if name == "NONE":
            continue
        if name == "SEEN_REPLY":
            over, under = over | ~new, under | established
        elif name == "CONFIRMED":
            over, under = over | PacketSet.any(family), under | established
        elif name == "ASSURED":
            over = over | ~new
        else:
            over = over | PacketSet.any(family)
    return Bounds(over=over, under=under)


def other_option(option: Option, family: Family) -> Bounds:
    """One option besides `--ctstate`, before `!` and before the tracked condition."""
    name = option.name
    if name == "--ctorigdst":
        return p.from_address(option.value, family, "ct_orig_dst")
    if name == "--ctorigdstport":
        return Bounds.exactly(p.from_ports(option.value, family, "ct_orig_dport"))
    if name == "--ctproto":
        return protocol(option, family)
    if name == "--ctdir":
        return direction(option, family)
    if name == "--ctstatus":
        return status(option, family)
    return Bounds.unknown(family)


def model(match: Match, ctx: ModelContext) -> Bounds:
    family = ctx.family
    conditions = Bounds.exactly(tracked(family))
    state_option = None
    for option in match.options:
        if option.name == "--ctstate":
            state_option = option
        else:
            conditions &= negatable(option, other_option(option, family))
    if state_option is None:
        return conditions
    state_set = negatable(state_option, Bounds.exactly(states(state_option.value, family)))
    untracked = Bounds.exactly(p.from_states(UNTRACKED_STATES, family))
    return state_set & (untracked | conditions)
