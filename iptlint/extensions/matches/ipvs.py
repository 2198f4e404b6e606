"""ipvs: properties of IPVS (the kernel load balancer) connections (libxt_ipvs).

    -m ipvs --vaddr 10.0.0.1 --vport 80 --vdir ORIGINAL -j MARK --set-mark 1
    -m ipvs ! --ipvs -j RETURN

At least one option.  `--ipvs` (the packet belongs to IPVS); `--vproto`, `--vaddr`,
`--vport`, `--vportctl`, `--vmethod GATE|IPIP|MASQ` and `--vdir ORIGINAL|REPLY` describe
the virtual service; all but `--vdir` may be negated.  kube-proxy in IPVS mode uses it.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

# Names xtables_parse_protocol knows beyond values.PROTOCOLS (its xtables_chain_protos).
EXTRA_PROTOCOLS = {"ipcomp": 108, "mobility-header": 135}


def protocol(text: str, family) -> v.Protocol:
    """A protocol number (decimal, 0x hex or 0 octal, 0-255) or name, as XTTYPE_PROTOCOL reads it."""
    if text[:1].isdigit():
        return v.Protocol(v.to_int(text, 0, 255, "protocol"))
    number = EXTRA_PROTOCOLS.get(text.lower())
    return v.Protocol(number) if number is not None else v.protocol(text, family)


def service_port(text: str, family) -> int:
    """A port as XTTYPE_PORT reads it through getaddrinfo: a decimal number, cut to 16 bits, or a service name."""
    if text.isdigit():
        # glibc keeps strtoul's result in an int: a negative one reads as a name and fails.
        number = min(int(text), 2**64 - 1) & 0xFFFFFFFF
        if number >= 2**31:
            raise ValueError(f"port {text} does not resolve to anything")
        return number & 0xFFFF
    if text not in v.SERVICES:
        raise ValueError(f"port {text!r} is neither a decimal number nor a known service name")
    return v.SERVICES[text]


def _check(options, family, protocol) -> list[str]:
    if not options:
        return ["give at least one option"]
    ipvs = options.get("--ipvs")
    if ipvs is not None and ipvs.negated and len(options) > 1:
        return ["! --ipvs cannot be combined with other options"]
    return []


EXTENSION = Extension(
    name="ipvs",
    kind="match",
    summary="IPVS connection properties",
    options=(
        opt("--ipvs", invert=True),
        opt("--vproto", protocol, invert=True),
        opt("--vaddr", v.address, invert=True),
        opt("--vport", service_port, invert=True),
        opt("--vdir", v.choice("ORIGINAL", "REPLY", what="direction", fold=True)),
        opt("--vmethod", v.choice("GATE", "IPIP", "MASQ", what="forwarding method", fold=True), invert=True),
        opt("--vportctl", service_port, invert=True),
    ),
    check=_check,
)
