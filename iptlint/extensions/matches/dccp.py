"""dccp: DCCP ports, packet types and options (libxt_dccp).

    -p dccp -m dccp --dport 5004 --dccp-types REQUEST,RESPONSE -j ACCEPT

Loaded implicitly by `-p dccp` when one of its options follows; needs `-p dccp`.
`INVALID` in `--dccp-types` also covers the reserved types 11-15.  An inverted port
range (`4:3`) loads in iptables 1.8.9 and never matches; 1.8.11 refuses it.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

DCCP_TYPES = (
    "REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ",
    "CLOSE", "RESET", "SYNC", "SYNCACK", "INVALID",
)  # fmt: skip

EXTENSION = Extension(
    name="dccp",
    kind="match",
    summary="DCCP ports, packet types and options",
    protocols=(33,),
    options=(
        opt("--sport", v.port_range_as_written, "--source-port", invert=True),
        opt("--dport", v.port_range_as_written, "--destination-port", invert=True),
        opt("--dccp-types", v.name_list(*DCCP_TYPES, what="DCCP type"), invert=True),
        opt("--dccp-option", v.uint(1, 255, "DCCP option"), invert=True),
    ),
)
