"""What each match and target module prints in `iptables -L`, read back into `iptables-save` words.

A listing rule ends with the text of each match module (`tcp dpt:80`, `ctstate NEW`,
`/* comment */`), then the target's (`to:172.17.0.2:80`, `reject-with ...`): the `print`
functions of iptables' `extensions/libxt_*.c`.  Each reader here takes the text after the
previous module and returns the `-m NAME --option value` words iptables-save writes for
that module, in iptables-save's order, with the text left; `read_matches` chains them and
`read_target` reads the target's part.  Used by iptlint/syntax/formats.py.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

# ---------------------------------------------------------------------------------------

Reader = Callable[[str, "str | None"], "tuple[list[str], str] | None"]

_PORT = r"[\w.-]+"


def _service(port: str, protocol: str | None) -> str:
    if port.isdigit():
        return port
    import socket  # only listings name ports: a save never needs it

    try:
        return str(socket.getservbyname(port, protocol or "tcp"))
    except OSError:
        return port


def _ports(value: str, protocol: str | None) -> str:
    return ":".join(_service(p, protocol) for p in value.split(":"))


def _take(pattern: str, text: str) -> re.Match | None:
    """`pattern` at the start of `text` (after blanks), ending at a blank or the end."""
    return _anchored(pattern).match(text)


@functools.cache
def _anchored(pattern: str) -> re.Pattern:
    return re.compile(r"\s*(?:" + pattern + r")(?=\s|$)")


_TCP_FLAGS = (("FIN", 0x01), ("SYN", 0x02), ("RST", 0x04), ("PSH", 0x08), ("ACK", 0x10), ("URG", 0x20))


def _flag_names(value: str) -> str:
    if not value.lower().startswith("0x"):
        return value
    bits = int(value, 16)
    names = [name for name, bit in _TCP_FLAGS if bits & bit]
    return ",".join(names) if names else "NONE"


def _read_tcp_udp(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    head = _take(r"(tcp|udp|sctp|dccp)", text)
    if head is None:
        return None
    module = head.group(1)
    words = ["-m", module]
    text = text[head.end() :]
    for label, option in (("spt", "--sport"), ("dpt", "--dport")):
        found = _take(label + r"s?:(!?)(" + _PORT + r"(?::" + _PORT + r")?)", text)
        if found and found.group(2) == "0:65535":  # `! --sport :`, which iptables-save leaves out
            text = text[found.end() :]
        elif found:
            words += (["!"] if found.group(1) else []) + [option, _ports(found.group(2), module)]
            text = text[found.end() :]
    if module == "sctp":
        found = _take(r"(!\s)?(any|all|only) (NONE|ALL|[\w:,]+)", text)
        if found:
            chunks = ",".join(_sctp_chunk(chunk) for chunk in found.group(3).split(","))
            words += (["!"] if found.group(1) else []) + ["--chunk-types", found.group(2), chunks]
            text = text[found.end() :]
    if module == "dccp":
        found = _take(r"(!\s)?([\d,]+|[A-Z,]+)", text)
        if found:
            words += (["!"] if found.group(1) else []) + ["--dccp-types", _dccp_types(found.group(2))]
            text = text[found.end() :]
        found = _take(r"option=(!?)(\d+)", text)
        if found:
            words += (["!"] if found.group(1) else []) + ["--dccp-option", found.group(2)]
            text = text[found.end() :]
    if module == "tcp":
        found = _take(r"option=(!?)(\d+)", text)
        if found:
            words += (["!"] if found.group(1) else []) + ["--tcp-option", found.group(2)]
            text = text[found.end() :]
        found = _take(r"flags:(!?)([\w,]+)/([\w,]+)", text)
        if found:
            mask, compare = _flag_names(found.group(2)), _flag_names(found.group(3))
            words += (["!"] if found.group(1) else []) + ["--tcp-flags", mask, compare]
            text = text[found.end() :]
    return words, text


# SCTP chunk types by number (`-n` prints `0x0000`), named as iptables-save names them.
_SCTP_CHUNKS = {
    0: "DATA", 1: "INIT", 2: "INIT_ACK", 3: "SACK", 4: "HEARTBEAT", 5: "HEARTBEAT_ACK", 6: "ABORT",
    7: "SHUTDOWN", 8: "SHUTDOWN_ACK", 9: "ERROR", 10: "COOKIE_ECHO", 11: "COOKIE_ACK", 12: "ECN_ECNE",
    13: "ECN_CWR", 14: "SHUTDOWN_COMPLETE", 64: "I_DATA", 128: "ASCONF_ACK", 130: "RE_CONFIG", 132: "PAD",
    192: "FORWARD_TSN", 193: "ASCONF", 194: "I_FORWARD_TSN",
}  # fmt: skip


_DCCP_TYPES = ("REQUEST", "RESPONSE", "DATA", "ACK", "DATAACK", "CLOSEREQ", "CLOSE", "RESET", "SYNC", "SYNCACK")


def _dccp_types(text: str) -> str:
    """`0,1,10,11` (-n) -> `REQUEST,RESPONSE,INVALID`: types 10 and up are all INVALID."""
    names = []
    for item in text.split(","):
        name = (_DCCP_TYPES[int(item)] if int(item) < len(_DCCP_TYPES) else "INVALID") if item.isdigit() else item
        if name not in names:
            names.append(name)
    return ",".join(names)


def _sctp_chunk(text: str) -> str:
    """`0x0000:Ie` -> `DATA:Ie`; names (listed without -n) and NONE/ALL stay."""
    number, _, flags = text.partition(":")
    if number.lower().startswith("0x"):
        number = _SCTP_CHUNKS.get(int(number, 16), number)
    return f"{number}:{flags}" if flags else number


def _read_icmp(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"icmp\s*(!?)\s*type (\d+)(?: code (\d+)| codes (\d+)-(\d+))?", text)
    if found:
        value = found.group(2) + (f"/{found.group(3)}" if found.group(3) else "")
        value = "any" if value == "255/255" else value  # what iptables-save writes for it
        words = ["-m", "icmp"] + (["!"] if found.group(1) else []) + ["--icmp-type", value]
        return words, text[found.end() :]
    found = _take(r"icmp(?: (!?)([a-z-]+))?", text)
    if found and found.group(2) not in ("any",):
        if found.group(2) is None:
            return ["-m", "icmp"], text[found.end() :]
        return ["-m", "icmp"] + (["!"] if found.group(1) else []) + ["--icmp-type", found.group(2)], text[found.end() :]
    return None


def _read_icmp6(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"ipv6-icmp\s*(!?)\s*type (\d+)(?: code (\d+)| codes (\d+)-(\d+))?", text)
    if found:
        value = found.group(2) + (f"/{found.group(3)}" if found.group(3) else "")
        words = ["-m", "icmp6"] + (["!"] if found.group(1) else []) + ["--icmpv6-type", value]
        return words, text[found.end() :]
    found = _take(r"ipv6-icmp (!?)([a-z-]+)", text)
    if found:
        return ["-m", "icmp6"] + (["!"] if found.group(1) else []) + ["--icmpv6-type", found.group(2)], text[
            found.end() :
        ]
    return None


def _read_multiport(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"multiport (sports|dports|ports)\s+(!?)\s*([\w.:,-]+)", text)
    if found is None:
        return None
    ports = ",".join(_ports(p, protocol) for p in found.group(3).split(","))
    words = ["-m", "multiport"] + (["!"] if found.group(2) else []) + [f"--{found.group(1)}", ports]
    return words, text[found.end() :]


_CT_KEYS = (
    "state", "ctstate", "ctproto", "ctorigsrc", "ctorigdst", "ctreplsrc", "ctrepldst", "ctorigsrcport",
    "ctorigdstport", "ctreplsrcport", "ctrepldstport", "ctstatus", "ctexpire", "ctdir",
)  # fmt: skip


def _read_conntrack(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    words: list[str] = []
    seen: set[str] = set()
    module = None
    while True:
        found = _take(r"(!\s+)?(" + "|".join(_CT_KEYS) + r")\s+(!?)(\S+)", text)
        if found is None or found.group(2) in seen:
            break
        key = found.group(2)
        this_module = "state" if key == "state" else "conntrack"
        if module is not None and this_module != module:
            break
        module = this_module
        seen.add(key)
        negated = bool(found.group(1) or found.group(3))
        words += (["!"] if negated else []) + [f"--{key}", found.group(4)]
        text = text[found.end() :]
    if module is None:
        return None
    return ["-m", module, *words], text


def _read_addrtype(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    head = _take(r"ADDRTYPE match", text)
    if head is None:
        return None
    words = ["-m", "addrtype"]
    text = text[head.end() :]
    for label, option in (("src-type", "--src-type"), ("dst-type", "--dst-type")):
        found = _take(label + r"\s*(!?)\s*([\w,]+)", text)
        if found:
            words += (["!"] if found.group(1) else []) + [option, found.group(2)]
            text = text[found.end() :]
    for label, option in (("limit-in", "--limit-iface-in"), ("limit-out", "--limit-iface-out")):
        found = _take(label, text)
        if found:
            words.append(option)
            text = text[found.end() :]
    return words, text


def _read_comment(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = re.match(r"\s*/\* (.*?) \*/(?=\s|$)", text, re.S)
    if found is None:
        return None
    return ["-m", "comment", "--comment", found.group(1)], text[found.end() :]


def _read_limit(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"limit: avg (\S+) burst (\d+)", text)
    if found is None or _take(r"mode", text[found.end() :]):
        return None
    words = ["-m", "limit", "--limit", found.group(1)]
    if found.group(2) != "5":
        words += ["--limit-burst", found.group(2)]
    return words, text[found.end() :]


def _read_hashlimit(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"limit: (above|up to|avg) (\S+)", text)
    if found is None:
        return None
    rest = text[found.end() :]
    option = "--hashlimit-above" if found.group(1) == "above" else "--hashlimit-upto"
    words = ["-m", "hashlimit", option, found.group(2)]
    burst = _take(r"burst (\d+)", rest)
    if burst:
        if burst.group(1) != "5":
            words += ["--hashlimit-burst", burst.group(1)]
        rest = rest[burst.end() :]
    mode = _take(r"mode(?: ([\w,-]+))?", rest)
    if mode is None and found.group(1) == "avg":
        return None
    if mode:
        if mode.group(1):
            words += ["--hashlimit-mode", mode.group(1)]
        rest = rest[mode.end() :]
    words += ["--hashlimit-name", "unknown"]
    for label in ("htable-size", "htable-max", "htable-gcinterval", "htable-expire", "srcmask", "dstmask"):
        item = _take(label + r" (\d+)", rest)
        if item:
            words += [f"--hashlimit-{label}", item.group(1)]
            rest = rest[item.end() :]
    return words, rest


def _read_mark(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"(mark|connmark) match\s*(!?)\s*(0x[0-9a-f]+(?:/0x[0-9a-f]+)?)", text)
    if found is None:
        return None
    words = ["-m", found.group(1)] + (["!"] if found.group(2) else []) + ["--mark", found.group(3)]
    return words, text[found.end() :]


def _read_owner(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    words: list[str] = []
    labels = (("owner UID match", "--uid-owner"), ("owner GID match", "--gid-owner"))
    while True:
        for label, option in labels:
            found = _take(r"(!\s*)?" + label + r" (\S+)", text)
            if found:
                words += (["!"] if found.group(1) else []) + [option, _owner_id(option, found.group(2))]
                text = text[found.end() :]
                break
        else:
            found = _take(r"(!\s*)?owner socket exists", text)
            if found:
                words += (["!"] if found.group(1) else []) + ["--socket-exists"]
                text = text[found.end() :]
                continue
            found = _take(r"incl\. suppl\. groups", text)
            if found:
                words.append("--suppl-groups")
                text = text[found.end() :]
                continue
            break
    return (["-m", "owner", *words], text) if words else None


def _owner_id(option: str, name: str) -> str:
    """A user or group name (listed without -n) as its number in this host's databases."""
    if name.replace("-", "").isdigit():
        return name
    try:
        if option == "--uid-owner":
            import pwd

            return str(pwd.getpwnam(name).pw_uid)
        import grp

        return str(grp.getgrnam(name).gr_gid)
    except (KeyError, ImportError):
        return name


