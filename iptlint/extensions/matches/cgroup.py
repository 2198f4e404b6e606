"""cgroup: the control group of the local socket (libxt_cgroup, revision 2).

    -A OUTPUT -m cgroup --path system.slice/sshd.service -j ACCEPT
    -A OUTPUT -m cgroup ! --cgroup 0x100001 -j DROP

Exactly one of `--path` (a cgroup v2 path, which must exist when the rules load) or
`--cgroup` (a net_cls class id), may be negated.  Locally generated packets only.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v


def _exactly_one(options, family, protocol) -> list[str]:
    if "--path" not in options and "--cgroup" not in options:
        return ["give --path or --cgroup (the kernel refuses a cgroup match with neither)"]
    return []


EXTENSION = Extension(
    name="cgroup",
    kind="match",
    summary="cgroup of the local socket",
    hooks=("OUTPUT", "POSTROUTING", "INPUT"),
    options=(
        opt("--path", v.string(None, "cgroup path"), invert=True, excludes=("--cgroup",)),
        opt("--cgroup", v.uint(0, 0xFFFFFFFF, "class id"), invert=True, excludes=("--path",)),
    ),
    check=_exactly_one,
)
