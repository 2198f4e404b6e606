"""Typed option values and the parsers that read them.

A parser takes the option's word(s) and the address family and returns a typed value,
or raises `ValueError` with a message meant for a person ("port 70000 is out of range
0-65535").  Parsers are pure and their results immutable, so the builder caches them
by (parser, words, family): a kube-proxy dump repeats the same values thousands of
times.  Extension tables (iptlint/extensions/) name the parser of each option.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from iptlint.syntax.ast import Family, fast_constructor

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Parser = Callable[[Any, Family], Any]


# ---------------------------------------------------------------------------------------
# Value types
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Range:
    """An inclusive integer range: ports `1024:65535`, lengths, TTLs."""

    lo: int
    hi: int

    def __str__(self) -> str:
        return str(self.lo) if self.lo == self.hi else f"{self.lo}:{self.hi}"

    def __contains__(self, value: int) -> bool:
        return self.lo <= value <= self.hi


@dataclass(frozen=True, slots=True)
class Address:
    """A source/destination: a network, or a host name iptables would resolve at load time."""

    network: Network | None
    hostname: str | None = None

    def __str__(self) -> str:
        return self.hostname if self.network is None else str(self.network)


@dataclass(frozen=True, slots=True)
class MaskedAddress:
    """`-s 10.0.0.0/255.0.255.0`: an address under a mask that is no prefix, which iptables takes.

    A packet matches when its address AND the mask equals `address` (already masked, as
    iptables stores it).  No network can say it, so `network` is None, as for a host name:
    readers that need a network see an address they cannot bound.
    """

    address: ipaddress.IPv4Address | ipaddress.IPv6Address
    mask: ipaddress.IPv4Address | ipaddress.IPv6Address

    network = None  # not a field: what `Address.network` readers see
    hostname = None

    def __str__(self) -> str:
        return f"{self.address}/{self.mask}"


@dataclass(frozen=True, slots=True)
class AddressRange:
    lo: ipaddress.IPv4Address | ipaddress.IPv6Address
    hi: ipaddress.IPv4Address | ipaddress.IPv6Address

    def __str__(self) -> str:
        return f"{self.lo}-{self.hi}"


_new_address = fast_constructor(Address)
new_address_range = fast_constructor(AddressRange)


@dataclass(frozen=True, slots=True)
class Interface:
    """An interface name; a trailing `+` matches every name with that prefix (`eth+`)."""

    name: str

    @property
    def wildcard(self) -> bool:
        return self.name.endswith("+")

    @property
    def prefix(self) -> str:
        return self.name[:-1] if self.wildcard else self.name

    def matches(self, name: str) -> bool:
        return name.startswith(self.prefix) if self.wildcard else name == self.name

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class Masked:
    """A value with a mask, `0x4000/0x4000` (marks, connmarks, realms)."""

    value: int
    mask: int

    def __str__(self) -> str:
        return f"{self.value:#x}" if self.mask == 0xFFFFFFFF else f"{self.value:#x}/{self.mask:#x}"


@dataclass(frozen=True, slots=True)
class Rate:
    """A rate such as `3/min`: `count` events per `seconds`."""

    count: int
    seconds: int
    unit: str

    def __str__(self) -> str:
        return f"{self.count}/{self.unit}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A NAT destination or source: `172.17.0.2:80`, `[fd00::2]:80`, `10.0.0.1-10.0.0.9:1024-2048`."""

    addresses: AddressRange | None
    ports: Range | None = None

    @classmethod
    def single(cls, address: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int | None = None) -> Endpoint:
        """One address and at most one port, written as DNAT writes them: `10.0.0.2:80`, `[2001:db8::2]:80`."""
        return cls(AddressRange(address, address), None if port is None else Range(port, port))

    def __str__(self) -> str:
        if self.addresses is None:
            text = ""
        elif self.addresses.lo == self.addresses.hi:
            text = str(self.addresses.lo)
            if self.ports is not None and self.addresses.lo.version == 6:
                text = f"[{text}]"
        else:
            text = str(self.addresses)
        if self.ports is not None:
            port = str(self.ports).replace(":", "-")
            text = f"{text}:{port}"
        return text


@dataclass(frozen=True, slots=True)
class TcpFlags:
    mask: frozenset[str]
    set: frozenset[str]


