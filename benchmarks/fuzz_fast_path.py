"""Random dumps, parsed with and without the parser's fast path: the results must be equal.

    python benchmarks/fuzz_fast_path.py [SEED] [TRIALS]

Lines come from templates of the shapes the fast path replays (and some it must not:
long option forms, legacy `!`, `-c`, odd blanks and quotes, -N/-X/-I/-D/-R), with
valid and invalid values, in chains that exist or not, in both families.  A template
is often repeated a few lines in a row, so that the parser matches those lines by the
pattern of their key (parser._key_pattern); odd values (quotes inside words,
backslashes, a carriage return, quoted chain names) must make it fall back.
"""

import random
import sys

from iptlint.syntax import parser
from iptlint.syntax.ast import Family

r = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
TRIALS = int(sys.argv[2]) if len(sys.argv) > 2 else 300
vals = {
    "ip": [
        "fd00::1/64",
        "10.0.0.1",
        "10.0.0.0/8",
        "1.2.3.4/32",
        "300.1.1.1",
        "host.example",
        "::1",
        "01.2.3.4",
        "10.0.0.1/33",
        "0.0.0.0/0",
        "10.0.0.1,10.0.0.2",
        "1.2.3.4,fd00::1",
        "10.1,0x0a.0.0.1/010",
        "10.0.0.0/255.0.255.0",
        "fd00::/0:ffff::",
        "1.2.3.4/08",
    ],
    "port": ["80", "443", "1:1024", "70000", "ssh", "http", "5:1"],
    "chain": [
        "A",
        "B",
        "KUBE-X",
        "INPUT",
        "NOPE",
        "KUBE-SEP-Y",
        "DROP",
        "ACCEPT",
        "LOG",
        "MARK",
        '"KUBE-X"',
        '"A"',
        "KUBE\\X",
    ],
    "comment": [
        '"a b"',
        "x",
        '"' + "z" * 300 + '"',
        '"ns/svc:p80 -> 10.0.0.1:80"',
        '"a  b"',
        "a\\b",
        '"a\\b"',
        'a"b',
        '"a"b',
        '""',
        "-x",
        "!x",
        "[x]",
        "x\r",
    ],
    "to": ["10.0.0.1:80", "10.0.0.1", ":80", "10.0.0.1-10.0.0.5:80-90", "bad", "1.2.3.4:99999"],
    "state": ["NEW", "RELATED,ESTABLISHED", "BOGUS", "new"],
    "proto": ["tcp", "udp", "icmp", "all"],
    "mark": ["0x4000", "0x4000/0x4000", "zz"],
    "iface": ["eth0", "eth+", "a" * 20],
}
templates = [
    "-A {c1} -s {ip} -m comment --comment {comment} -j {chain}",
    "-A {c1} -p {proto} -m {proto} --dport {port} -j {chain}",
    "-A {c1} ! -s {ip} -d {ip} -p tcp -m comment --comment {comment} -m tcp --dport {port} -j KUBE-MARK-MASQ",
    "-A {c1} -p tcp -m comment --comment {comment} -m tcp -j DNAT --to-destination {to}",
    "-A {c1} -m comment --comment {comment} -m statistic --mode random --probability 0.{port} -j {chain}",
    "-A {c1} -m conntrack --ctstate {state} -j {chain}",
    "-A {c1} -m mark --mark {mark} -j ACCEPT",
    "-A {c1} -j MARK --or-mark {mark}",
    "-A {c1} -i {iface} -o {iface} -j {chain}",
    "-A {c1} -g {chain}",
    "[{port}:{port}] -A {c1} -p {proto} --dport {port} -j {chain}",
    "-A {c1} -m foo --bar {port} -j {chain}",
    "-A {c1} -p tcp --dport {port} -j REJECT --reject-with tcp-reset",
    "-N {chain}",
    "-X {chain}",
    "-A {c1} -p {proto} --sport {port} -j RETURN",
    "-A {c1} -m addrtype --dst-type LOCAL -j {chain}",
    "-A {c1} --match comment --comment {comment} --jump {chain}",
    "-A {c1} -s ! {ip} -j {chain}",
    "-A {c1} -i ! -o {iface} -j {chain}",
    "-A {c1} -c {port} {port} -j {chain}",
    "-A {c1} -c {port},{port} -j {chain}",
    "-I {c1} -s {ip} -j {chain}",
    "-D {c1} -s {ip} -j {chain}",
    "-R {c1} 1 -s {ip} -j {chain}",
    "-A {c1} -p {proto} -m multiport --dports {port},{port} -j {chain}",
    "-A {c1} -m comment --comment {comment} -m comment --comment {comment} -j {chain}",
    "-A {c1}  -s {ip} -j {chain}",
    "-A {c1} -s {ip} -j {chain} ",
    "-A {c1}\t-s {ip} -j {chain}",
    '-A {c1} -m comment --comment "a\\"b" -j {chain}',
    '-A {c1} -m comment --comment a"b c" -j {chain}',
    "-A {c1} -s {ip} -d {ip} -j {chain}",
    "-A {c1} -p tcp --syn -j {chain}",
    "-A {c1} -p tcp --tcp-flags SYN,ACK SYN -j {chain}",
    "-A {c1} -m state --state {state} -j {chain}",
    "-A {c1} -j {chain} -m comment --comment {comment}",
]


def line(t):
    out = t
    while "{" in out:
        i = out.index("{")
        j = out.index("}", i)
        k = out[i + 1 : j]
        v = r.choice(CHAINS) if k == "c1" else r.choice(vals[k])
        out = out[:i] + v + out[j + 1 :]
    return out


CHAINS = ["A", "B", "KUBE-X", "INPUT", "OUTPUT", "NOPE", "POSTROUTING", '"A"', "KUBE-MARK-MASQ"]


def lines_of_templates():
    """Lines of random templates, each repeated 1 to 6 times with new values."""
    out = []
    for _ in range(r.randrange(2, 20)):
        template = r.choice(templates)
        out += [line(template) for _ in range(r.randrange(1, 7))]
    return out


bad = 0
for _trial in range(TRIALS):
    table = r.choice(["filter", "nat"])
    lines = [f"*{table}", ":A - [0:0]", ":B - [0:0]", ":KUBE-X - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
    lines += lines_of_templates()
    if r.random() < 0.9:
        lines.append("COMMIT")
    text = "\n".join(lines) + "\n"
    family = r.choice([Family.IPV4, Family.IPV4, Family.IPV6])
    res = []
    for fast in (False, True):
        parser.FAST_PATH = fast
        x = parser.parse(text, "f", family)
        res.append((x.ruleset, x.findings))
    if res[0] != res[1]:
        bad += 1
        if bad <= 3:
            print("DIFF\n" + text)
            a, b = res
            print(set(a[1]) ^ set(b[1]))
print("trials", TRIALS, "differ", bad)
sys.exit(1 if bad else 0)
