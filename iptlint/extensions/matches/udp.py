"""udp: UDP source and destination ports (libxt_udp).

    -p udp -m udp --dport 53 -j ACCEPT
    -p udp --sport 67:68 --dport 67:68 -j ACCEPT

Loaded implicitly by `-p udp` when one of its options follows.  Needs `-p udp`: the
kernel refuses the match for any other protocol.  iptables 1.8.9 loads an inverted
range (`--dport 4:3`, which never matches; 1.8.11 refuses it), so iptlint reads it too.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="udp",
    kind="match",
    summary="UDP ports",
    protocols=(17,),
    options=(
        opt("--sport", v.port_range_as_written, "--source-port", invert=True),
        opt("--dport", v.port_range_as_written, "--destination-port", invert=True),
    ),
)
