"""cpu: the CPU handling the packet (libxt_cpu).

    -p tcp -m tcp --dport 80 -m cpu --cpu 0 -j REDIRECT --to-ports 8080

`--cpu N` (a CPU number, 0-4294967295), may be negated.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="cpu",
    kind="match",
    summary="the CPU handling the packet",
    options=(opt("--cpu", v.uint(0, 0xFFFFFFFF, "CPU number"), invert=True, required=True),),
)
