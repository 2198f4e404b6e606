"""Unit tests of the parser: every S1xx code at the right line and column, and the AST.

Each case here was checked against iptables-restore 1.8.9 (nft and legacy) in a network
namespace; where the two backends differ, the comment says which one iptlint follows.
The differential tests (test_differential.py) do the same over the whole corpus.
"""

from __future__ import annotations

import kernel
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iptlint.findings import Severity
from iptlint.syntax.ast import Counters, Family, TargetKind
from iptlint.syntax.diagnostics import DIAGNOSTICS
from iptlint.syntax.formats import parse_input
from iptlint.syntax.parser import detect_family, parse, parse_bytes


def errors(text: str, family: Family = Family.IPV4) -> list[tuple[str, int, int]]:
    """(code, line, column) of every ERROR-severity finding, in order."""
    return [
        (f.code, f.span.line, f.span.column)
        for f in parse(text, "test.rules", family).findings
        if f.severity is Severity.ERROR
    ]


def codes(text: str, family: Family = Family.IPV4) -> set[str]:
    return {f.code for f in parse(text, "test.rules", family).findings}


def first_error(text: str, family: Family = Family.IPV4) -> tuple[str, int, int] | None:
    found = errors(text, family)
    return min(found, key=lambda e: (e[1], e[2])) if found else None


# ---------------------------------------------------------------------------------------
# Every S1xx code, where iptables-restore 1.8.9 puts the error
# ---------------------------------------------------------------------------------------