# ---------------------------------------------------------------------------------------
# Numbers
# ---------------------------------------------------------------------------------------

_INT = re.compile(r"(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


def to_int(text: str, lo: int = 0, hi: int = 0xFFFFFFFF, what: str = "value") -> int:
    """Read an unsigned integer as strtoul(..., 0) does: decimal, 0x hex or 0 octal."""
    if not _INT.match(text):
        raise ValueError(f"{what} {text!r} is not a number")
    number = int(text, 0) if not (text.startswith("0") and len(text) > 1 and text[1] not in "xX") else int(text, 8)
    if not lo <= number <= hi:
        raise ValueError(f"{what} {text} is out of range {lo}-{hi}")
    return number


def uint(lo: int = 0, hi: int = 0xFFFFFFFF, what: str = "value") -> Parser:
    def parse(text: str, family: Family) -> int:
        return to_int(text, lo, hi, what)

    parse.__name__ = f"uint_{lo}_{hi}"
    return parse


uint8 = uint(0, 0xFF)
uint16 = uint(0, 0xFFFF)
uint32 = uint(0, 0xFFFFFFFF)


def uint_range(lo: int = 0, hi: int = 0xFFFFFFFF, what: str = "value", sep: str = ":") -> Parser:
    """`N` or `N:M` (missing ends default to the bounds)."""

    def parse(text: str, family: Family) -> Range:
        if sep in text:
            first, _, last = text.partition(sep)
            a = to_int(first, lo, hi, what) if first else lo
            b = to_int(last, lo, hi, what) if last else hi
            if a > b:
                raise ValueError(f"{what} range {text} is inverted")
            return Range(a, b)
        number = to_int(text, lo, hi, what)
        return Range(number, number)

    parse.__name__ = f"uint_range_{lo}_{hi}"
    return parse


def string(max_len: int | None = None, what: str = "value") -> Parser:
    def parse(text: str, family: Family) -> str:
        # An ASCII text is as many bytes as characters: no encoding for nearly every comment.
        if max_len is not None and not (len(text) <= max_len and text.isascii()) and len(text.encode()) > max_len:
            raise ValueError(f"{what} is {len(text.encode())} bytes long; the limit is {max_len}")
        return text

    parse.__name__ = f"string_{max_len}"
    return parse


def choice(*names: str, what: str = "value", fold: bool = False) -> Parser:
    allowed = {n.lower() if fold else n: n for n in names}

    def parse(text: str, family: Family) -> str:
        key = text.lower() if fold else text
        if key not in allowed:
            raise ValueError(f"{what} {text!r} is not one of {', '.join(names)}")
        return allowed[key]

    parse.__name__ = "choice_" + "_".join(names)
    return parse


def name_list(*names: str, what: str = "value", fold: bool = True) -> Parser:
    """A comma-separated subset of `names` (conntrack states, TCP flags)."""
    allowed = {n.upper() if fold else n: n for n in names}

    def parse(text: str, family: Family) -> frozenset[str]:
        items = text.split(",")
        result = []
        for item in items:
            key = item.upper() if fold else item
            if key not in allowed:
                raise ValueError(f"{what} {item!r} is not one of {', '.join(names)}")
            result.append(allowed[key])
        return frozenset(result)

    parse.__name__ = "name_list_" + "_".join(names)
    return parse


# ---------------------------------------------------------------------------------------
# Ports and protocols
# ---------------------------------------------------------------------------------------

# The /etc/services names that real dumps use; iptables resolves them with getservbyname.
SERVICES = {
    "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67,
    "bootpc": 68, "tftp": 69, "http": 80, "www": 80, "kerberos": 88, "pop3": 110, "sunrpc": 111,
    "auth": 113, "ident": 113, "nntp": 119, "ntp": 123, "netbios-ns": 137, "netbios-dgm": 138,
    "netbios-ssn": 139, "imap": 143, "imap2": 143, "snmp": 161, "snmp-trap": 162, "bgp": 179,
    "ldap": 389, "https": 443, "microsoft-ds": 445, "isakmp": 500, "syslog": 514, "submission": 587,
    "ldaps": 636, "rsync": 873, "imaps": 993, "pop3s": 995, "openvpn": 1194, "mysql": 3306,
    "postgresql": 5432, "ipp": 631, "smtps": 465, "ms-sql-s": 1433, "radius": 1812, "nfs": 2049,
    "x11": 6000, "ipsec-nat-t": 4500, "sip": 5060, "http-alt": 8080, "webcache": 8080,
    "domain-s": 853, "mdns": 5353, "squid": 3128, "rdp": 3389, "ms-wbt-server": 3389,
}  # fmt: skip


def port(text: str, family: Family) -> int:
    if (text and text[0].isdigit()) or text.startswith("0x"):
        return to_int(text, 0, 65535, "port")
    if text in SERVICES:
        return SERVICES[text]
    raise ValueError(f"port {text!r} is neither a number nor a known service name")


def port_range(text: str, family: Family) -> Range:
    """`80`, `1024:65535`, `:1023`, `1024:`, service names (`ssh`)."""
    if ":" in text:
        first, _, last = text.partition(":")
        lo = port(first, family) if first else 0
        hi = port(last, family) if last else 65535
        if lo > hi:
            raise ValueError(f"port range {text} is inverted ({lo} > {hi})")
        return Range(lo, hi)
    number = port(text, family)
    return Range(number, number)


def port_list(text: str, family: Family, max_ports: int = 15) -> tuple[Range, ...]:
    """multiport lists: `80,443,8000:8080`; a range counts as two of the 15 ports."""
    items = text.split(",")
    ranges = tuple(port_range(item, family) for item in items)
    used = sum(1 if r.lo == r.hi and ":" not in item else 2 for r, item in zip(ranges, items, strict=False))
    if used > max_ports:
        raise ValueError(f"too many ports in {text!r}: at most {max_ports} (a range counts as 2)")
    return ranges


PROTOCOLS = {
    "all": 0, "ip": 0, "icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "egp": 8, "igp": 9, "udp": 17,
    "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
    "icmpv6": 58, "ipv6-icmp": 58, "icmp6": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "ospf": 89,
    "ospfigp": 89, "ipip": 94, "pim": 103, "vrrp": 112, "l2tp": 115, "sctp": 132, "mh": 135,
    "ipv6-mh": 135, "udplite": 136, "dccp": 33, "mpls-in-ip": 137, "hopopt": 0, "carp": 112,
    # more of /etc/protocols (netbase), which iptables reads through getprotobyname
    "ggp": 3, "st": 5, "pup": 12, "hmp": 20, "xns-idp": 22, "rdp": 27, "iso-tp4": 29, "xtp": 36, "ddp": 37,
    "idpr-cmtp": 38, "idrp": 45, "skip": 57, "rspf": 73, "vmtp": 81, "eigrp": 88, "ax.25": 93, "etherip": 97,
    "encap": 98, "ipcomp": 108, "isis": 124, "fc": 133, "mobility-header": 135, "manet": 138, "hip": 139,
    "shim6": 140, "wesp": 141, "rohc": 142, "ethernet": 143,
}  # fmt: skip

PROTOCOL_NAMES = {
    0: "all", 1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 33: "dccp", 41: "ipv6", 47: "gre", 50: "esp",
    51: "ah", 58: "ipv6-icmp", 89: "ospf", 103: "pim", 112: "vrrp", 132: "sctp", 135: "mh", 136: "udplite",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Protocol:
    number: int

    @property
    def name(self) -> str:
        return PROTOCOL_NAMES.get(self.number, str(self.number))

    def __str__(self) -> str:
        return self.name


def protocol(text: str, family: Family) -> Protocol:
    lowered = text.lower()
    if lowered in PROTOCOLS:
        return Protocol(PROTOCOLS[lowered])
    if lowered.isdigit():
        return Protocol(to_int(lowered, 0, 255, "protocol"))
    raise ValueError(f"unknown protocol {text!r}")


# ---------------------------------------------------------------------------------------
# Addresses and interfaces
# ---------------------------------------------------------------------------------------

_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9-]{1,63})*\.?\Z")


