"""CT: set up conntrack for the packet before it is tracked: no tracking, a helper, a zone,
events, a timeout policy (libxt_CT).

    -A PREROUTING -p udp -m udp --dport 137 -j CT --helper netbios-ns
    -A PREROUTING -i brq7425e328-56 -j CT --zone 4097
    -A OUTPUT -o lo -j CT --notrack

`--notrack`, `--helper NAME`, `--timeout POLICY`, `--ctevents` and `--expevents` (comma
lists of new, related, destroy, reply, assured, protoinfo, helper, mark, natseqinfo,
secmark; expectations: new), `--zone`, `--zone-orig`, `--zone-reply` (0-65535 or `mark`).
The helper and the timeout policy must exist in the kernel when the rule loads.  Not
terminal.  Valid only in the raw table.
"""

# Sources: iptables 1.8.9 extensions/libxt_CT.c (ct_opts_v1, ct_event_tbl,
# ct_parse_zone_id); kernel net/netfilter/xt_CT.c (.table = "raw"), checked by loading
# in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

CT_EVENTS = ("new", "related", "destroy", "reply", "assured", "protoinfo", "helper", "mark", "natseqinfo", "secmark")
EXP_EVENTS = ("new",)
HELPER_BYTES = 15  # char helper[16]: iptables cuts longer names
TIMEOUT_BYTES = 31  # char timeout[32]


def _events(allowed: tuple[str, ...]):
    def parse(text: str, family) -> frozenset[str]:
        """A comma list of event names, compared exactly (ct_parse_events)."""
        events = text.split(",")
        for event in events:
            if event not in allowed:
                raise ValueError(f"unknown event type {event!r}: use {', '.join(allowed)}")
        return frozenset(events)

    parse.__name__ = "events"
    return parse


def zone(text: str, family) -> int | str:
    """A zone number 0-65535, or `mark` (the zone is the packet mark)."""
    if text.lower() == "mark":
        return "mark"
    try:
        return v.to_int(text, 0, 0xFFFF, "zone")
    except ValueError:
        raise ValueError(f"cannot read {text!r} as a zone ID: use 0-65535 or mark") from None


EXTENSION = Extension(
    name="CT",
    kind="target",
    summary="conntrack setup: notrack, helper, zone, events, timeout",
    tables=("raw",),
    options=(
        opt("--notrack"),
        opt("--helper", v.string()),
        opt("--timeout", v.string()),
        opt("--ctevents", _events(CT_EVENTS)),
        opt("--expevents", _events(EXP_EVENTS)),
        opt("--zone-orig", zone),
        opt("--zone-reply", zone),
        opt("--zone", zone),
    ),
)
