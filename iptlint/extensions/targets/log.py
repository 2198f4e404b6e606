"""LOG: write a kernel log line about the packet, then go on with the next rule (libxt_LOG).

    -A INPUT -m limit --limit 3/min -j LOG --log-prefix "[UFW BLOCK] " --log-level 4

`--log-level` 0-7 or a syslog name (emerg, alert, crit, error, warning, notice, info,
debug, panic; iptables-save prints the number), `--log-prefix` (at least one character,
no newline; the kernel keeps 29 bytes and iptables cuts longer prefixes without a word),
and the flags `--log-tcp-sequence`, `--log-tcp-options`, `--log-ip-options`, `--log-uid`,
`--log-macdecode`.  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_LOG.c (LOG_opts, LOG_parse) and
# libxtables/xtoptions.c (xtopt_parse_sysloglevel, xtopt_parse_string); kernel
# net/netfilter/xt_LOG.c (no .table, no .hooks), checked by loading in a namespace.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

PREFIX_BYTES = 29  # sizeof(struct xt_log_info.prefix) - 1

# xtopt_parse_sysloglevel: names compared with strcmp (lower case only).
LEVELS = {
    "emerg": 0, "panic": 0, "alert": 1, "crit": 2, "error": 3,
    "warning": 4, "notice": 5, "info": 6, "debug": 7,
}  # fmt: skip


def log_level(text: str, family) -> int:
    """A syslog level: a number 0-7 or its name; the value is the number iptables-save prints."""
    if text in LEVELS:
        return LEVELS[text]
    try:
        return v.to_int(text, 0, 7, "log level")
    except ValueError:
        raise ValueError(f"log level {text!r} is unknown: use 0-7 or {', '.join(LEVELS)}") from None


def log_prefix(text: str, family) -> str:
    """A log prefix: not empty, no newline."""
    if not text:
        raise ValueError("the prefix must have at least one character")
    if "\n" in text:
        raise ValueError("newlines are not allowed in a log prefix")
    return text


EXTENSION = Extension(
    name="LOG",
    kind="target",
    summary="log the packet to the kernel log",
    options=(
        opt("--log-level", log_level),
        opt("--log-prefix", log_prefix),
        opt("--log-tcp-sequence"),
        opt("--log-tcp-options"),
        opt("--log-ip-options"),
        opt("--log-uid"),
        opt("--log-macdecode"),
    ),
)
