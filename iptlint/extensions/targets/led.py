"""LED: blink an LED trigger named `netfilter-ID` when packets hit the rule (libxt_LED).

    -A INPUT -p tcp -m tcp --dport 22 -j LED --led-trigger-id ssh --led-delay 100

`--led-trigger-id ID` (required, at most 16 characters), `--led-delay MS` (or `inf`, the
LED stays on), `--led-always-blink`.  Not terminal.  Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_LED.c (LED_opts: .max = sizeof(id) -
# sizeof("netfilter-") = 16; LED_parse: "inf" prefix or a number); kernel
# net/netfilter/xt_LED.c (no .table, no .hooks).

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

MAX_ID = 16


def led_delay(text: str, family) -> int | None:
    """Milliseconds, or None for `inf` (any word starting with it, any case)."""
    if text[:3].lower() == "inf":
        return None
    return v.to_int(text, 0, 0xFFFFFFFF, "LED delay")


EXTENSION = Extension(
    name="LED",
    kind="target",
    summary="blink an LED",
    options=(
        opt("--led-trigger-id", v.string(MAX_ID, "LED trigger id"), required=True),
        opt("--led-delay", led_delay),
        opt("--led-always-blink"),
    ),
)