CASES = [
    # (id, text, (code, line, column) of the first error)
    ("S102 no command", "*filter\nINPUT -j ACCEPT\nCOMMIT\n", ("S102", 2, 1)),
    ("S103 chain before table", ":INPUT ACCEPT [0:0]\n*filter\nCOMMIT\n", ("S103", 1, 1)),
    ("S103 commit outside", "COMMIT\n", ("S103", 1, 1)),
    ("S104 unknown table", "*filters\nCOMMIT\n", ("S104", 1, 2)),
    ("S104 upper case", "*FILTER\nCOMMIT\n", ("S104", 1, 2)),
    ("S104 no name", "*\nCOMMIT\n", ("S104", 1, 1)),
    # iptables says "COMMIT expected at line 4": the line after the last one.
    ("S105 at end of file", "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n", ("S105", 3, 1)),
    ("S105 before next table", "*filter\n-A INPUT -j ACCEPT\n*nat\nCOMMIT\n", ("S105", 3, 1)),
    # legacy rejects a second declaration; iptables-nft 1.8.9 accepts it.
    ("S106 chain twice", "*filter\n:X - [0:0]\n:X - [0:0]\nCOMMIT\n", ("S106", 3, 2)),
    ("S107 -s twice", "*filter\n-A INPUT -s 10.0.0.1 -s 10.0.0.2 -j ACCEPT\nCOMMIT\n", ("S107", 2, 22)),
    ("S107 two targets", "*filter\n-A INPUT -j ACCEPT -j DROP\nCOMMIT\n", ("S107", 2, 20)),
    ("S108 port", "*filter\n-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT\nCOMMIT\n", ("S108", 2, 24)),
    ("S108 protocol", "*filter\n-A INPUT -p nosuch -j ACCEPT\nCOMMIT\n", ("S108", 2, 10)),
    ("S108 never matches", "*filter\n-A INPUT ! -p all -j ACCEPT\nCOMMIT\n", ("S108", 2, 10)),
    ("S109 --dport alone", "*filter\n-A INPUT --dport 22 -j ACCEPT\nCOMMIT\n", ("S109", 2, 10)),
    ("S109 option of a chain jump", "*filter\n:X - [0:0]\n-A INPUT -j X --foo\nCOMMIT\n", ("S109", 3, 15)),
    ("S109 no udplite match", "*filter\n-A INPUT -p udplite --dport 53\nCOMMIT\n", ("S109", 2, 21)),
    ("S111 old negation", "*filter\n-A INPUT -s ! 10.0.0.0/8 -j DROP\nCOMMIT\n", ("S111", 2, 10)),
    ("S113 -c not numeric", "*filter\n-A INPUT -c x 1 -j ACCEPT\nCOMMIT\n", ("S113", 2, 10)),
    ("S114 no value", "*filter\n-A INPUT -p tcp -m tcp --dport\nCOMMIT\n", ("S114", 2, 24)),
    ("S114 -j alone", "*filter\n-A INPUT -j\nCOMMIT\n", ("S114", 2, 10)),
    ("S114 -c one number", "*filter\n-A INPUT -c 2\nCOMMIT\n", ("S114", 2, 10)),
    # getopt gives an option that needs a value the next word, whatever it is: here `-j`.
    ("S113 -c takes -j", "*filter\n-A INPUT -c 2 -j ACCEPT\nCOMMIT\n", ("S113", 2, 10)),
    ("S114 --dport takes -j", "*filter\n-A INPUT -p tcp --dport -j ACCEPT\nCOMMIT\n", ("S114", 2, 17)),
    ("S115 stray word", "*filter\n-A INPUT -m comment --comment allow ssh -j ACCEPT\nCOMMIT\n", ("S115", 2, 37)),
    ("S115 single quotes", "*filter\n-A INPUT -m comment --comment 'it is' -j ACCEPT\nCOMMIT\n", ("S115", 2, 35)),
    ("S116 ! -j", "*filter\n-A INPUT ! -j ACCEPT\nCOMMIT\n", ("S116", 2, 10)),
    ("S117 multiport alone", "*filter\n-A INPUT -m multiport --dports 80,443 -j ACCEPT\nCOMMIT\n", ("S117", 2, 10)),
    ("S117 -o in INPUT", "*filter\n-A INPUT -o eth0 -j ACCEPT\nCOMMIT\n", ("S117", 2, 10)),
    ("S117 -i in POSTROUTING", "*nat\n-A POSTROUTING -i eth0 -j ACCEPT\nCOMMIT\n", ("S117", 2, 16)),
    ("S119 blank line", "*filter\n   \nCOMMIT\n", ("S119", 2, 1)),
    ("S119 indented #", "*filter\n  # hi\nCOMMIT\n", ("S119", 2, 3)),
    ("S119 COMMIT without newline", "*filter\nCOMMIT", ("S119", 2, 1)),
    ("S120 undeclared chain", "*filter\n-A MISSING -j ACCEPT\nCOMMIT\n", ("S120", 2, 4)),
    ("S120 long name", "*filter\n:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123 - [0:0]\nCOMMIT\n", ("S120", 2, 2)),
    ("S201 jump nowhere", "*filter\n-A INPUT -j NOWHERE\nCOMMIT\n", ("S201", 2, 13)),
    ("S201 jump before declaration", "*filter\n-A INPUT -j LATER\n:LATER - [0:0]\nCOMMIT\n", ("S201", 2, 13)),
    ("S120 jump to built-in", "*filter\n:X - [0:0]\n-A X -j INPUT\nCOMMIT\n", ("S120", 3, 9)),
    ("S120 goto a verdict", "*filter\n-A INPUT -g ACCEPT\nCOMMIT\n", ("S120", 2, 13)),
    ("S120 name starts with -", "*filter\n:-X - [0:0]\nCOMMIT\n", ("S120", 2, 2)),
    ("S122 shell script", "iptables -A INPUT -j ACCEPT\n", ("S122", 1, 1)),
    ("S123 bad policy", "*filter\n:INPUT REJECT [0:0]\nCOMMIT\n", ("S123", 2, 8)),
    ("S123 user chain policy", "*filter\n:X ACCEPT [0:0]\nCOMMIT\n", ("S123", 2, 4)),
    ("S123 no policy", "*filter\n:X\nCOMMIT\n", ("S123", 2, 3)),
    ("S124 insert too far", "*filter\n:INPUT ACCEPT [0:0]\n-I INPUT 5 -j ACCEPT\nCOMMIT\n", ("S124", 3, 10)),
    ("S124 delete missing rule", "*filter\n-D INPUT -j ACCEPT\nCOMMIT\n", ("S124", 2, 1)),
    ("S124 delete number", "*filter\n-A INPUT -j ACCEPT\n-D INPUT 2\nCOMMIT\n", ("S124", 3, 1)),
    ("S124 replace", "*filter\n-R INPUT 1 -j ACCEPT\nCOMMIT\n", ("S124", 2, 1)),
    ("S124 new chain exists", "*filter\n:X - [0:0]\n-N X\nCOMMIT\n", ("S124", 3, 4)),
    ("S124 delete built-in", "*filter\n-X INPUT\nCOMMIT\n", ("S124", 2, 4)),
    ("S124 delete a chain in use", "*filter\n:X - [0:0]\n-A INPUT -j X\n-X X\nCOMMIT\n", ("S124", 4, 4)),
    ("S124 rename onto a chain", "*filter\n:X - [0:0]\n:Y - [0:0]\n-E X Y\nCOMMIT\n", ("S124", 4, 6)),
    ("S128 DROP in nat", "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DROP\nCOMMIT\n", ("S128", 3, 15)),
    ("S125 icmp6 in IPv4", "*filter\n-A INPUT -p 58 -m icmp6 --icmpv6-type 128 -j ACCEPT\nCOMMIT\n", ("S125", 2, 16)),
    ("S125 IPv6 address in IPv4", "*filter\n-A INPUT -s 2001:db8::1 -j ACCEPT\nCOMMIT\n", ("S125", 2, 10)),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_first_error_is_where_iptables_puts_it(text, expected):
    assert first_error(text) == expected


# Where one backend of iptables 1.8.9 accepts what the other rejects: iptlint follows the other.
ACCEPTED_BY = {
    "S119 COMMIT without newline": "nft",
    "S106 chain twice": "nft",
    "S120 name starts with -": "legacy",
    "S123 user chain policy": "nft",
}


@pytest.mark.kernel
@pytest.mark.parametrize(("name", "text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_cases_are_what_the_real_iptables_says(netns, name, text, expected):
    for backend in kernel.BACKENDS:
        verdict = netns.restore(text, backend, Family.IPV4)
        if ACCEPTED_BY.get(name) == backend:
            assert verdict.ok, verdict.describe()
        else:
            assert not verdict.ok and kernel.same_place(text, expected[1], verdict.line), (
                f"{backend}: {verdict.describe()}"
            )


def is_listing(example: str) -> bool:
    """An `iptables -L` listing: read by iptlint/syntax/formats.py, not by the dump parser."""
    return any(line.startswith("Chain ") for line in example.splitlines())


DUMP_CODES = sorted(code for code, diagnostic in DIAGNOSTICS.items() if not is_listing(diagnostic.example))


LISTING_CODES = {"S126", "S127"}  # codes of `iptables -L` listings: tests/test_formats.py


def test_every_error_code_is_covered():
    covered = {case[2][0] for case in CASES} | {"S101", "S110", "S118", "S121"} | LISTING_CODES
    assert covered >= set(DUMP_CODES), f"no test for {sorted(set(DUMP_CODES) - covered)}"


@pytest.mark.parametrize("code", DUMP_CODES)
def test_documented_examples_produce_their_code(code):
    diagnostic = DIAGNOSTICS[code]
    if code == "S101":
        data = diagnostic.example.encode("utf-8", "surrogateescape")
        assert code in {f.code for f in parse_bytes(data).findings}
        return
    if code in LISTING_CODES:
        assert code in {f.code for f in parse_input(diagnostic.example, input_format="auto").findings}
        assert code not in {f.code for f in parse_input(diagnostic.fixed, input_format="auto").findings}
        return
    assert code in codes(diagnostic.example)
    assert code not in codes(diagnostic.fixed)


def test_one_error_per_line_and_every_bad_line_reported():
    text = "*filter\n-A INPUT -s 300.0.0.1 -j ACCEPT\n-A INPUT -j ACCEPT\n-A INPUT --bogus\nCOMMIT\n"
    assert [(code, line) for code, line, _ in errors(text)] == [("S108", 2), ("S109", 4)]


# ---------------------------------------------------------------------------------------
# Encodings, line ends, garbage
# ---------------------------------------------------------------------------------------


def test_binary_file_is_s101():
    (finding,) = parse_bytes(b"*filter\n\x00\x01\x02").findings
    assert (finding.code, finding.span.line, finding.span.column) == ("S101", 2, 1)


def test_invalid_utf8_is_s101_at_the_byte():
    result = parse_bytes(b"*filter\n-A INPUT -m comment --comment caf\xe9 -j ACCEPT\nCOMMIT\n")
    s101 = [f for f in result.findings if f.code == "S101"]
    assert [(f.span.line, f.span.column) for f in s101] == [(2, 34)]


def test_crlf_is_reported_once_and_the_table_name_explains_it():
    found = parse("*filter\r\n:INPUT ACCEPT [0:0]\r\nCOMMIT\r\n").findings
    crlf = [f for f in found if f.code == "S118"]
    assert [(f.span.line, f.span.column) for f in crlf] == [(1, 8)]
    (table,) = [f for f in found if f.code == "S104"]
    assert table.span.line == 1 and "Windows" in table.message


def test_empty_file_is_a_warning():
    (finding,) = parse("# nothing\n").findings
    assert (finding.code, finding.severity) == ("S121", Severity.WARNING)


def test_commit_with_trailing_blank():
    assert ("S119", 2, 7) in errors("*filter\nCOMMIT \n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_no_traceback_on_random_bytes(data):
    parse_bytes(data)


_DUMP_ALPHABET = st.sampled_from(list("*:-!\"'\\[]#/ \t\r\nACDEFGIJNOPRXZacdijmopsx0123456789.,"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_DUMP_ALPHABET, max_size=300).map("".join))
def test_no_traceback_on_dump_like_garbage(text):
    result = parse("*filter\n" + text + "\nCOMMIT\n")
    for finding in result.findings:
        assert finding.span.line >= 1 and finding.span.column >= 1


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_no_traceback_on_random_text_in_a_rule(text):
    parse(f"*filter\n-A INPUT {text}\nCOMMIT\n")


def test_huge_line_is_read():
    comment = "x" * 1_000_000  # iptables limits a comment to 256 characters
    assert errors(f'*filter\n-A INPUT -m comment --comment "{comment}" -j ACCEPT\nCOMMIT\n') == [("S108", 2, 21)]
    words = " ".join(["-s 10.0.0.1"] * 20_000)
    assert first_error(f"*filter\n-A INPUT {words}\nCOMMIT\n") == ("S107", 2, 22)


# ---------------------------------------------------------------------------------------
# Quotes and escapes (iptables/xshared.c add_param_to_argv)
# ---------------------------------------------------------------------------------------


def comment_of(line: str) -> str:
    result = parse(f"*filter\n{line}\nCOMMIT\n")
    assert not [f for f in result.findings if f.severity is Severity.ERROR], result.findings
    (rule,) = result.ruleset.rules
    return rule.match("comment").get("--comment").raw[0]


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ('"allow ssh"', "allow ssh"),
        ('"a \\"b\\" c"', 'a "b" c'),
        ('""', ""),
        ("'dapp_Samba'", "'dapp_Samba'"),  # single quotes are ordinary characters
        ('"\\\\"', "\\"),
        ('"!#*~%&/()=?"', "!#*~%&/()=?"),
        ("ns1/svc1:p80", "ns1/svc1:p80"),
        ('pre"fix x"', "prefix x"),
    ],
)
def test_quotes_and_escapes(written, value):
    assert comment_of(f"-A INPUT -m comment --comment {written} -j ACCEPT") == value


def test_quoted_value_starting_with_bang_is_a_value():
    assert comment_of('-A INPUT -m comment --comment "! not negation" -j ACCEPT') == "! not negation"


def test_column_after_a_quoted_value_with_spaces():
    assert first_error('*filter\n-A INPUT -m comment --comment "a b" --bogus\nCOMMIT\n') == ("S109", 2, 37)


# ---------------------------------------------------------------------------------------
# Negation
# ---------------------------------------------------------------------------------------


def test_new_style_negation():
    (rule,) = parse("*filter\n-A INPUT ! -s 10.0.0.0/8 ! -i eth0 -j DROP\nCOMMIT\n").ruleset.rules
    assert rule.source.negated and rule.in_interface.negated


def test_legacy_negation_reports_s111_and_reads_the_rule():
    result = parse("*filter\n-A INPUT -d ! 192.168.0.0/255.255.255.0 -j DROP\nCOMMIT\n")
    (finding,) = [f for f in result.findings if f.code == "S111"]
    assert (finding.span.line, finding.span.column, finding.span.end_column) == (2, 10, 14)
    assert "'! -d VALUE'" in finding.message


def test_bang_after_an_option_that_needs_a_value_is_its_value():
    # getopt gives -i the next word, '!': the interface is named '!' and -o is not negated.
    (rule,) = parse("*filter\n-A FORWARD -i ! -o eth0 -j ACCEPT\nCOMMIT\n").ruleset.rules
    assert rule.in_interface.raw == ("!",)
    assert not rule.out_interface.negated


def test_an_option_takes_the_next_word_whatever_it_is():
    (rule,) = parse("*filter\n-A FORWARD -i -A -j ACCEPT\nCOMMIT\n").ruleset.rules
    assert rule.in_interface.raw == ("-A",)
    assert first_error("*filter\n-A FORWARD -i -A x -j ACCEPT\nCOMMIT\n") == ("S115", 2, 18)


def test_a_final_double_dash_ends_the_options():
    assert errors("*filter\n-A INPUT -j RETURN --\nCOMMIT\n") == []
    assert first_error("*filter\n-A INPUT -- -j ACCEPT\nCOMMIT\n") == ("S102", 2, 10)


def test_quoted_chain_name_is_unquoted():
    assert errors('*filter\n-A "INPUT" -j ACCEPT\nCOMMIT\n') == []


def test_counters_must_start_the_line():
    assert first_error("*filter\n [1:2] -A INPUT\nCOMMIT\n") == ("S113", 2, 2)
    assert errors("*filter\n[1:2]-A INPUT\nCOMMIT\n") == []


def test_builtin_chains_cannot_be_created_or_renamed():
    assert first_error("*filter\n-N INPUT\nCOMMIT\n") == ("S124", 2, 4)
    assert first_error("*filter\n-E INPUT X\nCOMMIT\n") == ("S124", 2, 4)


def test_match_in_a_builtin_chain_it_cannot_hook():
    assert first_error("*filter\n-A INPUT -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n") == ("S125", 2, 10)
    assert errors("*filter\n-A OUTPUT -m owner --uid-owner 0 -j ACCEPT\nCOMMIT\n") == []


def test_command_options_are_accepted():
    assert errors("*filter\n-A INPUT -v -v --modprobe /bin/true -j ACCEPT\nCOMMIT\n") == []


def test_table_and_chain_lines_ignore_trailing_words():
    assert errors("*filter extra\n:INPUT ACCEPT [a:b]\n:X - junk words\nCOMMIT\n") == []


def test_bang_before_nothing():
    assert first_error("*filter\n-A INPUT -j ACCEPT !\nCOMMIT\n") is not None


# ---------------------------------------------------------------------------------------
# Counters
# ---------------------------------------------------------------------------------------


def test_chain_and_rule_counters():
    text = (
        "*filter\n:INPUT ACCEPT [1802743303:364412585227]\n:X - [0:0\n"
        "[3:180] -A INPUT -j X\n-A INPUT -c 5 6 -j ACCEPT\n-A INPUT -c 7,8 -j ACCEPT\nCOMMIT\n"
    )
    result = parse(text)
    assert errors(text) == []
    table = result.ruleset.table("filter")
    assert table.chain("INPUT").counters == Counters(1802743303, 364412585227)
    assert table.chain("X").counters == Counters(0, 0)  # iptables-restore accepts the missing ']'
    assert [rule.counters for rule in table.chain("INPUT").rules] == [
        Counters(3, 180),
        Counters(5, 6),
        Counters(7, 8),
    ]


def test_set_counters_read_as_sscanf_does():
    result = parse("*filter\n-A INPUT -c -1 2x -j ACCEPT\nCOMMIT\n")
    (rule,) = result.ruleset.rules
    assert rule.counters == Counters(2**64 - 1, 2)


def test_chain_without_counters():
    assert errors("*filter\n:bw_INPUT -\n:INPUT -\nCOMMIT\n") == []


# ---------------------------------------------------------------------------------------
# Commands inside a table: -A -I -D -R -N -X -F -P -E -Z
# ---------------------------------------------------------------------------------------


def rule_targets(text: str, chain: str = "INPUT") -> list[str]:
    result = parse(text)
    assert errors(text) == [], result.findings
    return [rule.target.name for rule in result.ruleset.chain("filter", chain).rules]


def test_insert_append_replace_delete():
    text = (
        "*filter\n-A INPUT -j ACCEPT\n-I INPUT -j DROP\n-I INPUT 2 -j RETURN\n"
        "-A INPUT -j QUEUE\n-R INPUT 1 -j ACCEPT\n-D INPUT 3\n-D INPUT -j QUEUE\nCOMMIT\n"
    )
    # ACCEPT; DROP ACCEPT; DROP RETURN ACCEPT; + QUEUE; R1 -> ACCEPT; D3 -> ACCEPT RETURN QUEUE; D QUEUE
    assert rule_targets(text) == ["ACCEPT", "RETURN"]


def test_insert_at_the_end_is_allowed():
    assert rule_targets("*filter\n-A INPUT -j ACCEPT\n-I INPUT 2 -j DROP\nCOMMIT\n") == ["ACCEPT", "DROP"]


def test_new_rename_flush_delete_chain_and_policy():
    text = (
        "*filter\n:X - [0:0]\n-A X -j ACCEPT\n-N Y\n-A Y -j X\n-E Y Z\n-F X\n-A INPUT -j Z\n"
        "-P INPUT DROP\n-Z\n-N GONE\n-X GONE\nCOMMIT\n"
    )
    result = parse(text)
    assert errors(text) == []
    table = result.ruleset.table("filter")
    assert {chain.name for chain in table.chains} >= {"X", "Z", "INPUT"}
    assert table.chain("Y") is None and table.chain("GONE") is None
    assert table.chain("X").rules == ()
    assert table.chain("INPUT").policy == "DROP"
    assert table.chain("INPUT").rules[0].target.kind is TargetKind.CHAIN


def test_jump_to_a_deleted_chain_is_an_error():
    assert first_error("*filter\n-N X\n-X X\n-A INPUT -j X\nCOMMIT\n") == ("S201", 4, 13)


def test_builtin_chain_with_dash_policy_keeps_its_policy():
    assert errors("*filter\n:INPUT - [0:0]\n:FORWARD -\nCOMMIT\n") == []


def test_rules_in_builtin_chains_need_no_declaration():
    assert errors("*nat\n-A PREROUTING -j ACCEPT\nCOMMIT\n") == []


def test_indented_command_and_comments_inside_a_table():
    assert errors("# top\n*filter\n# inside\n\n   -A INPUT -j ACCEPT\nCOMMIT\n# end\n") == []


# ---------------------------------------------------------------------------------------
# Options: long names, order, implicit protocol matches, IPv6
# ---------------------------------------------------------------------------------------


def test_long_option_names_and_any_order():
    text = (
        "*filter\n-A INPUT --in-interface virbr0 --protocol tcp --destination-port 67 --jump ACCEPT\n"
        "-A INPUT -j ACCEPT -m comment --comment 'ufw'\n-A INPUT -m tcp -p tcp -d 172.30.0.41 --dport 80\nCOMMIT\n"
    )
    assert errors(text) == []


def test_unambiguous_prefix_of_a_long_option():
    assert errors("*filter\n-A INPUT --proto tcp --jump ACCEPT\nCOMMIT\n") == []


@pytest.mark.parametrize(
    ("rule", "implicit"),
    [
        ("-p tcp --dport 22 --syn", "tcp"),
        ("-p udp --sport 53", "udp"),
        ("-p icmp --icmp-type 8", "icmp"),
        ("-p 6 --dport 22", "tcp"),
    ],
)
def test_implicit_protocol_match(rule, implicit):
    result = parse(f"*filter\n-A INPUT {rule} -j ACCEPT\nCOMMIT\n")
    (parsed,) = result.ruleset.rules
    (match,) = parsed.matches
    assert (match.name, match.implicit) == (implicit, True)


def test_implicit_icmpv6_match_in_ipv6():
    text = "*filter\n-A INPUT -p icmpv6 --icmpv6-type router-advertisement -j DROP\nCOMMIT\n"
    assert errors(text, Family.IPV6) == []


def test_generic_module_owns_options_that_look_like_prefixes():
    # quota2 has no option table: `--name` and `--set` are its own, not prefixes of basic options.
    text = "*filter\n-A INPUT -m quota2 --name q --set -j ACCEPT\nCOMMIT\n"
    assert errors(text) == []
    assert "S110" in codes(text)


@pytest.mark.parametrize("name", ["SYN", "12", "-m", '""', "ipv18446744073709551616header"])
def test_what_cannot_name_a_match_is_an_error(name):
    assert first_error(f"*filter\n-A INPUT -m {name}\nCOMMIT\n")[:2] in (("S108", 2), ("S114", 2))


def test_known_target_without_table_is_read_generically():
    assert errors("*filter\n-A INPUT -j LED --led-trigger-id x\nCOMMIT\n") == []


def test_ipv6_dump():
    text = (
        "# Generated by ip6tables-save v1.8.9\n*filter\n:INPUT DROP [0:0]\n"
        "-A INPUT -s 2001:db8::/32 -d fe80::1 -p ipv6-icmp -m icmp6 --icmpv6-type 128 -j ACCEPT\nCOMMIT\n"
    )
    assert detect_family(text) is Family.IPV6
    assert errors(text, Family.IPV6) == []
    assert first_error(text.replace("2001:db8::/32", "10.0.0.0/8"), Family.IPV6) == ("S125", 4, 10)


def test_family_detection():
    assert detect_family("*filter\n-A INPUT -s 10.0.0.1 -j ACCEPT\nCOMMIT\n") is Family.IPV4
    assert detect_family("*filter\n-A INPUT -s fe80::/10 -j ACCEPT\nCOMMIT\n") is Family.IPV6


def test_rules_of_an_unknown_table_are_not_checked_twice():
    assert errors("*bogus\n-A INPUT --anything\nCOMMIT\n") == [("S104", 1, 2)]


def test_renaming_a_chain_keeps_the_jumps_to_it():
    """The kernel keeps jumps across `-E`: the rule that jumped to FOO now jumps to BAR."""
    text = "*filter\n:INPUT ACCEPT [0:0]\n:FOO - [0:0]\n-A INPUT -j FOO\n-A FOO -j ACCEPT\n-E FOO BAR\nCOMMIT\n"
    result = parse(text, "t.rules")
    assert not result.findings
    chains = {chain.name: chain for chain in result.ruleset.tables[0].chains}
    assert chains["INPUT"].rules[0].target.name == "BAR"
    assert chains["BAR"].rules[0].chain == "BAR"


# ---------------------------------------------------------------------------------------
# The fast path's pieces: what they must give exactly as the slow ones do
# ---------------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["-A", "KUBE-X", "A", "-s", "10.0.0.1/32", "-m", "comment", "--comment", '"a b"', '"a  b"', '"a\\"b"',
     'a"b', '""', "-j", "-g", "DNAT", "KUBE-MARK-MASQ", "-p", "tcp", "!", "[1:2]", "x\\y", "x\r", "\tx", "-x",
     "!x", "[x", "--to-destination", "10.0.0.1:80", "a-b", '"a-b"']
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=9), st.lists(st.tuples(st.integers(0, 8), _WORDS), max_size=4))
def test_a_key_pattern_matches_only_lines_of_its_key_and_captures_their_words(first, changes):
    """parser._key_pattern(K) may take a line instead of fast_words + rule_key only when both agree."""
    from iptlint.syntax import parser
    from iptlint.syntax.grammar import fast_words, rule_key

    line = " ".join(["-A", *first])
    if fast_words(line) is None:
        return
    key = rule_key(line)
    pattern = parser._key_pattern(key)
    if pattern is None:
        return
    other = ["-A", *first]
    for index, word in changes:
        other[min(index, len(other) - 1)] = word
    for text in (line, " ".join(other)):
        found = pattern.fullmatch(text)
        if found is not None:
            assert list(found.groups()) == fast_words(text)
            assert rule_key(text) == key