def _mask_to_prefix(mask: str, family: Family) -> int:
    if mask.isdigit():
        length = int(mask)
        limit = 32 if family is Family.IPV4 else 128
        if length > limit:
            raise ValueError(f"prefix length /{mask} is out of range 0-{limit}")
        return length
    try:
        net = ipaddress.ip_network(f"0.0.0.0/{mask}" if family is Family.IPV4 else f"::/{mask}")
    except ValueError:
        raise ValueError(f"{mask!r} is not a valid netmask") from None
    return net.prefixlen


# How libxtables 1.8.9 reads addresses and masks (xtables.c): xtables_strtoui (strtoumax,
# base 0: `010` is 8, `0x10` is 16; blanks and `+` before the number), bytes of an IPv4
# address each so (`10.1` is 10.1.0.0, `012.0.0.1` is 10.0.0.1, first 19 bytes only),
# a mask as an address of the family (any bits: 255.0.255.0) or as a prefix length.
_STRTOUL = re.compile(r"[ \t\n\v\f\r]*\+?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\Z")


_PREFIXES = {str(length): length for length in range(33)}


def _strtoui(text: str, hi: int) -> int | None:
    """xtables_strtoui(text, NULL, &n, 0, hi): the number, or None."""
    found = _STRTOUL.match(text)
    if found is None:
        return None
    digits = found[1]
    number = int(digits, 16) if digits[:2] in ("0x", "0X") else int(digits, 8) if digits[0] == "0" else int(digits)
    return number if number <= hi else None


