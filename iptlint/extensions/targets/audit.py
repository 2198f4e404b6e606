"""AUDIT: send an audit record about the packet to the audit subsystem (libxt_AUDIT).

    -A INPUT -j AUDIT --type drop

`--type accept|drop|reject` (required, any case): what the record says happened; the
target itself does not accept or drop, so a verdict rule usually follows.  Not terminal.
Valid in every table and chain.
"""

# Sources: iptables 1.8.9 extensions/libxt_AUDIT.c (audit_opts, audit_parse uses
# strcasecmp); kernel net/netfilter/xt_AUDIT.c (no .table, no .hooks), checked by loading.

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="AUDIT",
    kind="target",
    summary="write an audit record",
    options=(opt("--type", v.choice("accept", "drop", "reject", what="audit type", fold=True), required=True),),
)