def test_ipv4_values_made_without_ipaddress_constructors_are_the_same_objects():
    import ipaddress
    import itertools
    import random

    from iptlint.syntax import values

    rng = random.Random(7)
    for _ in range(2000):
        ip, prefix = rng.getrandbits(32), rng.choice([rng.randint(0, 32), 31, 32])
        made, expected = values.ipv4_network(ip, prefix), ipaddress.IPv4Network((ip, prefix), strict=False)
        assert made == expected and str(made) == str(expected) and hash(made) == hash(expected)
        assert list(made.__dict__) == list(expected.__dict__) and made.netmask is expected.netmask
        assert list(itertools.islice(made.hosts(), 3)) == list(itertools.islice(expected.hosts(), 3))
        assert values.ipv4_address(ip) == ipaddress.IPv4Address(ip)


def test_dotted_quads_read_by_inet_pton_are_the_strict_form():
    """values.dotted_quad relies on inet_pton taking exactly `A.B.C.D`, decimal, no leading zero, each <= 255."""
    import random
    import re

    from iptlint.syntax import values

    octet = r"(0|[1-9][0-9]{0,2})"
    strict = re.compile(rf"{octet}\.{octet}\.{octet}\.{octet}\Z")

    def expected(text):
        found = strict.match(text)
        if found is None or any(int(o) > 255 for o in found.groups()):
            return None
        return sum(int(o) << shift for o, shift in zip(found.groups(), (24, 16, 8, 0), strict=True))

    rng = random.Random(3)
    cases = ["1.2.3.4", "01.2.3.4", "256.1.1.1", "1.2.3", "1.2.3.4 ", "1.2.3.4\n", "1.2.3.4\x00", "\udcff.1.1.1"]
    cases += ["".join(rng.choice("0123456789./x:") for _ in range(rng.randint(1, 16))) for _ in range(20000)]
    for text in cases:
        assert values.dotted_quad(text) == expected(text), text
    assert values.ipv4_and_port("10.1.2.3:80") == (0x0A010203, 80)
    for text in ("10.1.2.3:080", "10.1.2.3:", "10.1.2.3:70000", "10.1.2.3:8-9", "10.1.2.3:٣"):
        assert values.ipv4_and_port(text) is None, text


