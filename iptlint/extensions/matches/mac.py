"""mac: the source MAC address of an incoming Ethernet frame (libxt_mac).

    -m mac --mac-source 52:54:00:12:34:56 -j ACCEPT

Six hexadecimal octets separated by `:` (one or two digits each).  Outgoing packets
have no source MAC yet: the kernel accepts the match in PREROUTING, INPUT and FORWARD only.
"""

from __future__ import annotations

import re

from iptlint.extensions.spec import Extension, opt

_MAC = re.compile(r"[0-9A-Fa-f]{1,2}(?::[0-9A-Fa-f]{1,2}){5}\Z")


def mac_address(text: str, family) -> str:
    """`52:54:00:12:34:56`, normalised to lower-case two-digit octets."""
    if not _MAC.match(text):
        raise ValueError(f"{text!r} is not a MAC address (six hex octets separated by ':')")
    return ":".join(f"{int(octet, 16):02x}" for octet in text.split(":"))


EXTENSION = Extension(
    name="mac",
    kind="match",
    summary="source MAC address",
    hooks=("PREROUTING", "INPUT", "FORWARD"),
    options=(opt("--mac-source", mac_address, invert=True, required=True),),
)
