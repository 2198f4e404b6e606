"""The codes of syntax diagnostics (S1xx): what the parser reports about a dump.

Each entry is documented like a check (what, why, an example, the fix); `iptlint rule
S1xx` prints it and the test suite parses every example.  Codes are stable: never
renumber or reuse one.
"""

from __future__ import annotations

from dataclasses import dataclass

from iptlint.findings import Severity


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    name: str
    severity: Severity
    summary: str
    why: str
    example: str  # a dump that produces the diagnostic
    fixed: str  # the same dump without it

    @property
    def doc(self) -> str:
        return (
            f"{self.summary}\n\n"
            f"## What it does\n{self.summary}\n\n"
            f"## Why it matters\n{self.why}\n\n"
            f"## Example\n```\n{self.example}```\n\n"
            f"## Use instead\n```\n{self.fixed}```\n"
        )


def _d(code, name, severity, summary, why, example, fixed) -> Diagnostic:
    return Diagnostic(code, name, severity, summary, why, example, fixed)


_OK = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
_E = Severity.ERROR
_W = Severity.WARNING

DIAGNOSTICS: dict[str, Diagnostic] = {
    d.code: d
    for d in (
        _d("S101", "invalid-encoding", _E, "The file is binary or not valid UTF-8 text.",
           "iptables-save writes text; binary data or a broken encoding usually means the wrong file "
           "was given, or a dump damaged in transit.",
           "*filter\n-A INPUT -m comment --comment \"caf\udce9\" -j ACCEPT\nCOMMIT\n",
           "*filter\n-A INPUT -m comment --comment \"cafe\" -j ACCEPT\nCOMMIT\n"),
        _d("S102", "syntax-error", _E, "A line is not a table header, chain, command, comment or COMMIT.",
           "iptables-restore stops at the first line it cannot read and loads nothing of that table.",
           "*filter\n:INPUT ACCEPT [0:0]\nINPUT -j ACCEPT\nCOMMIT\n", _OK),
        _d("S103", "line-outside-table", _E, "A chain, rule or COMMIT appears before any `*table` line.",
           "iptables-restore needs to know the table a line belongs to and rejects the file.",
           ":INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", _OK),
        _d("S104", "unknown-table", _E, "The `*table` line names a table that does not exist.",
           "Only raw, mangle, nat, filter and security exist; a Windows line end (`*nat\\r`) also makes an "
           "unknown name.",
           "*filters\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
        _d("S105", "missing-commit", _E, "A table is not closed by `COMMIT` before the next table or the end.",
           "iptables-restore applies a table only at its COMMIT: without it nothing of that table is loaded.",
           "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", _OK),
        _d("S106", "duplicate-chain", _E, "A chain is declared twice in the same table.",
           "The second declaration is rejected by iptables-restore (or silently merges rules meant apart).",
           "*filter\n:INPUT ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\nCOMMIT\n", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
        _d("S107", "duplicate-option", _E, "An option is given twice where it may appear only once.",
           "iptables rejects the rule (`multiple -s flags not allowed`, `option may only be specified once`).",
           "*filter\n-A INPUT -s 10.0.0.1 -s 10.0.0.2 -j ACCEPT\nCOMMIT\n",
           "*filter\n-A INPUT -s 10.0.0.1 -j ACCEPT\nCOMMIT\n"),
        _d("S108", "invalid-value", _E, "An option's value is malformed or out of range.",
           "iptables rejects the rule (`Bad value`, `Port ... out of range`); the rule never loads.",
           "*filter\n-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT\nCOMMIT\n", _OK),
        _d("S109", "unknown-option", _E, "An option no loaded module knows.",
           "iptables rejects the rule (`unknown option`). Often a `-m` is missing before the option.",
           "*filter\n-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n", _OK),
        _d("S110", "unknown-extension", _W, "A match or target module iptlint has no option table for.",
           "The rule is read generically: iptlint cannot check its values or know what it matches, and "
           "iptables rejects it where the module is not installed.",
           "*filter\n-A INPUT -m quota2 --name q -j ACCEPT\nCOMMIT\n",
           "*filter\n-A INPUT -m quota --quota 1000 -j ACCEPT\nCOMMIT\n"),
        _d("S111", "legacy-negation", _E, "Negation written after the option (`-s ! 10.0.0.0/8`).",
           "This form was removed in iptables 1.4.3; iptables 1.8 rejects it with `Bad argument`.",
           "*filter\n-A INPUT -s ! 10.0.0.0/8 -j DROP\nCOMMIT\n",
           "*filter\n-A INPUT ! -s 10.0.0.0/8 -j DROP\nCOMMIT\n"),
        _d("S113", "invalid-counters", _E, "Packet/byte counters are malformed.",
           "iptables-restore rejects counters that are not `[packets:bytes]` with two numbers.",
           "*filter\n:INPUT ACCEPT [0:0]\n[x:1] -A INPUT -j ACCEPT\nCOMMIT\n",
           "*filter\n:INPUT ACCEPT [0:0]\n[0:0] -A INPUT -j ACCEPT\nCOMMIT\n"),
        _d("S114", "missing-argument", _E, "An option or command lacks its value.",
           "iptables rejects the rule (`option requires an argument`).",
           "*filter\n-A INPUT -p tcp -j ACCEPT -m tcp --dport\nCOMMIT\n", _OK),
        _d("S115", "unexpected-argument", _E, "A word that belongs to no option.",
           "iptables rejects the rule (`Bad argument`); usually a value with a space that needs quotes, or "
           "a line broken by a paste.",
           "*filter\n-A INPUT -m comment --comment allow ssh -j ACCEPT\nCOMMIT\n",
           "*filter\n-A INPUT -m comment --comment \"allow ssh\" -j ACCEPT\nCOMMIT\n"),
        _d("S116", "invalid-negation", _E, "`!` before an option that cannot be negated.",
           "iptables rejects the rule (`unexpected ! flag`).",
           "*filter\n-A INPUT ! -j ACCEPT\nCOMMIT\n", "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n"),
        _d("S117", "incomplete-options", _E, "A module's options are missing or conflict with each other.",
           "iptables rejects the rule in the module's final check (for example `--syn` together with "
           "`--tcp-flags`, or `-m multiport` without `-p tcp`).",
           "*filter\n-A INPUT -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n",
           "*filter\n-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n"),
        _d("S118", "crlf-line-ending", _E, "The file has Windows (CRLF) line ends.",
           "iptables-restore keeps the `\\r` as part of the last word: `*nat\\r` is an unknown table and "
           "`ACCEPT\\r` an unknown target.",
           "*filter\r\n:INPUT ACCEPT [0:0]\r\nCOMMIT\r\n", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
        _d("S119", "stray-whitespace", _E, "A line of only blanks, `COMMIT ` with a trailing blank, or an "
           "indented `#`.",
           "iptables-restore 1.8.9 rejects these lines although they look harmless.",
           "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT \n", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
        _d("S120", "invalid-chain", _E, "A chain name is invalid, or a command names a chain that does not "
           "exist.",
           "iptables-restore rejects names longer than 28 characters, names starting with `-` or `!`, and "
           "rules for chains never created.",
           "*filter\n:INPUT ACCEPT [0:0]\n-A MISSING -j ACCEPT\nCOMMIT\n",
           "*filter\n:INPUT ACCEPT [0:0]\n:MISSING - [0:0]\n-A MISSING -j ACCEPT\nCOMMIT\n"),
        _d("S121", "empty-file", _W, "The file holds no table at all.",
           "An empty rules file loads nothing: if it is what a host restores at boot, the host has no "
           "firewall.",
           "# nothing here\n", "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n"),
        _d("S122", "not-a-dump", _E, "The file is a shell script of `iptables` commands, not a dump.",
           "iptlint reads what `iptables-save` prints. Run the script on a test host (or in a network "
           "namespace) and lint the output of `iptables-save`.",
           "iptables -A INPUT -p tcp --dport 22 -j ACCEPT\n", _OK),
        _d("S123", "invalid-policy", _E, "A chain's policy is not ACCEPT or DROP, or is given to a user chain.",
           "iptables-restore rejects it: only built-in chains have a policy, and it must be ACCEPT or DROP.",
           "*filter\n:INPUT REJECT [0:0]\nCOMMIT\n", "*filter\n:INPUT DROP [0:0]\nCOMMIT\n"),
        _d("S124", "invalid-command", _E, "A command cannot be applied: a rule number out of range, a rule to "
           "delete that does not exist, a chain to create that exists.",
           "iptables-restore stops at that line (`Index of insertion too big`, `Bad rule`).",
           "*filter\n:INPUT ACCEPT [0:0]\n-I INPUT 5 -j ACCEPT\nCOMMIT\n",
           "*filter\n:INPUT ACCEPT [0:0]\n-I INPUT 1 -j ACCEPT\nCOMMIT\n"),
        _d("S125", "unavailable-extension", _E, "A module that exists only for the other address family "
           "(`-m icmp6` in an IPv4 dump) or an address of the other family.",
           "iptables rejects the rule. Often an IPv6 rule was pasted into rules.v4, or the reverse.",
           "# Generated by iptables-save v1.8.9\n*filter\n-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT\n"
           "COMMIT\n",
           "# Generated by iptables-save v1.8.9\n*filter\n-A INPUT -p icmp -m icmp --icmp-type 8 -j ACCEPT\nCOMMIT\n"),
        _d("S126", "lossy-listing", _W, "An `iptables -L` listing does not show everything its rules hold.",
           "A listing is made for reading, not for restoring: without `-v` it hides the interfaces (`-i`/`-o`) "
           "and the counters, without `-n` it shows host and service names, without `-x` it rounds counters "
           "(`743K`), it never shows a hashlimit's name, and a pasted excerpt skips rule numbers. iptlint "
           "reads the rule as shown and marks it uncertain: a finding about it may be wrong. Lint the "
           "output of `iptables-save` (or `iptables -S`) when you can, or list with `-L -n -v -x`.",
           "# iptables -t filter -L -n\nChain INPUT (policy ACCEPT)\ntarget     prot opt source               destination\n"
           "ACCEPT     tcp  --  0.0.0.0/0            0.0.0.0/0            tcp dpt:22\n",
           "# iptables -t filter -L -n -v --line-numbers\nChain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
           "num   pkts bytes target     prot opt in     out     source               destination\n"
           "1        0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22\n"),
        _d("S128", "drop-in-nat", _E, "A rule of the nat table jumps to DROP, or a nat chain's policy is set "
           "to DROP with `-P`.",
           "iptables-restore refuses the line (\"The nat table is not intended for filtering, the use of DROP is "
           "therefore inhibited\") and loads nothing of the file. The nat table sees only the first packet of each "
           "connection; filtering belongs in filter (or raw, mangle).",
           "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 192.0.2.0/24 -j DROP\nCOMMIT\n",
           "*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -s 192.0.2.0/24 -j DROP\nCOMMIT\n"),
        _d("S127", "unreadable-listing", _W, "A line of an `iptables -L` listing, or the text a module printed "
           "in it, cannot be read back into a rule.",
           "iptlint turns each listing line back into the `iptables-save` rule it was printed from, one "
           "module's text at a time; text it does not know (a module iptlint has no reader for, a line "
           "damaged by a paste) is left out of the rule, so the rule matches more than the real one.",
           "# iptables -t filter -L -n -v --line-numbers\nChain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
           "num   pkts bytes target     prot opt in     out     source               destination\n"
           "1        0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22 "
           "frobnicate 3\n",
           "# iptables -t filter -L -n -v --line-numbers\nChain INPUT (policy ACCEPT 0 packets, 0 bytes)\n"
           "num   pkts bytes target     prot opt in     out     source               destination\n"
           "1        0     0 ACCEPT     tcp  --  *      *       0.0.0.0/0            0.0.0.0/0            tcp dpt:22\n"),
    )
}  # fmt: skip