@pytest.mark.parametrize(
    ("word", "shown"),
    [
        ("10.1", "10.1.0.0/32"),  # bytes left out are zero (not inet_aton's 10.0.0.1)
        ("012.0.0.1", "10.0.0.1/32"),  # each byte as strtoul(..., 0) reads it
        ("0x0a.0.0.1", "10.0.0.1/32"),
        ("10", "10.0.0.0/32"),
        ("+10.0.0.1", "10.0.0.1/32"),
        ("1.2.3.00000000000000001", "1.2.3.0/32"),  # only the first 19 bytes are read
        ("10.0.0.0/010", "10.0.0.0/8"),  # a prefix length in octal
        ("1.2.3.4/0x8", "1.0.0.0/8"),
        ("10.0.0.0/255.255.0.0", "10.0.0.0/16"),
        ("10.0.0.0/255.0.255.0", "10.0.0.0/255.0.255.0"),  # a mask that is no prefix
        ("10.0.0.1/0.255.255.255", "0.0.0.1/0.255.255.255"),  # a mask, not a host mask
    ],
)
def test_ipv4_addresses_are_read_as_libxtables_reads_them(word, shown):
    """Each case was loaded by iptables-{nft,legacy}-restore 1.8.9; `shown` is what iptables-save printed."""
    result = parse(f"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s {word} -j ACCEPT\nCOMMIT\n", "t", Family.IPV4)
    assert result.ok, result.findings
    (option,) = result.ruleset.tables[0].chains[0].rules[0].basics
    assert str(option.value) == shown


