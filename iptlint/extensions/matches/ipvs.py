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
    """A protocol name or number, as XTTYPE_PROTOCOL reads it."""
    number = EXTRA_PROTOCOLS.get(text.lower())
    return v.Protocol(number) if number is not None else v.protocol(text, family)


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
        opt("--vport", v.port, invert=True),
        opt("--vdir", v.choice("ORIGINAL", "REPLY", what="direction", fold=True)),
        opt("--vmethod", v.choice("GATE", "IPIP", "MASQ", what="forwarding method", fold=True), invert=True),
        opt("--vportctl", v.port, invert=True),
    ),
    check=_check,
)
