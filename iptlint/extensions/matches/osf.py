"""osf: passive OS fingerprinting of TCP SYN packets (libxt_osf).

    -p tcp -m osf --genre Linux --ttl 1 --log 0 -j ACCEPT

`--genre NAME` (may be negated) is required; `--ttl 0|1|2` picks how the TTL is compared,
`--log 0|1|2` what is logged.  Fingerprints must be loaded with `nfnl_osf` first.  The
kernel wants `-p tcp` and allows it at PREROUTING, INPUT and FORWARD; IPv4 only.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="osf",
    kind="match",
    summary="passive OS fingerprint",
    family="ipv4",
    protocols=(6,),
    hooks=("PREROUTING", "INPUT", "FORWARD"),
    options=(
        opt("--genre", v.string(None, "genre"), invert=True, required=True),
        opt("--ttl", v.uint(0, 2, "TTL check")),
        opt("--log", v.uint(0, 2, "log level")),
    ),
)