def _numeric_ipv4(text: str, mask: bool = False) -> int | None:
    """__numeric_to_ipaddr: the address, or None (then iptables looks the word up as a host name).

    Fewer than four bytes are completed with zeros, except in a mask.
    """
    buffer = text.encode("utf-8", "surrogateescape")[:19].decode("latin-1")  # char buf[20]
    parts = buffer.split(".", 3)
    if len(parts) < 4 and mask:
        return None
    number = 0
    for part in parts:
        byte = _strtoui(part, 255)
        if byte is None:
            return None
        number = number << 8 | byte
    return number << 8 * (4 - len(parts))


def _numeric_ipv6(text: str) -> int | None:
    """xtables_numeric_to_ip6addr: inet_pton(AF_INET6), or None."""
    try:
        return _from_bytes(_inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None


def _mask(text: str | None, family: Family) -> int:
    """parse_ipmask / parse_ip6mask: the mask's bits; no text is a host's mask.  Raises ValueError."""
    width = 32 if family is Family.IPV4 else 128
    if text is None:
        return (1 << width) - 1
    bits = _numeric_ipv4(text, mask=True) if family is Family.IPV4 else _numeric_ipv6(text)
    if bits is not None:
        return bits
    length = _strtoui(text, width)
    if length is None:
        raise ValueError(f"invalid mask {text!r}: neither an {family} mask nor a prefix length 0-{width}")
    return ((1 << width) - 1) ^ ((1 << (width - length)) - 1)


def _prefix_length(bits: int, width: int) -> int | None:
    """The prefix length of a mask, or None when its ones are not all on the left."""
    zeros = ((1 << width) - 1) ^ bits
    return None if zeros & (zeros + 1) else width - zeros.bit_length()


# A dotted quad without leading zeros (and a prefix length), the common case, read
# without ipaddress's string parser (about 6x faster; the result is the same object).
_inet_pton = socket.inet_pton
_AF_INET = socket.AF_INET
_from_bytes = int.from_bytes


def dotted_quad(text: str) -> int | None:
    """The address of `A.B.C.D` with four decimal octets 0-255 without leading zeros, or None.

    glibc's inet_pton(AF_INET) takes exactly that form (tests/test_parser.py checks it): other
    forms (`010.0.0.1`, `10.1`, hex) take the general path of each reader.
    """
    try:
        return _from_bytes(_inet_pton(_AF_INET, text), "big")
    except (OSError, ValueError):  # not that form; ValueError: a NUL or a lone surrogate
        return None


def ipv4_and_port(text: str) -> tuple[int, int | None] | None:
    """`10.1.2.3` or `10.1.2.3:80` with decimal numbers (kube-proxy's NAT endpoints), as integers.

    None for any other form: its reader takes the general path.
    """
    host, colon, port = text.partition(":")
    ip = dotted_quad(host)
    if ip is None:
        return None
    if not colon:
        return ip, None
    if not (0 < len(port) <= 5 and port.isascii() and port.isdigit()) or (port[0] == "0" and port != "0"):
        return None
    number = int(port)
    return None if number > 65535 else (ip, number)


# IPv4Address and IPv4Network made from an integer without their __init__, which checks
# and converts what is already known here (3x faster on 40,000 kube-proxy addresses).
# The objects are the ones the constructors make: IPv4Address has one slot, `_ip`;
# IPv4Network's __init__ sets network_address, netmask, _prefixlen and, for /31 and
# /32, `hosts` (tests/test_parser.py compares both ways attribute by attribute).
_new_object = object.__new__
_IPv4Address = ipaddress.IPv4Address
_IPv4Network = ipaddress.IPv4Network
_set_ip = _IPv4Address._ip.__set__
_NETMASKS = tuple(_IPv4Network._make_netmask(prefix) for prefix in range(33))
_IPV4 = Family.IPV4


def ipv4_address(ip: int) -> ipaddress.IPv4Address:
    """`IPv4Address(ip)` for an int known to be in range."""
    made = _new_object(_IPv4Address)
    _set_ip(made, ip)
    return made


def ipv4_network(ip: int, prefix: int) -> ipaddress.IPv4Network:
    """`IPv4Network((ip, prefix), strict=False)` for an int and a prefix known to be in range."""
    netmask, _ = _NETMASKS[prefix]
    made = _new_object(_IPv4Network)
    attributes = made.__dict__
    attributes["network_address"] = ipv4_address(ip & netmask._ip)
    attributes["netmask"] = netmask
    attributes["_prefixlen"] = prefix
    if prefix == 32:
        attributes["hosts"] = lambda: [_IPv4Address(ip)]
    elif prefix == 31:
        attributes["hosts"] = made.__iter__
    return made


def ipparse_any(text: str, family: Family) -> Address | MaskedAddress:
    """`-s`/`-d`: `10.0.0.0/8`, `10.1.2.3` (= /32), `10.0.0.0/255.0.0.0`, `fd00::/64`, a host name.

    As libxtables reads them (xtables_ipparse_any): the mask after the last `/`, then
    the address (see `_numeric_ipv4`), or a host name; the address is masked.  A mask that
    is no prefix gives a `MaskedAddress`.
    """
    if family is _IPV4:
        host, slash, mask = text.partition("/")
        ip = dotted_quad(host)
        if ip is not None:
            # decimal, no leading zero (`/08` is no mask for iptables)
            prefix = _PREFIXES.get(mask) if slash else 32
            if prefix is not None:
                return _new_address(ipv4_network(ip, prefix), None)
    if not text:
        raise ValueError("empty address")
    if "," in text:
        raise ValueError(f"address {text!r} is a list: the parser makes one rule per address")
    host, slash, mask_text = text.rpartition("/") if "/" in text else (text, "", "")
    number = _numeric_ipv4(host) if family is Family.IPV4 else _numeric_ipv6(host)
    if number is None:  # told before a mask of the other family's size is
        _refuse_other_family(host, family)
    bits = _mask(mask_text if slash else None, family)
    width = 32 if family is Family.IPV4 else 128
    prefix = _prefix_length(bits, width)
    if number is None:
        if _HOSTNAME.match(host) and not host.replace(".", "").isdigit():
            if not slash:
                return Address(None, host)
            shown = (
                prefix
                if prefix is not None
                else ipaddress.IPv4Address(bits)
                if width == 32
                else ipaddress.IPv6Address(bits)
            )
            return Address(None, f"{host}/{shown}")
        raise ValueError(f"{text!r} is not an address, a network or a host name") from None
    if family is Family.IPV4:
        if prefix is not None:
            return _new_address(ipv4_network(number, prefix), None)
        return MaskedAddress(ipv4_address(number & bits), ipv4_address(bits))
    if prefix is not None:
        return Address(ipaddress.IPv6Network((number, prefix), strict=False))
    return MaskedAddress(ipaddress.IPv6Address(number & bits), ipaddress.IPv6Address(bits))


def address(text: str, family: Family) -> Address:
    """`10.0.0.0/8`, `10.1.2.3` (= /32), `10.0.0.0/255.0.0.0`, `fd00::/64`, a host name.

    For the options of extensions (XTTYPE_HOSTMASK: --ctorigsrc, --tunnel-src...), which
    libxtables reads through getaddrinfo and a prefix length, not as `ipparse_any`.
    """
    if family is Family.IPV4:
        host, slash, mask = text.partition("/")
        ip = dotted_quad(host)
        if ip is not None:
            if not slash:
                return _new_address(ipv4_network(ip, 32), None)
            if 0 < len(mask) <= 2 and mask.isascii() and mask.isdigit() and int(mask) <= 32:
                return _new_address(ipv4_network(ip, int(mask)), None)
    if not text:
        raise ValueError("empty address")
    host, slash, mask = text.partition("/")
    if "," in text:
        raise ValueError(f"address {text!r} is a list: iptables expands it into one rule per address")
    try:
        ip = ipaddress.IPv4Address(host) if family is Family.IPV4 else ipaddress.IPv6Address(host)
    except ValueError:
        _refuse_other_family(host, family)
        if _HOSTNAME.match(host) and not host.replace(".", "").isdigit():
            prefix = _mask_to_prefix(mask, family) if slash else None
            return Address(None, host if prefix is None else f"{host}/{prefix}")
        raise ValueError(f"{text!r} is not an address, a network or a host name") from None
    prefix = _mask_to_prefix(mask, family) if slash else ip.max_prefixlen
    network = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return Address(network)


def single_address(text: str, family: Family) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if family is Family.IPV4:
        ip = dotted_quad(text)
        if ip is not None:
            return ipv4_address(ip)
    try:
        return ipaddress.IPv4Address(text) if family is Family.IPV4 else ipaddress.IPv6Address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an {family} address") from None


def address_range(text: str, family: Family) -> AddressRange:
    first, dash, last = text.partition("-")
    lo = single_address(first, family)
    hi = single_address(last, family) if dash else lo
    if hi < lo:
        raise ValueError(f"address range {text} is inverted")
    return AddressRange(lo, hi)


IFNAMSIZ = 16


def interface(text: str, family: Family) -> Interface:
    if len(text) >= IFNAMSIZ:
        raise ValueError(f"interface name {text!r} is longer than {IFNAMSIZ - 1} characters")
    if not text:
        raise ValueError("empty interface name")
    if any(c in text for c in " /") and text != "+":
        raise ValueError(f"{text!r} is not a valid interface name")
    return Interface(text)


def endpoint(text: str, family: Family) -> Endpoint:
    """NAT `--to-destination`/`--to-source`: `ADDR[-ADDR][:PORT[-PORT]]`, IPv6 in brackets."""
    ports: Range | None = None
    addresses: AddressRange | None = None
    if family is Family.IPV6:
        if text.startswith("["):
            close = text.find("]")
            if close < 0:
                raise ValueError(f"missing ']' in {text!r}")
            addr_text, rest = text[1:close], text[close + 1 :]
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"unexpected {rest!r} after the address in {text!r}")
                ports = _nat_ports(rest[1:])
        else:
            addr_text = text
        addresses = address_range(addr_text, family) if addr_text else None
    else:
        addr_text, colon, port_text = text.partition(":")
        if colon:
            ports = _nat_ports(port_text)
        addresses = address_range(addr_text, family) if addr_text else None
    if addresses is None and ports is None:
        raise ValueError(f"{text!r} gives neither an address nor a port")
    return Endpoint(addresses, ports)


