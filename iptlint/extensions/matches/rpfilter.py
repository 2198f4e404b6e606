"""rpfilter: reverse path filter, does the route back to the source leave by the input interface (libxt_rpfilter).

    -t raw -A PREROUTING -m rpfilter --invert -j DROP
    -t mangle -A PREROUTING -m rpfilter --loose --validmark

Flags only: `--loose` (any route back will do), `--validmark` (use the packet's mark
in the lookup), `--accept-local`, `--invert`.  The kernel allows it only in the raw and
mangle tables, at PREROUTING.
"""

from iptlint.extensions.spec import Extension, opt

EXTENSION = Extension(
    name="rpfilter",
    kind="match",
    summary="reverse path filter",
    tables=("raw", "mangle"),
    hooks=("PREROUTING",),
    options=(
        opt("--loose"),
        opt("--validmark"),
        opt("--accept-local"),
        opt("--invert"),
    ),
)
