"""socket: the packet belongs to a local socket (libxt_socket, revision 3).

    -t mangle -A PREROUTING -p tcp -m socket --transparent -j MARK --set-mark 1

Flags only: `--transparent` (only sockets with IP_TRANSPARENT), `--nowildcard` (also
listeners bound to 0.0.0.0 / ::), `--restore-skmark` (copy the socket mark to the packet).
Used with TPROXY; the kernel allows it at PREROUTING and INPUT.
"""

from iptlint.extensions.spec import Extension, opt

EXTENSION = Extension(
    name="socket",
    kind="match",
    summary="a local socket owns the packet",
    hooks=("PREROUTING", "INPUT"),
    options=(
        opt("--transparent"),
        opt("--nowildcard"),
        opt("--restore-skmark"),
    ),
)