@pytest.mark.parametrize("word", ["1.2.3.4/08", "1.2.3.4/33", "1.2.3.4/255.255", "1.2.3.4/", "256.1.1.1", "1.2.3.4.5"])
def test_ipv4_addresses_iptables_refuses(word):
    assert first_error(f"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s {word} -j ACCEPT\nCOMMIT\n") == ("S108", 3, 10)


def test_ipv6_masks_that_are_no_prefix():
    text = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s feed:babe::/0:ffff::0 -d fd00::/064 -j ACCEPT\nCOMMIT\n"
    result = parse(text, "t", Family.IPV6)
    assert result.ok, result.findings
    source, destination = result.ruleset.tables[0].chains[0].rules[0].basics
    assert str(source.value) == "0:babe::/0:ffff::" and source.value.network is None
    assert str(destination.value) == "fd00::/52"


def test_a_list_of_addresses_makes_one_rule_per_address_as_iptables_does():
    """Checked with iptables-{nft,legacy}-restore 1.8.9: iptables-save shows exactly these rules, in this order."""
    text = (
        "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n"
        "-A INPUT -d 3.3.3.3,4.4.4.4 -s 1.1.1.1,2.2.2.2 -j DROP\n"  # sources first, whatever the order
        "-I INPUT 1 -s 5.5.5.5,6.6.6.6 -j DROP\n"  # each inserted at 1: the last one first
        "-A INPUT -s 7.7.7.7,8.8.8.8 -j RETURN\n-D INPUT -s 7.7.7.7,8.8.8.8 -j RETURN\nCOMMIT\n"
    )
    result = parse(text, "t", Family.IPV4)
    assert result.ok, result.findings
    rules = result.ruleset.tables[0].chains[0].rules
    shown = [" ".join(f"{o.name} {o.value}" for o in rule.basics) for rule in rules]
    assert shown == [
        "-s 6.6.6.6/32", "-s 5.5.5.5/32", "",
        "-d 3.3.3.3/32 -s 1.1.1.1/32", "-d 4.4.4.4/32 -s 1.1.1.1/32",
        "-d 3.3.3.3/32 -s 2.2.2.2/32", "-d 4.4.4.4/32 -s 2.2.2.2/32",
    ]  # fmt: skip
    assert {rule.line for rule in rules[3:]} == {4} and rules[3].basics[1].raw == ("1.1.1.1,2.2.2.2",)