def _nat_ports(text: str) -> Range:
    main = text.split("/")[0]  # `80-90/85`: base port of a shifted range
    first, dash, last = main.partition("-")
    lo = to_int(first, 0, 65535, "port")
    hi = to_int(last, 0, 65535, "port") if dash else lo
    if lo > hi:
        raise ValueError(f"port range {text} is inverted")
    return Range(lo, hi)


# ---------------------------------------------------------------------------------------
# Marks, rates, flags
# ---------------------------------------------------------------------------------------


def masked(bits: int = 32, what: str = "mark") -> Parser:
    limit = (1 << bits) - 1

    def parse(text: str, family: Family) -> Masked:
        value, slash, mask = text.partition("/")
        number = to_int(value, 0, limit, what)
        mask_number = to_int(mask, 0, limit, f"{what} mask") if slash else limit
        return Masked(number, mask_number)

    parse.__name__ = f"masked_{bits}"
    return parse


mark = masked(32)

_RATE_UNITS = (("second", 1), ("minute", 60), ("hour", 3600), ("day", 86400))


def rate(text: str, family: Family) -> Rate:
    """`3/min`, `10/second`, `5` (per second); any prefix of the unit is accepted, as iptables does."""
    count_text, slash, unit = text.partition("/")
    count = to_int(count_text, 1, 0xFFFFFFFF, "rate")
    if not slash:
        return Rate(count, 1, "second")
    for name, seconds in _RATE_UNITS:
        if unit and name.startswith(unit.lower()):
            return Rate(count, seconds, name)
    raise ValueError(f"rate unit {unit!r} is not second, minute, hour or day")