_TTL = {"==": ("", "--ttl-eq"), "!=": ("!", "--ttl-eq"), "<": ("", "--ttl-lt"), ">": ("", "--ttl-gt")}


def _read_simple(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """Modules printed as one phrase with one value."""
    found = _take(r"TTL match TTL (==|!=|<|>) (\d+)", text)
    if found:
        negated, option = _TTL[found.group(1)]
        return ["-m", "ttl"] + ([negated] if negated else []) + [option, found.group(2)], text[found.end() :]
    found = _take(r"PKTTYPE (!?)= (\S+)", text)
    if found:
        return ["-m", "pkttype"] + (["!"] if found.group(1) else []) + ["--pkt-type", found.group(2)], text[
            found.end() :
        ]
    found = _take(r"MAC (!\s*)?([0-9A-Fa-f:]{17})", text)
    if found:
        words = ["-m", "mac"] + (["!"] if found.group(1) else []) + ["--mac-source", found.group(2).upper()]
        return words, text[found.end() :]
    found = _take(r"(source|destination) IP range (!?)\s*(\S+)", text)
    if found:
        option = "--src-range" if found.group(1) == "source" else "--dst-range"
        words = ["-m", "iprange"] + (["!"] if found.group(2) else []) + [option, found.group(3)]
        rest = text[found.end() :]
        second = _take(r"destination IP range (!?)\s*(\S+)", rest)
        if second and option == "--src-range":
            words += (["!"] if second.group(1) else []) + ["--dst-range", second.group(2)]
            rest = rest[second.end() :]
        return words, rest
    found = _take(r"length (!?)(\d+(?::\d+)?)", text)
    if found:
        return ["-m", "length"] + (["!"] if found.group(1) else []) + ["--length", found.group(2)], text[found.end() :]
    found = _take(r"helper match (!?)\s*\"([^\"]*)\"", text)
    if found:
        return ["-m", "helper"] + (["!"] if found.group(1) else []) + ["--helper", found.group(2)], text[found.end() :]
    found = _take(r"(!\s*)?match-set (\S+) ([a-z,]+)", text)
    if found:
        words = ["-m", "set"] + (["!"] if found.group(1) else []) + ["--match-set", found.group(2), found.group(3)]
        return words, text[found.end() :]
    found = _take(r"DSCP match (!?)(0x[0-9a-f]+)", text)
    if found:
        return ["-m", "dscp"] + (["!"] if found.group(1) else []) + ["--dscp", found.group(2)], text[found.end() :]
    return None


def _read_physdev(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    head = _take(r"PHYSDEV match", text)
    if head is None:
        return None
    words = ["-m", "physdev"]
    rest = text[head.end() :]
    while True:
        found = _take(r"(!\s+)?(--physdev-is-(?:in|out|bridged)|--physdev-(?:in|out) \S+)", rest)
        if found is None:
            break
        words += (["!"] if found.group(1) else []) + found.group(2).split()
        rest = rest[found.end() :]
    return words, rest


def _read_policy(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    head = _take(r"policy match", text)
    if head is None:
        return None
    words = ["-m", "policy"]
    rest = text[head.end() :]
    while True:
        found = _take(r"(!\s+)?(dir \w+|pol \w+|strict|\[\d+\]|reqid \d+|spi 0x[0-9a-f]+|proto \w+|mode \w+|"
                      r"tunnel-(?:src|dst) \S+|next)", rest)  # fmt: skip
        if found is None:
            break
        item = found.group(2)
        if item.startswith("[") and item != "[0]":  # the next element of the policy
            words.append("--next")
        elif not item.startswith("["):
            key, _, value = item.partition(" ")
            words += (["!"] if found.group(1) else []) + [f"--{key}", *([value] if value else [])]
        rest = rest[found.end() :]
    return words, rest


def _read_recent(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    head = _take(r"(!\s*)?recent:", text)
    if head is None:
        return None
    rest = text[head.end() :]
    negated = ["!"] if head.group(1) else []
    words = ["-m", "recent"]
    side: list[str] = []
    commands = {"SET": "--set", "CHECK": "--rcheck", "UPDATE": "--update", "REMOVE": "--remove"}
    found = _take(r"(SET|CHECK|UPDATE|REMOVE)", rest)
    if found:
        words += [*negated, commands[found.group(1)]]
        rest = rest[found.end() :]
    for pattern, option in (
        (r"seconds: (\d+)", "--seconds"),
        (r"reap", "--reap"),
        (r"hit_count: (\d+)", "--hitcount"),
        (r"TTL-Match", "--rttl"),
        (r"name: (\S+)", "--name"),
        (r"side: (source|dest)", None),
        (r"mask: (\S+)", "--mask"),
    ):
        item = _take(pattern, rest)
        if item is None:
            continue
        if option is None:  # iptables-save writes the side last
            side = ["--rsource" if item.group(1) == "source" else "--rdest"]
        else:
            words += [option, *item.groups()]
        rest = rest[item.end() :]
    return words + side, rest


def _read_statistic(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"statistic mode random\s*(!?)\s*probability (\S+)", text)
    if found:
        words = ["-m", "statistic", "--mode", "random"] + (["!"] if found.group(1) else []) + ["--probability"]
        return [*words, found.group(2)], text[found.end() :]
    found = _take(r"statistic mode nth\s*(!?)\s*every (\d+)(?: packet (\d+))?", text)
    if found:
        words = ["-m", "statistic", "--mode", "nth"] + (["!"] if found.group(1) else []) + ["--every", found.group(2)]
        if found.group(3):
            words += ["--packet", found.group(3)]
        return words, text[found.end() :]
    return None


def _read_spi(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """esp, ah and ipcomp: ` esp spi:N`, ` ah spis:!N:M`, ` comp spi:N reserved`."""
    found = _take(r"(esp|ah|comp)(?:\s+spis?:(!?)(\d+(?::\d+)?))?", text)
    if found is None:
        return None
    module = {"comp": "ipcomp"}.get(found.group(1), found.group(1))
    words = ["-m", module]
    if found.group(3) and found.group(3) != "0:4294967295":  # a full range: iptables-save leaves it out
        words += (["!"] if found.group(2) else []) + [f"--{module}spi", found.group(3)]
    rest = text[found.end() :]
    extra = _take(r"reserved", rest)
    if extra:
        words.append("--compres" if module == "ipcomp" else "--ahres")
        rest = rest[extra.end() :]
    return words, rest


# Modules printed as `NAME [!]VALUE`-like phrases: (pattern, module, option).  The pattern's
# groups are the inversion mark and the value.
_PHRASES = (
    (r"tos match\s*(!?)\s*(0x[0-9a-f]+(?:/0x[0-9a-f]+)?)", "tos", "--tos"),
    (r"tcpmss match\s*(!?)(\d+(?::\d+)?)", "tcpmss", "--mss"),
    (r"cgroup (!\s)?(\d+)", "cgroup", "--cgroup"),
    (r"cgroup (!\s)?(/\S*)", "cgroup", "--path"),
    (r"cpu (!\s)?(\d+)", "cpu", "--cpu"),
    (r"quota: (!?)(\d+) bytes", "quota", "--quota"),
    (r"realm (!?)\s*(0x[0-9a-f]+(?:/0x[0-9a-f]+)?)", "realm", "--realm"),
    (r"connlabel(\s!)? (\d+|'[^']*')(?! set)", "connlabel", "--label"),
    (r'u32(\s!)? "([^"]*)"', "u32", "--u32"),
    (r"mh (!?)(\d+(?::\d+)?|[a-z-]+)", "mh", "--mh-type"),
)


def _read_phrase(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    found = _take(r"connlabel(\s!)? (\d+|'[^']*') set", text)
    if found:
        words = (
            ["-m", "connlabel"] + (["!"] if found.group(1) else []) + ["--label", found.group(2).strip("'"), "--set"]
        )
        return words, text[found.end() :]
    found = _take(r"ECN match((?: !?(?:ECE|CWR|ECT=\d))+)", text)
    if found:
        words = ["-m", "ecn"]
        for item in found.group(1).split():
            negated, name = item.startswith("!"), item.lstrip("!")
            option = ["--ecn-ip-ect", name[4:]] if name.startswith("ECT=") else [f"--ecn-tcp-{name.lower()}"]
            words += (["!"] if negated else []) + option
        return words, text[found.end() :]
    for pattern, module, option in _PHRASES:
        found = _take(pattern, text)
        if found:
            value = found.group(2).strip("'")
            if module == "mh" and value == "0:255":  # every type: iptables-save leaves it out
                return ["-m", module], text[found.end() :]
            return ["-m", module] + (["!"] if found.group(1) else []) + [option, value], text[found.end() :]
    return None


def _read_flags_module(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """Modules printed as their name and flag words: socket, rpfilter, bare mh."""
    for module, flags in (
        ("socket", ("transparent", "nowildcard", "restore-skmark")),
        ("rpfilter", ("loose", "validmark", "accept-local", "invert")),
        ("mh", ()),
        ("eui64", ()),
    ):
        head = _take(module, text)
        if head is None:
            continue
        words, rest = ["-m", module], text[head.end() :]
        while (flag := _take("(?:--)?(" + ("|".join(flags) or "(?!)") + ")", rest)) is not None:
            words.append("--" + flag.group(1))
            rest = rest[flag.end() :]
        return words, rest
    return None


_HL = {"==": ("", "eq"), "!=": ("!", "eq"), "<": ("", "lt"), ">": ("", "gt")}


def _read_counts(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """connlimit (` #conn src/32 > 10`), connbytes, hl (` HL match HL == 42`)."""
    found = _take(r"#conn (src|dst)/(\d+) (>|<=) (\d+)", text)
    if found:
        side, mask, compare, count = found.groups()
        option = "--connlimit-above" if compare == ">" else "--connlimit-upto"
        words = ["-m", "connlimit", option, count, "--connlimit-mask", mask, f"--connlimit-{side[0]}addr"]
        return words, text[found.end() :]
    found = _take(r"(!\s)?connbytes (\d+(?::\d+)?) connbytes mode (\w+) connbytes direction (\w+)", text)
    if found:
        words = ["-m", "connbytes"] + (["!"] if found.group(1) else []) + ["--connbytes", found.group(2)]
        return [*words, "--connbytes-mode", found.group(3), "--connbytes-dir", found.group(4)], text[found.end() :]
    found = _take(r"HL match HL (==|!=|<|>) (\d+)", text)
    if found:
        negated, kind = _HL[found.group(1)]
        return ["-m", "hl"] + ([negated] if negated else []) + [f"--hl-{kind}", found.group(2)], text[found.end() :]
    return None


def _read_string(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """` STRING match !"pattern" ALGO name bm FROM 1 TO 2 ICASE` (escaped as iptables-save does)."""
    found = _take(
        r'STRING match (!?)\s*"((?:[^"\\]|\\.)*)" ALGO name (\w+)(?: FROM (\d+))?(?: TO (\d+))?( ICASE)?', text
    )
    if found is None:
        return None
    pattern = re.sub(r"\\(.)", r"\1", found.group(2))
    option = "--hex-string" if pattern.startswith("|") and pattern.endswith("|") and len(pattern) > 1 else "--string"
    words = ["-m", "string"] + (["!"] if found.group(1) else []) + [option, pattern, "--algo", found.group(3)]
    words += ["--from", found.group(4)] if found.group(4) else []
    words += ["--to", found.group(5)] if found.group(5) else []
    words += ["--icase"] if found.group(6) else []
    return words, text[found.end() :]


def _read_time(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """` TIME from 01:02:03 to 04:05:06 on Mon,Fri on 1st,2nd starting from D T until date D T UTC contiguous`."""
    head = _take(r"TIME", text)
    if head is None:
        return None
    rest = text[head.end() :]
    words = ["-m", "time"]
    found = _take(r"from (\S+) to (\S+)", rest)
    if found:
        words += ["--timestart", found.group(1), "--timestop", found.group(2)]
        rest = rest[found.end() :]
    weekdays = _take(r"on ([A-Z][a-z]{2}(?:,[A-Z][a-z]{2})*)", rest)
    if weekdays:
        rest = rest[weekdays.end() :]
    monthdays = _take(r"on (\d+(?:st|nd|rd|th)(?:,\d+(?:st|nd|rd|th))*)", rest)
    if monthdays:
        words += ["--monthdays", re.sub(r"(st|nd|rd|th)", "", monthdays.group(1))]
        rest = rest[monthdays.end() :]
    if weekdays:
        words += ["--weekdays", weekdays.group(1)]
    for label, option in (("starting from", "--datestart"), ("until date", "--datestop")):
        date = _take(label + r" (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)", rest)
        if date:
            words += [option, f"{date.group(1)}T{date.group(2)}"]
            rest = rest[date.end() :]
    utc = _take("UTC", rest)
    if utc:
        rest = rest[utc.end() :]
    else:
        words.append("--kerneltz")
    contiguous = _take("contiguous", rest)
    if contiguous:
        words.append("--contiguous")
        rest = rest[contiguous.end() :]
    return words, rest


# IPv6 extension headers: ` rt type:0 segslefts:1:23 length:!42 reserved`, ` frag ids:1:2 first`,
# ` hbh length:8 opts 149:92,12:12`: printed keys -> iptables-save options.
_EXTENSION_HEADERS = {
    "rt": {"type": "--rt-type", "segsleft": "--rt-segsleft", "length": "--rt-len", "reserved": "--rt-0-res",
           "0-not-strict": "--rt-0-not-strict"},
    "frag": {"id": "--fragid", "length": "--fraglen", "reserved": "--fragres", "first": "--fragfirst",
             "more": "--fragmore", "last": "--fraglast"},
    "hbh": {"length": "--hbh-len", "opts": "--hbh-opts"},
    "dst": {"length": "--dst-len", "opts": "--dst-opts"},
}  # fmt: skip
_FULL_RANGES = ("0:4294967295", "0:65535")


def _read_extension_header(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    head = _take(r"(rt|frag|hbh|dst)", text)
    if head is None:
        return None
    module = head.group(1)
    keys = _EXTENSION_HEADERS[module]
    words, rest = ["-m", module], text[head.end() :]
    while True:
        item = _take(r"([\w-]+)(?::(!?)(\S+)| (\d\S*))?", rest)
        word = item.group(1) if item else ""
        key = word if word in keys else word[:-1] if word.endswith("s") and word[:-1] in keys else None
        if key is None:
            return words, rest
        value = item.group(3) or item.group(4)
        if value is None:
            words.append(keys[key])
        elif value not in _FULL_RANGES:
            words += (["!"] if item.group(2) else []) + [keys[key], value]
        rest = rest[item.end() :]


def _read_bpf_cluster(text: str, protocol: str | None) -> tuple[list[str], str] | None:
    """` match bpf 48 0 0 9,21 0 1 6` (saved with its instruction count first) and
    ` cluster node_mask=0x2 total_nodes=2 hash_seed=0xfeedcafe`."""
    found = _take(r"match bpf ((?:\d+ \d+ \d+ \d+)(?:,\d+ \d+ \d+ \d+)*)", text)
    if found:
        program = found.group(1)
        return ["-m", "bpf", "--bytecode", f"{program.count(',') + 1},{program}"], text[found.end() :]
    found = _take(r"(!\s*)?cluster node_mask=(0x[0-9a-f]+) total_nodes=(\d+) hash_seed=(0x[0-9a-f]+)", text)
    if found:
        words = ["-m", "cluster"] + (["!"] if found.group(1) else []) + ["--cluster-local-nodemask", found.group(2)]
        words += ["--cluster-total-nodes", found.group(3), "--cluster-hash-seed", found.group(4)]
        return words, text[found.end() :]
    return None


MATCH_READERS: tuple[Reader, ...] = (
    _read_tcp_udp, _read_icmp, _read_icmp6, _read_multiport, _read_conntrack, _read_addrtype, _read_comment, _read_limit,
    _read_hashlimit, _read_mark, _read_owner, _read_simple, _read_physdev, _read_policy, _read_recent,
    _read_statistic, _read_spi, _read_phrase, _read_flags_module, _read_counts, _read_string, _read_time,
    _read_extension_header, _read_bpf_cluster,
)  # fmt: skip


def read_matches(text: str, protocol: str | None = None) -> tuple[list[list[str]], str]:
    """The `-m` words of each module printed at the start of `text`, and the text left."""
    modules: list[list[str]] = []
    while text.strip():
        for reader in MATCH_READERS:
            found = reader(text, protocol)
            if found is not None:
                words, text = found
                modules.append(words)
                break
        else:
            break
    return modules, text


# -- targets --------------------------------------------------------------------------------

_LOG_FLAGS = (
    (0x01, "--log-tcp-sequence"), (0x02, "--log-tcp-options"), (0x04, "--log-ip-options"), (0x08, "--log-uid"),
    (0x20, "--log-macdecode"),
)  # fmt: skip
_LOG_LEVELS = {
    "emerg": 0,
    "alert": 1,
    "crit": 2,
    "error": 3,
    "warning": 4,
    "warn": 4,
    "notice": 5,
    "info": 6,
    "debug": 7,
}
_LOG_WORDS = {"tcp-sequence": 0x01, "tcp-options": 0x02, "ip-options": 0x04, "uid": 0x08, "macdecode": 0x20}


def _target_log(text: str) -> tuple[list[str], str]:
    found = _take(r"LOG(?: flags (\d+) level (\d+)| level (\w+))", text)
    if found is None:
        return [], text
    rest = text[found.end() :]
    if found.group(1) is not None:
        flags, level = int(found.group(1)), int(found.group(2))
    else:
        flags, level = 0, _LOG_LEVELS.get(found.group(3), 4)
        while (word := _take(r"(tcp-sequence|tcp-options|ip-options|uid|macdecode)", rest)) is not None:
            flags |= _LOG_WORDS[word.group(1)]
            rest = rest[word.end() :]
    words: list[str] = []
    prefix = re.match(r'\s*prefix "(.*)"\s*$', rest, re.S)
    if prefix:
        words += ["--log-prefix", prefix.group(1)]
        rest = ""
    if level != 4:
        words += ["--log-level", str(level)]
    words += [option for bit, option in _LOG_FLAGS if flags & bit]
    return words, rest


def _target_nat(option: str) -> Callable[[str], tuple[list[str], str]]:
    def read(text: str) -> tuple[list[str], str]:
        words: list[str] = []
        while (found := _take(r"to:(\S+)", text)) is not None:
            words += [option, found.group(1)]
            text = text[found.end() :]
        return words + _nat_flags_words(text), _nat_flags_rest(text)

    return read


_NAT_FLAGS = (("random-fully", "--random-fully"), ("random", "--random"), ("persistent", "--persistent"))


def _nat_flags_words(text: str) -> list[str]:
    words = []
    while True:
        for label, option in _NAT_FLAGS:
            found = _take(label, text)
            if found:
                words.append(option)
                text = text[found.end() :]
                break
        else:
            return words


def _nat_flags_rest(text: str) -> str:
    while True:
        for label, _ in _NAT_FLAGS:
            found = _take(label, text)
            if found:
                text = text[found.end() :]
                break
        else:
            return text


def _target_ports(label: str) -> Callable[[str], tuple[list[str], str]]:
    def read(text: str) -> tuple[list[str], str]:
        found = _take(label + r" (\S+)", text)
        words: list[str] = []
        if found:
            words, text = ["--to-ports", found.group(1)], text[found.end() :]
        return words + _nat_flags_words(text), _nat_flags_rest(text)

    return read


def _target_mark(text: str) -> tuple[list[str], str]:
    found = _take(r"MARK (set|and|or|xor|xset) (0x[0-9a-f]+)(?:/(0x[0-9a-f]+))?", text)
    if found is None:
        return [], text
    kind, value, mask = found.group(1), int(found.group(2), 16), found.group(3)
    pairs = {
        "set": (value, 0xFFFFFFFF),
        "and": (0, ~value & 0xFFFFFFFF),
        "or": (value, value),
        "xor": (value, 0),
        "xset": (value, int(mask, 16) if mask else 0xFFFFFFFF),
    }
    mark, bits = pairs[kind]
    return ["--set-xmark", f"0x{mark:x}/0x{bits:x}"], text[found.end() :]


def _target_connmark(text: str) -> tuple[list[str], str]:
    found = _take(
        r"CONNMARK (restore|save)(?: mask (0x[0-9a-f]+)| (nfmask|ctmask) ~?(0x[0-9a-f]+) (nfmask|ctmask) ~?(0x[0-9a-f]+))?",
        text,
    )
    if found:
        masks = {"nfmask": found.group(2) or "0xffffffff", "ctmask": found.group(2) or "0xffffffff"}
        if found.group(3):
            masks = {found.group(3): found.group(4), found.group(5): found.group(6)}
        option = "--restore-mark" if found.group(1) == "restore" else "--save-mark"
        return [option, "--nfmask", masks["nfmask"], "--ctmask", masks["ctmask"]], text[found.end() :]
    found = _take(r"CONNMARK (xset|set|and|or|xor) (0x[0-9a-f]+)(?:/(0x[0-9a-f]+))?", text)
    if found:
        marked, _ = _target_mark("MARK " + text.strip()[len("CONNMARK ") :])
        return marked, text[found.end() :]
    return [], text


def _by_pattern(pattern: str, build: Callable[[re.Match], list[str]]) -> Callable[[str], tuple[list[str], str]]:
    def read(text: str) -> tuple[list[str], str]:
        found = _take(pattern, text)
        return (build(found), text[found.end() :]) if found else ([], text)

    return read


def _target_nflog(text: str) -> tuple[list[str], str]:
    words: list[str] = []
    while True:
        found = _take(r'nflog-(prefix) (?:"([^"]*)"|([^"\s]\S*))|nflog-(group|size|range|threshold) (\d+)', text)
        if found is None:
            return words, text
        key = found.group(1) or found.group(4)
        value = (found.group(2) if found.group(2) is not None else found.group(3)) if found.group(1) else found.group(5)
        words += [f"--nflog-{key}", value]
        text = text[found.end() :]


def _target_ct(text: str) -> tuple[list[str], str]:
    found = _take(r"NOTRACK|CT notrack", text)
    if found:
        return ["--notrack"], text[found.end() :]
    head = _take(r"CT", text)
    if head is None:
        return [], text
    words: list[str] = []
    rest = text[head.end() :]
    while (item := _take(r"(zone|helper|timeout|ctevents|expevents) (\S+)", rest)) is not None:
        words += [f"--{item.group(1)}", item.group(2)]
        rest = rest[item.end() :]
    return words, rest


_TTL_ACTIONS = {
    prefix: {"set to": f"{prefix}-set", "increment by": f"{prefix}-inc", "decrement by": f"{prefix}-dec"}
    for prefix in ("--ttl", "--hl")
}

TARGET_READERS: dict[str, Callable[[str], tuple[list[str], str]]] = {
    "REJECT": _by_pattern(r"reject-with (\S+)", lambda m: ["--reject-with", m.group(1)]),
    "LOG": _target_log,
    "DNAT": _target_nat("--to-destination"),
    "SNAT": _target_nat("--to-source"),
    "NETMAP": _by_pattern(r"to:(\S+)", lambda m: ["--to", m.group(1)]),
    "MASQUERADE": _target_ports("masq ports:"),
    "REDIRECT": _target_ports("redir ports"),
    "MARK": _target_mark,
    "CONNMARK": _target_connmark,
    "NFLOG": _target_nflog,
    "CT": _target_ct,
    "TCPMSS": _by_pattern(
        r"TCPMSS (clamp to PMTU|set (\d+))",
        lambda m: ["--set-mss", m.group(2)] if m.group(2) else ["--clamp-mss-to-pmtu"],
    ),
    "NFQUEUE": _by_pattern(
        r"NFQUEUE (?:num (\d+)|balance (\d+:\d+))( bypass)?( cpu-fanout)?",
        lambda m: (
            (["--queue-num", m.group(1)] if m.group(1) else ["--queue-balance", m.group(2)])
            + (["--queue-bypass"] if m.group(3) else [])
            + (["--queue-cpu-fanout"] if m.group(4) else [])
        ),
    ),
    "CHECKSUM": _by_pattern(r"CHECKSUM fill", lambda m: ["--checksum-fill"]),
    "CLASSIFY": _by_pattern(r"CLASSIFY set (\S+)", lambda m: ["--set-class", m.group(1)]),
    "DSCP": _by_pattern(r"DSCP set (0x[0-9a-f]+)", lambda m: ["--set-dscp", m.group(1)]),
    "TOS": _by_pattern(r"TOS set (\S+)", lambda m: ["--set-tos", m.group(1)]),
    "SET": _by_pattern(r"(add|del)-set (\S+) (\S+)", lambda m: [f"--{m.group(1)}-set", m.group(2), m.group(3)]),
    "AUDIT": _by_pattern(r"AUDIT (\w+)", lambda m: ["--type", m.group(1)]),
    "TPROXY": _by_pattern(
        r"TPROXY redirect (\S+):(\d+) mark (\S+)",
        lambda m: ["--on-port", m.group(2), "--on-ip", m.group(1), "--tproxy-mark", m.group(3)],
    ),
    "CONNSECMARK": _by_pattern(r"CONNSECMARK (save|restore)", lambda m: [f"--{m.group(1)}"]),
    "IDLETIMER": _by_pattern(
        r"timeout:(\d+) label:(\S+)( alarm)?",
        lambda m: ["--timeout", m.group(1), "--label", m.group(2)] + (["--alarm"] if m.group(3) else []),
    ),
    "RATEEST": _by_pattern(
        r"name (\S+) interval (\S+) ewmalog (\S+)",
        lambda m: ["--rateest-name", m.group(1), "--rateest-interval", m.group(2), "--rateest-ewmalog", m.group(3)],
    ),
    "SYNPROXY": _by_pattern(
        r"SYNPROXY( sack-perm)?( timestamp)?(?: wscale (\d+))?(?: mss (\d+))?( ecn)?",
        lambda m: (
            (["--sack-perm"] if m.group(1) else [])
            + (["--timestamp"] if m.group(2) else [])
            + (["--wscale", m.group(3)] if m.group(3) else [])
            + (["--mss", m.group(4)] if m.group(4) else [])
            + (["--ecn"] if m.group(5) else [])
        ),
    ),
    "ECN": _by_pattern(r"ECN TCP remove", lambda m: ["--ecn-tcp-remove"]),
    "TCPOPTSTRIP": _by_pattern(r"TCPOPTSTRIP options (\S+)", lambda m: ["--strip-options", m.group(1)]),
    "TEE": _by_pattern(
        r"TEE gw:(\S+)(?: oif=(\S+))?",
        lambda m: ["--gateway", m.group(1)] + (["--oif", m.group(2)] if m.group(2) else []),
    ),
    "TTL": _by_pattern(
        r"TTL (set to|increment by|decrement by) (\d+)", lambda m: [_TTL_ACTIONS["--ttl"][m.group(1)], m.group(2)]
    ),
    "HL": _by_pattern(
        r"HL (set to|increment by|decrement by) (\d+)", lambda m: [_TTL_ACTIONS["--hl"][m.group(1)], m.group(2)]
    ),
}


def read_target(target: str | None, text: str) -> tuple[list[str], str]:
    """The options of `target` printed in `text` (after the matches), and the text left."""
    reader = TARGET_READERS.get(target or "")
    if reader is None:
        return [], text
    return reader(text)
