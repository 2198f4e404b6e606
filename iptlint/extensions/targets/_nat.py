"""What the NAT targets (SNAT, DNAT, MASQUERADE, REDIRECT) share: their address and port ranges.

Read as iptables 1.8.9 reads them (extensions/libxt_NAT.c, `parse_to` and `parse_ports`):

* `ADDR[-ADDR][:PORT[-PORT[/BASE]]]`; IPv6 addresses with a port go in brackets,
  `[fd00::1-fd00::9]:80`.  An IPv6 address without brackets has no port.
* A single port may be a service name (`:ssh`); the end of a range may not (`10-ssh`
  fails).  `PORT:PORT` is an error: ranges use a dash.
* A port needs `-p tcp`, `udp`, `sctp`, `dccp` or `icmp` (the rule's protocol number,
  even for ip6tables): not `udplite`, whatever the kernel could do.
* `/BASE` (a shifted port map, 1-65535) is only understood by DNAT revision 2.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

from iptlint.syntax import values as v
from iptlint.syntax.ast import Family, Option, fast_constructor

# portok in __NAT_parse: IPPROTO_TCP, UDP, SCTP, DCCP and ICMP.
PORT_PROTOCOLS = (6, 17, 132, 33, 1)
PORT_PROTOCOL_NAMES = "-p tcp, udp, sctp, dccp or icmp"


@dataclass(frozen=True, slots=True)
class NatPorts:
    """`1024-65535`, or a shifted map `1000-2000/3000` (packets to 3000+n go to 1000+n)."""

    lo: int
    hi: int
    base: int | None = None

    @property
    def range(self) -> v.Range:
        return v.Range(self.lo, self.hi)

    def __str__(self) -> str:
        text = str(self.lo) if self.lo == self.hi else f"{self.lo}-{self.hi}"
        return text if self.base is None else f"{text}/{self.base}"


@dataclass(frozen=True, slots=True)
class NatRange:
    """`--to-destination`/`--to-source`: an address range, a port range, or both."""

    addresses: v.AddressRange | None
    ports: NatPorts | None = None

    def __str__(self) -> str:
        text = ""
        if self.addresses is not None:
            text = str(self.addresses.lo)
            if self.addresses.hi != self.addresses.lo:
                text += f"-{self.addresses.hi}"
            if self.ports is not None and self.addresses.lo.version == 6:
                text = f"[{text}]"
        if self.ports is not None:
            text += f":{self.ports}"
        return text


_new_nat_ports = fast_constructor(NatPorts)
_new_nat_range = fast_constructor(NatRange)
_new_address_range = v.new_address_range
_IPV4 = Family.IPV4
_new_object, _IPv4Address = object.__new__, ipaddress.IPv4Address
_set_ip = _IPv4Address._ip.__set__


def _number(text: str, lo: int, hi: int) -> int | None:
    """xtables_strtoui on the whole word: the number, or None when it is not one in range."""
    try:
        return v.to_int(text, lo, hi, "port")
    except ValueError:
        return None


def _leading_number(text: str) -> tuple[int | None, str]:
    """A port number at the start of `text` and what follows it (strtoui with an end pointer)."""
    end = 0
    if text[:2].lower() == "0x":
        end = 2
        while end < len(text) and text[end] in "0123456789abcdefABCDEF":
            end += 1
    else:
        while end < len(text) and text[end].isdigit():
            end += 1
    return _number(text[:end], 0, 65535) if end else None, text[end:]


def _service(text: str) -> int:
    port = v.SERVICES.get(text)
    if port is None:
        raise ValueError(f"port {text!r} is neither a number 0-65535 nor a service name")
    return port


def nat_ports(text: str) -> NatPorts:
    """`PORT[-PORT[/BASE]]` as parse_ports reads it."""
    first, rest = _leading_number(text)
    if first is None:
        return NatPorts(*(2 * (_service(text),)))  # a single service name, `ssh`
    if rest == "":
        return NatPorts(first, first)
    if rest[0] == ":":
        raise ValueError(f"port range {text!r} uses ':': NAT port ranges use a dash, as in 1024-65535")
    if rest[0] != "-":
        raise ValueError(f"unexpected {rest!r} after the port in {text!r}")
    last, rest = _leading_number(rest[1:])
    if last is None:
        raise ValueError(f"the end of port range {text!r} is not a number 0-65535")
    if last < first:
        raise ValueError(f"port range {text!r} is inverted")
    if rest == "":
        return NatPorts(first, last)
    if rest[0] != "/":
        raise ValueError(f"unexpected {rest!r} after the port range in {text!r}")
    base_text = rest[1:]
    base, _ = _leading_number(base_text)
    if base is None or base == 0:
        base = _service(base_text) if base_text in v.SERVICES else None
    if base is None:
        raise ValueError(f"base port {base_text!r} of the shifted range is not a number 1-65535")
    return NatPorts(first, last, base)


def _address(text: str, family: Family) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """inet_pton: a literal address of the family, no host names, no scope id."""
    if "%" in text:
        raise ValueError(f"{text!r} is not an {family} address")
    return v.single_address(text, family)


def nat_range(text: str, family: Family) -> NatRange:
    """`--to-destination`/`--to-source`, as parse_to splits it into addresses and ports."""
    if family is _IPV4:
        # `10.1.2.3:80`, nearly every endpoint of a big dump: v.ipv4_and_port() and
        # v.ipv4_address() written out (30,000 calls on a kube-proxy dump), but the
        # dotted quad's reader.
        host, colon, port = text.partition(":")
        ip = v.dotted_quad(host)
        if ip is not None:
            ports = None
            if colon:
                if 0 < len(port) <= 5 and port.isascii() and port.isdigit() and (port[0] != "0" or port == "0"):
                    number = int(port)
                    if number <= 65535:
                        ports = _new_nat_ports(number, number, None)
                if ports is None:  # not a plain port: the general path below
                    ip = None
            if ip is not None:
                address = _new_object(_IPv4Address)
                _set_ip(address, ip)
                return _new_nat_range(_new_address_range(address, address), ports)
    start = text
    colon: int | None
    if "[" in text:
        if family is Family.IPV4:
            raise ValueError(f"brackets in {text!r}: only IPv6 addresses are written in brackets")
        open_at = text.index("[")
        close = text.find("]", open_at)
        if close < 0:
            raise ValueError(f"missing ']' in {text!r}")
        start = text[open_at + 1 : close]
        found = text.find(":", close + 1)
        colon = found if found >= 0 else None
    else:
        found = text.find(":")
        # One colon is a port; more are an IPv6 address without a port.
        colon = found if found >= 0 and ":" not in text[found + 1 :] else None
        if colon is not None:
            start = text[:colon]
    ports = nat_ports(text[colon + 1 :]) if colon is not None else None
    if ports is not None and start == "":
        return NatRange(None, ports)
    first, dash, last = start.partition("-")
    lo = _address(first, family)
    hi = _address(last, family) if dash else lo
    return NatRange(v.AddressRange(lo, hi), ports)


def nat_ports_option(text: str, family: Family) -> NatPorts:
    """`--to-ports` of MASQUERADE and REDIRECT."""
    return nat_ports(text)


def ports_need_protocol(option_names: tuple[str, ...]):
    """A final check: a port in any of these options needs a protocol with ports."""

    def check(options: Mapping[str, Option], family: Family, protocol: int | None) -> list[str]:
        for name in option_names:
            option = options.get(name)
            if option is None or option.value is None:
                continue
            value = option.value
            has_ports = value.ports is not None if isinstance(value, NatRange) else True
            if has_ports and protocol not in PORT_PROTOCOLS:
                return [f"a port in {name} needs {PORT_PROTOCOL_NAMES} before it"]
        return []

    check.passes_with = PORT_PROTOCOLS  # it finds nothing in a rule of these protocols (see parser._Program)
    return check


def no_shifted_ports(option_name: str):
    """A final check for the targets whose kernel side has no shifted port maps (DNAT_fcheck)."""

    def check(options: Mapping[str, Option], family: Family, protocol: int | None) -> list[str]:
        option = options.get(option_name)
        value = option.value if option is not None else None
        ports = value.ports if isinstance(value, NatRange) else value
        if ports is not None and ports.base is not None:
            return [f"{option_name}: a shifted port map (/BASE) works only with DNAT"]
        return []

    return check