@pytest.mark.parametrize(
    ("line", "column"),
    [
        ("-A INPUT ! -s 1.1.1.1,2.2.2.2 -j DROP", 10),  # '! not allowed with multiple ... addresses'
        ("-A INPUT -s 1.1.1.1, -j DROP", 10),  # host/network `' not found
        ("-R INPUT 1 -s 1.1.1.1,2.2.2.2 -j DROP", 1),  # Replacement rule does not specify a unique address
    ],
)
def test_lists_of_addresses_iptables_refuses(line, column):
    text = f"*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\n{line}\nCOMMIT\n"
    assert first_error(text) == ("S108", 4, column)


@pytest.mark.parametrize("filter_first", [False, True])
def test_drop_in_nat_is_refused_as_iptables_restore_refuses_it(filter_first):
    """`-j DROP` and `-P CHAIN DROP` in nat (iptables-restore: "not intended for filtering"); a nat
    chain line's DROP policy is accepted, as iptables-restore 1.8.9 accepts it."""
    nat = "*nat\n:PREROUTING DROP [0:0]\n:X - [0:0]\n-A X -s 192.0.2.1 -j DROP\n-A X -s 192.0.2.2 -j DROP\n"
    nat += "-P PREROUTING DROP\n-A X -s 192.0.2.3 -j ACCEPT\nCOMMIT\n"
    filter_ = "*filter\n:X - [0:0]\n-A X -s 192.0.2.1 -j DROP\n-A X -s 192.0.2.2 -j DROP\nCOMMIT\n"
    text = filter_ + nat if filter_first else nat + filter_
    offset = 5 if filter_first else 0
    found = [(f.code, f.span.line, f.span.column) for f in parse(text, "t.rules").findings]
    assert found == [("S128", 4 + offset, 19), ("S128", 5 + offset, 19), ("S128", 6 + offset, 15)]


