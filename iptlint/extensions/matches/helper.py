"""helper: the connection was set up by a conntrack helper (libxt_helper).

    -m conntrack --ctstate RELATED -m helper --helper ftp -j ACCEPT
    -m helper --helper sip-5060

`--helper NAME` (a helper name, `ftp`, or with its port, `ftp-2121`), may be negated.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="helper",
    kind="match",
    summary="the conntrack helper of the connection",
    options=(opt("--helper", v.string(None, "helper name"), invert=True, required=True),),
)
