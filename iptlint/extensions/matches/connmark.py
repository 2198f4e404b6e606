"""connmark: the mark of the packet's connection (libxt_connmark).

    -m connmark --mark 0x1/0xff -j ACCEPT

`--mark VALUE[/MASK]` matches when `(ctmark & MASK) == VALUE`; the mask defaults to
0xffffffff.  The connection mark is set by `-j CONNMARK`.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="connmark",
    kind="match",
    summary="connection mark",
    options=(opt("--mark", v.mark, invert=True, required=True),),
)
