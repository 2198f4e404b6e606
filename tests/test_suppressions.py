"""Suppressions: comment lines, file-wide, in-rule comments; unused ones are reported (S301)."""

from iptlint.linter import Settings, lint

HEAD = "*filter\n:INPUT ACCEPT [0:0]\n"
DUPLICATE = "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"


def codes(text: str, **settings) -> list[tuple[str, int]]:
    """Structural codes only: the semantic ones (R) have their own tests."""
    found = lint(text, "t.rules", Settings(**settings)).findings
    return [(f.code, f.span.line) for f in found if f.code.startswith("S")]


def test_duplicate_is_reported_without_suppression():
    assert ("S205", 4) in codes(HEAD + DUPLICATE + DUPLICATE + "COMMIT\n")


def test_comment_line_silences_the_next_rule_only():
    text = HEAD + DUPLICATE + "# iptlint: disable=S205\n" + DUPLICATE + DUPLICATE + "COMMIT\n"
    found = codes(text)
    assert ("S205", 5) not in found
    assert ("S205", 6) in found
    assert not [c for c in found if c[0] == "S301"]


def test_disable_file():
    text = "# iptlint: disable-file=S205\n" + HEAD + DUPLICATE + DUPLICATE + DUPLICATE + "COMMIT\n"
    assert not [c for c in codes(text) if c[0] in ("S205", "S301")]


def test_rule_comment_survives_a_kernel_round_trip():
    silenced = '-A INPUT -p tcp -m tcp --dport 22 -m comment --comment "iptlint: disable=S205" -j ACCEPT\n'
    text = HEAD + silenced + silenced + "COMMIT\n"
    assert not [c for c in codes(text) if c[0] == "S205"]


def test_unused_suppression_is_reported():
    text = HEAD + "# iptlint: disable=S205\n" + DUPLICATE + "COMMIT\n"
    assert ("S301", 3) in codes(text)


def test_unused_suppression_can_be_ignored():
    text = HEAD + "# iptlint: disable=S205\n" + DUPLICATE + "COMMIT\n"
    assert not codes(text, ignore=("S301",))


def test_prefix_suppression():
    text = HEAD + DUPLICATE + "# iptlint: disable=S2\n" + DUPLICATE + "COMMIT\n"
    assert not [c for c in codes(text) if c[0] in ("S205", "S301")]
