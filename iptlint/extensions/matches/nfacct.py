"""nfacct: count the packet in a named nfacct accounting object (libxt_nfacct).

    -m nfacct --nfacct-name http-in

`--nfacct-name NAME` (no newline; iptables cuts it to 31 bytes).  The object must exist when the
ruleset is loaded (`nfacct add NAME`): `iptables-restore --test` cannot see that, a real
restore fails without it.  kube-proxy uses it.
"""

from iptlint.extensions.spec import Extension, opt


def accounting_name(text: str, family) -> str:
    if not text:
        raise ValueError("the accounting object name is empty")
    if "\n" in text:
        raise ValueError("the accounting object name holds a newline")
    return text


EXTENSION = Extension(
    name="nfacct",
    kind="match",
    summary="nfacct accounting object",
    options=(opt("--nfacct-name", accounting_name, required=True),),
)
