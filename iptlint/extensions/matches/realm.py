"""realm: the routing realm of the packet's route (libipt_realm).

    -m realm --realm 0x10/0xff -j ACCEPT
    -m realm ! --realm cosmos

`--realm VALUE[/MASK]` (32-bit numbers) or a name (without a mask) from
/etc/iproute2/rt_realms on the loading host, may be negated.  IPv4 only.
"""

import re

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

_NAME = re.compile(r"[^\s/]+\Z")
_VALUE_MASK = v.masked(32, "value")


def value_or_name(text: str, family) -> v.Masked | str:
    """`VALUE[/MASK]` as xtables_parse_val_mask reads it, or a name the loading host must know."""
    if text[:1].isdigit():
        return _VALUE_MASK(text, family)
    if _NAME.match(text):
        return text
    raise ValueError(f"{text!r} is neither VALUE[/MASK] nor a name")


EXTENSION = Extension(
    name="realm",
    kind="match",
    summary="routing realm",
    family="ipv4",
    options=(opt("--realm", value_or_name, invert=True, required=True),),
)