TCP_FLAG_NAMES = ("FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR")


def tcp_flag_set(text: str, family: Family) -> frozenset[str]:
    if text.upper() == "ALL":
        return frozenset(TCP_FLAG_NAMES)
    if text.upper() == "NONE":
        return frozenset()
    flags = []
    for item in text.split(","):
        name = item.upper()
        if name == "ALL":
            flags.extend(TCP_FLAG_NAMES)
        elif name == "NONE":
            continue
        elif name in TCP_FLAG_NAMES:
            flags.append(name)
        else:
            raise ValueError(f"unknown TCP flag {item!r}")
    return frozenset(flags)


def tcp_flags(texts: tuple[str, str], family: Family) -> TcpFlags:
    mask, comp = texts
    return TcpFlags(tcp_flag_set(mask, family), tcp_flag_set(comp, family))


CT_STATES = ("INVALID", "NEW", "ESTABLISHED", "RELATED", "UNTRACKED", "SNAT", "DNAT")
conntrack_states = name_list(*CT_STATES, what="conntrack state")


# ---------------------------------------------------------------------------------------
# Ranges read as iptables 1.8.9's generic option parser reads them
# ---------------------------------------------------------------------------------------


def port_range_as_written(text: str, family: Family) -> Range:
    """A port range as XTTYPE_PORTRC reads it in iptables 1.8.9 (udp, dccp, conntrack ports).

    Ports go through getaddrinfo(): numbers are decimal (`010` is 10, `0x10` is no port),
    names are services.  `4:3` is kept: 1.8.9 loads it and the rule never matches
    (`Range.lo > Range.hi`, an empty range); 1.8.11 refuses it.  tcp and sctp use their
    own parser, which refuses it in every version: they take `port_range`.
    """
    if ":" not in text:
        number = _getaddrinfo_port(text)
        return Range(number, number)
    first, _, last = text.partition(":")
    if ":" in last:
        raise ValueError(f"port range {text!r} has more than two parts")
    return Range(_getaddrinfo_port(first) if first else 0, _getaddrinfo_port(last) if last else 65535)


