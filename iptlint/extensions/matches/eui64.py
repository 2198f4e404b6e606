"""eui64: the IPv6 source address is the EUI-64 of the source MAC address (libip6t_eui64).

    -A INPUT -i eth0 -m eui64 -j ACCEPT

No options.  Checks that the interface identifier of a link-local sender was built from
its MAC address (anti-spoofing).  The kernel allows it at PREROUTING, INPUT and FORWARD.
"""

from iptlint.extensions.spec import Extension

EXTENSION = Extension(
    name="eui64",
    kind="match",
    summary="source address derived from the MAC",
    family="ipv6",
    hooks=("PREROUTING", "INPUT", "FORWARD"),
)