def test_fast_constructor_makes_the_dataclass_object():
    """ast.fast_constructor's twin-class objects are the dataclass's: type, fields, equality, hash, frozen."""
    import dataclasses

    from iptlint.extensions.targets._nat import NatPorts, NatRange
    from iptlint.syntax import ast, values

    samples = {
        ast.Counters: (1, 2),
        ast.Option: ("--dport", 80, False, ("80",), 5, 2),
        ast.Match: ("tcp", (), 3, 2, False, True),
        ast.Rule: ("nat", "C", 1, "-A C", (0, 2), (), (), None, None, "-A"),
        values.AddressRange: (1, 2),
        NatPorts: (1, 2, None),
        NatRange: (None, NatPorts(1, 2)),
    }
    for cls, args in samples.items():
        made = ast.fast_constructor(cls)(*args)
        expected = cls(*args)
        assert type(made) is cls
        assert made == expected and hash(made) == hash(expected) and repr(made) == repr(expected)
        assert dataclasses.astuple(made) == dataclasses.astuple(expected)
        with pytest.raises(dataclasses.FrozenInstanceError):
            made.__setattr__(dataclasses.fields(cls)[0].name, None)


def test_fast_path_guess_of_a_program_no_longer_recent(monkeypatch):
    """The program guessed from the last one (`_Program.next`) may have left the recent list: same result."""
    from iptlint.syntax import parser as parser_module

    shapes = {
        "X": "-A C -s 10.0.0.{n}/32 -j ACCEPT",
        "P": "-A C -d 10.0.1.{n}/32 -j ACCEPT",
        "Q": "-A C -p tcp -m tcp --dport {n} -j ACCEPT",
        "R": "-A C -p udp -m udp --dport {n} -j ACCEPT",
        "S": "-A C -i eth{n} -j ACCEPT",
    }
    order = "XPXPQQRRSSXPXP"
    body = [shapes[key].format(n=n + 1) for n, key in enumerate(order)]
    text = "\n".join(["*filter", ":INPUT ACCEPT [0:0]", ":C - [0:0]", *body, "COMMIT", ""])
    fast = parse(text)
    monkeypatch.setattr(parser_module, "FAST_PATH", False)
    slow = parse(text)
    assert fast == slow
    assert sum(len(c.rules) for c in fast.ruleset.tables[0].chains) == len(order)


