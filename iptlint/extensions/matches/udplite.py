"""udplite: a match iptables does not have; `-m udplite` fails to load.

    -p udplite -m multiport --dports 5000,5001 -j ACCEPT    (the way to match UDP-Lite ports)

The kernel has no `xt_udplite` and iptables no `libxt_udplite`: `-m udplite` stops
iptables-restore with "Couldn't load match `udplite'", and `-p udplite --dport 5` is an
unknown option.  This table exists so that iptlint reports the mistake as an error
instead of reading the module generically.
"""

from iptlint.extensions.spec import Extension


def _check(options, family, protocol):
    return ["iptables has no udplite match (Couldn't load match `udplite'): use -m multiport for UDP-Lite ports"]


EXTENSION = Extension(
    name="udplite",
    kind="match",
    summary="not an iptables match: use -p udplite with -m multiport",
    check=_check,
)
