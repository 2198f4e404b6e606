"""nfacct: count the packet in a named nfacct accounting object (libxt_nfacct).

    -m nfacct --nfacct-name http-in

`--nfacct-name NAME` (1-31 characters, no newline).  The object must exist when the
ruleset is loaded (`nfacct add NAME`): `iptables-restore --test` cannot see that, a real
restore fails without it.  kube-proxy uses it.
"""

from iptlint.extensions.spec import Extension, opt

NAME_MAX = 31  # NFACCT_NAME_MAX - 1


def accounting_name(text: str, family) -> str:
    if not text:
        raise ValueError("the accounting object name is empty")
    if "\n" in text:
        raise ValueError("the accounting object name holds a newline")
    if len(text.encode()) > NAME_MAX:
        raise ValueError(f"accounting object name {text!r} is longer than {NAME_MAX} bytes")
    return text


EXTENSION = Extension(
    name="nfacct",
    kind="match",
    summary="nfacct accounting object",
    options=(opt("--nfacct-name", accounting_name, required=True),),
)
