"""mark: the packet's firewall mark (libxt_mark).

    -m mark --mark 0x4000/0x4000 -j ACCEPT
    -m mark ! --mark 0x1

`--mark VALUE[/MASK]` matches when `(nfmark & MASK) == VALUE`; the mask defaults to
0xffffffff.  Marks are set by `-j MARK` or `-j CONNMARK --restore-mark`.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="mark",
    kind="match",
    summary="packet mark",
    options=(opt("--mark", v.mark, invert=True, required=True),),
)
