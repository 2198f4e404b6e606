"""state: connection tracking state, the older spelling of conntrack --ctstate (libxt_state).

    -m state --state RELATED,ESTABLISHED -j ACCEPT

`--state` is required; states are INVALID, NEW, ESTABLISHED, RELATED and UNTRACKED
(no SNAT/DNAT here), any case, possibly abbreviated.  iptables-nft runs it as
`-m conntrack --ctstate`, but saves it back as `-m state --state`.
"""

from iptlint.extensions.matches.conntrack import abbreviated_list
from iptlint.extensions.spec import Extension, opt

STATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED")

EXTENSION = Extension(
    name="state",
    kind="match",
    summary="connection tracking state",
    options=(opt("--state", abbreviated_list(*STATES, what="state"), invert=True, required=True),),
)