def _getaddrinfo_port(text: str) -> int:
    # 1.8.9 silently wraps a number above 65535 (70000 loads as 4464): refused here.
    if text.isascii() and text.isdigit():
        number = int(text, 10)
        if number > 65535:
            raise ValueError(f"port {text} is out of range 0-65535")
        return number
    if text in SERVICES:
        return SERVICES[text]
    raise ValueError(f"port {text!r} is neither a decimal number nor a known service name")


def uint_range_as_written(lo: int = 0, hi: int = 0xFFFFFFFF, what: str = "value") -> Parser:
    """`N`, `A:B`, `:B`, `A:`, `:` as XTTYPE_UINT*RC reads it in iptables 1.8.9: A may exceed B.

    The range is then empty and the rule never matches; 1.8.11 refuses it.
    """

    def parse(text: str, family: Family) -> Range:
        if ":" not in text:
            number = to_int(text, lo, hi, what)
            return Range(number, number)
        first, _, last = text.partition(":")
        if ":" in last:
            raise ValueError(f"{what} range {text!r} has more than two parts")
        return Range(to_int(first, lo, hi, what) if first else lo, to_int(last, lo, hi, what) if last else hi)

    parse.__name__ = f"uint_range_as_written_{lo}_{hi}"
    return parse


def _refuse_other_family(host: str, family: Family) -> None:
    """ValueError when `host` is an address of the other family (said before any mask is read)."""
    other = ipaddress.IPv6Address if family is Family.IPV4 else ipaddress.IPv4Address
    try:
        other(host)
    except ValueError:
        return
    message = f"{host} is an {'IPv6' if family is Family.IPV4 else 'IPv4'} address in an {family} ruleset"
    raise ValueError(message) from None
