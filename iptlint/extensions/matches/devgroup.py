"""devgroup: the device group of the input or output interface (libxt_devgroup).

    -m devgroup --src-group 0x2 -j ACCEPT
    -m devgroup ! --dst-group guests

At least one of `--src-group` (input interface) or `--dst-group` (output interface),
each `VALUE[/MASK]` or a name (without a mask) from /etc/iproute2/group on the loading
host; may be negated.  The kernel takes `--src-group` at PREROUTING, INPUT and FORWARD,
`--dst-group` at FORWARD, OUTPUT and POSTROUTING.
"""

from iptlint.extensions.matches.realm import value_or_name
from iptlint.extensions.spec import Extension, opt


def _one_given(options, family, protocol) -> list[str]:
    if "--src-group" not in options and "--dst-group" not in options:
        return ["give --src-group or --dst-group"]
    return []


EXTENSION = Extension(
    name="devgroup",
    kind="match",
    summary="device group of the interfaces",
    options=(
        opt("--src-group", value_or_name, invert=True),
        opt("--dst-group", value_or_name, invert=True),
    ),
    check=_one_given,
)