def test_fast_path_parts_without_cache_after_adapting(monkeypatch):
    """Past parser._ADAPT_AT lines of a key, parts whose values are all new skip their caches: same result."""
    from iptlint.syntax import parser as parser_module

    count = parser_module._ADAPT_AT + 300
    body = []
    for n in range(count):
        body.append(f":SEP-{n} - [0:0]")
    for n in range(count):
        ip = f"10.{n // 250}.{n % 250}.1"
        body.append(f'-A SEP-{n} -s {ip}/32 -m comment --comment "svc {n % 7}" -j MARK --set-mark {n % 3}')
        body.append(
            f'-A SEP-{n} -p tcp -m comment --comment "svc {n}" -m tcp -j DNAT --to-destination {ip}:{n % 9 + 80}'
        )
        body.append(f'-A SVC -m comment --comment "ep {n}" -m statistic --mode random --probability 0.5 -j SEP-{n}')
    text = "\n".join(["*nat", ":PREROUTING ACCEPT [0:0]", ":SVC - [0:0]", *body, "COMMIT", ""])
    fast = parse(text)
    monkeypatch.setattr(parser_module, "FAST_PATH", False)
    slow = parse(text)
    assert fast == slow
    assert sum(len(c.rules) for c in fast.ruleset.tables[0].chains) == 3 * count
