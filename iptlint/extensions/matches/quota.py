"""quota: match until a byte budget is used up (libxt_quota).

    -m quota --quota 1073741824 -j ACCEPT
    -m quota ! --quota 0

`--quota BYTES` (0 to 2^64-1), may be negated (match once the quota is spent).  The
counter lives in the rule: reloading the ruleset resets it.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="quota",
    kind="match",
    summary="byte quota",
    options=(opt("--quota", v.uint(0, 2**64 - 1, "quota"), invert=True, required=True),),
)
