"""policy: the IPsec policy the packet was (or will be) processed by (libxt_policy).

    -m policy --dir in --pol ipsec --proto esp -j ACCEPT
    -m policy --dir out --pol ipsec --strict --reqid 1 --mode tunnel --tunnel-dst 192.0.2.1 --next --reqid 2

`--dir in|out` is required; `--pol ipsec|none` (default ipsec).  With `--strict` the
policy is a list of elements separated by `--next`, each with at least one of `--reqid`,
`--spi`, `--proto ah|esp|ipcomp`, `--mode transport|tunnel`, `--tunnel-src`,
`--tunnel-dst` (all may be negated); the tunnel addresses need `--mode tunnel`.
`--dir in` is for PREROUTING, INPUT, FORWARD; `--dir out` for FORWARD, OUTPUT, POSTROUTING.
"""

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

IPSEC_PROTOCOLS = {"ah": 51, "esp": 50, "ipcomp": 108}
ELEMENT_OPTIONS = ("--reqid", "--spi", "--tunnel-src", "--tunnel-dst", "--proto", "--mode")
_UINT32 = v.uint(0, 0xFFFFFFFF, "value")


def ipsec_protocol(text: str, family) -> v.Protocol:
    """ah, esp or ipcomp, by name (lower case, as xtables_parse_protocol knows them) or number."""
    number = IPSEC_PROTOCOLS.get(text)
    if number is None:
        try:
            number = v.to_int(text, 0, 255, "protocol")
        except ValueError:
            raise ValueError(f"protocol {text!r} is not ah, esp or ipcomp") from None
    if number not in IPSEC_PROTOCOLS.values():
        raise ValueError(f"protocol {text} is not ah (51), esp (50) or ipcomp (108)")
    return v.Protocol(number)


def _last_element(options) -> dict:
    """The options of the element after the last `--next` (all of them when there is none).

    A final check sees only the last occurrence of each option, so earlier elements of a
    `--next` list cannot be told apart; the last one can.
    """
    separator = options.get("--next")
    start = separator.token if separator is not None else -1
    return {name: options[name] for name in ELEMENT_OPTIONS if name in options and options[name].token > start}


def _element_problem(element, strict: bool) -> str | None:
    if strict and not element:
        return "--strict needs at least one of --reqid, --spi, --proto, --mode, --tunnel-src, --tunnel-dst"
    if "--tunnel-src" in element or "--tunnel-dst" in element:
        mode = element.get("--mode")
        tunnel = mode is not None and (mode.value == "tunnel") != mode.negated
        if not tunnel:
            return "--tunnel-src/--tunnel-dst are only valid with --mode tunnel"
    return None


def _check(options, family, protocol) -> list[str]:
    strict = "--strict" in options
    if "--next" in options and not strict:
        return ["--next needs --strict"]
    policy = options.get("--pol")
    if policy is not None and policy.value == "none":
        if strict:
            return ["--pol none cannot be combined with --strict"]
        if "--next" in options:
            return ["--pol none cannot be combined with a list of elements (--next)"]
        return []
    problem = _element_problem(_last_element(options), strict)
    return [problem] if problem else []


EXTENSION = Extension(
    name="policy",
    kind="match",
    summary="IPsec policy",
    options=(
        opt("--dir", v.choice("in", "out", what="direction"), required=True),
        opt("--pol", v.choice("none", "ipsec", what="policy")),
        opt("--strict"),
        opt("--reqid", _UINT32, invert=True, multi=True),
        opt("--spi", _UINT32, invert=True, multi=True),
        opt("--proto", ipsec_protocol, invert=True, multi=True),
        opt("--mode", v.choice("transport", "tunnel", what="mode"), invert=True, multi=True),
        opt("--tunnel-src", v.address, invert=True, multi=True),
        opt("--tunnel-dst", v.address, invert=True, multi=True),
        opt("--next", multi=True),
    ),
    check=_check,
)
