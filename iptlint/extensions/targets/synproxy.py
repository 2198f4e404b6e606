"""SYNPROXY: answer TCP handshakes on the server's behalf and open the connection to it only
once the client has completed one, against SYN floods (libxt_SYNPROXY).

    -A INPUT -p tcp -m tcp --dport 80 -m conntrack --ctstate INVALID,UNTRACKED
        -j SYNPROXY --sack-perm --timestamp --wscale 7 --mss 1460

`--mss`, `--wscale` (the server's values, to announce), `--sack-perm`, `--timestamp`,
`--ecn`.  The kernel refuses the rule without `-p tcp`.  Not terminal: SYN and the
handshake's ACK are consumed or dropped, but every other packet continues with the next
rule (usually `-m conntrack --ctstate INVALID -j DROP`).  Valid from INPUT and FORWARD.
"""

# Sources: iptables 1.8.9 extensions/libxt_SYNPROXY.c (SYNPROXY_opts: XTTYPE_UINT32);
# kernel net/netfilter/xt_SYNPROXY.c (.hooks = LOCAL_IN | FORWARD, no .table; -p tcp
# required; XT_CONTINUE for other packets), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.extensions.targets import _checks
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="SYNPROXY",
    kind="target",
    summary="answer TCP handshakes for the server",
    hooks=("INPUT", "FORWARD"),
    check=_checks.protocol_in(6),
    options=(
        opt("--sack-perm"),
        opt("--timestamp"),
        opt("--wscale", v.uint32),
        opt("--mss", v.uint32),
        opt("--ecn"),
    ),
)
