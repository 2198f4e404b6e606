"""pkttype: the link-layer packet type (libxt_pkttype).

    -m pkttype --pkt-type broadcast -j DROP
    -m pkttype ! --pkt-type unicast

`unicast` (to this host), `broadcast`, `multicast` or `otherhost`, any case; `host`,
`bcast` and `mcast` are accepted as aliases.
"""

from iptlint.extensions.spec import Extension, opt

TYPES = {
    "unicast": "unicast",
    "broadcast": "broadcast",
    "multicast": "multicast",
    "otherhost": "otherhost",
    "host": "unicast",
    "bcast": "broadcast",
    "mcast": "multicast",
}


def packet_type(text: str, family) -> str:
    """The canonical name of a packet type, as iptables-save prints it."""
    try:
        return TYPES[text.lower()]
    except KeyError:
        raise ValueError(f"packet type {text!r} is not unicast, broadcast, multicast or otherhost") from None


EXTENSION = Extension(
    name="pkttype",
    kind="match",
    summary="link-layer packet type",
    options=(opt("--pkt-type", packet_type, invert=True, required=True),),
)
