"""srh: the IPv6 Segment Routing Header (libip6t_srh, revision 1).

    -m srh --srh-next-hdr 17 --srh-segs-left-gt 1 -j ACCEPT
    -m srh ! --srh-psid 2001:db8::/64

Every option may be negated: `--srh-next-hdr`, header length, segments left and last
entry compared with `-eq`, `-gt` or `-lt` (0-255), `--srh-tag` (0-65535), and the
previous, next and last segment IDs `--srh-psid`, `--srh-nsid`, `--srh-lsid` (ADDR[/MASK]).
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_BYTE = v.uint(0, 255, "value")
_COMPARED = ("hdr-len", "segs-left", "last-entry")

EXTENSION = Extension(
    name="srh",
    kind="match",
    summary="IPv6 segment routing header",
    family="ipv6",
    options=(
        opt("--srh-next-hdr", _BYTE, invert=True),
        *(opt(f"--srh-{field}-{op}", _BYTE, invert=True) for field in _COMPARED for op in ("eq", "gt", "lt")),
        opt("--srh-tag", v.uint(0, 0xFFFF, "tag"), invert=True),
        opt("--srh-psid", v.address, invert=True),
        opt("--srh-nsid", v.address, invert=True),
        opt("--srh-lsid", v.address, invert=True),
    ),
)
