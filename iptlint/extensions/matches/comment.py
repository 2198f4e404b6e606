"""comment: a note kept with the rule, shown by iptables-save (libxt_comment).

    -m comment --comment "allow ssh from the office"

At most 255 bytes.  iptlint also reads `iptlint: disable=CODE` suppressions here.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="comment",
    kind="match",
    summary="a note kept with the rule",
    options=(opt("--comment", v.string(255, "comment"), required=True),),
)
