"""SECMARK: give the packet an SELinux security context (libxt_SECMARK).

    -A INPUT -p tcp -m tcp --dport 22 -j SECMARK --selctx system_u:object_r:ssh_packet_t:s0

`--selctx CONTEXT` (required).  The kernel checks the context against the loaded SELinux
policy: without SELinux the rule does not load.  Not terminal.  Valid in the mangle and
security tables.
"""

# Sources: iptables 1.8.9 extensions/libxt_SECMARK.c (XTOPT_MAND, secctx[256]); kernel
# net/netfilter/xt_SECMARK.c (secmark_tg_check: only "mangle" or "security").

from iptlint.extensions.spec import Extension, opt
from iptlint.syntax import values as v

EXTENSION = Extension(
    name="SECMARK",
    kind="target",
    summary="set the SELinux security context",
    tables=("mangle", "security"),
    options=(opt("--selctx", v.string(), required=True),),
)
