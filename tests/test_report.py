"""Reports: one shared set of findings, snapshotted in every format, and the formats' contracts.

Snapshots live in `tests/snapshots/report/<format>.txt`; run with `UPDATE_SNAPSHOTS=1` to
rewrite them after an intended change, and review the diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import pytest

from iptlint import __version__
from iptlint.findings import Finding, Fix, Related, Severity, Span
from iptlint.linter import lint
from iptlint.report import FORMATS, ReportContext, render, statistics
from iptlint.report.github import escape_data, escape_property
from iptlint.rules import RuleInfo, all_rules

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOTS = Path(__file__).parent / "snapshots" / "report"
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"
JSON_SCHEMA = ROOT / "docs" / "json-format.schema.json"
CORPUS = ROOT.parent / "shared" / "corpus" / "real"

ODD_PATH = "my rules/100% docker,v1:test.rules"

# ---------------------------------------------------------------------------------------
# The shared fixture
# ---------------------------------------------------------------------------------------


def _doc(summary: str, what: str) -> str:
    return (
        f"{summary}\n\n## What it does\n{what}\n\n## Why it matters\nIt breaks the firewall.\n\n"
        "## Example\n```\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n```\n\n"
        "## Use instead\n```\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n```\n"
    )


FIXTURE_RULES = {
    info.code: info
    for info in (
        RuleInfo("S102", "syntax-error", Severity.ERROR, True, _doc("A line is not valid.", "Flags a bad line.")),
        RuleInfo("S105", "missing-commit", Severity.ERROR, True, _doc("A table is not closed.", "Flags no COMMIT.")),
        RuleInfo("S110", "unknown-extension", Severity.WARNING, True, _doc("A module is unknown.", "Flags -m x.")),
        RuleInfo("S111", "legacy-negation", Severity.ERROR, True, _doc("Negation after the option.", "Flags `!`.")),
        RuleInfo("S114", "missing-argument", Severity.ERROR, True, _doc("An option lacks a value.", "Flags it.")),
        RuleInfo("S205", "shadowed-rule", Severity.WARNING, True, _doc("A rule never matches.", "Flags shadows.")),
        RuleInfo("S230", "log-without-prefix", Severity.INFO, False, _doc("LOG without prefix.", "Flags LOG.")),
    )
}


def fixture_findings() -> list[Finding]:
    """Every shape a renderer must handle, in the order the CLI would sort them."""
    return [
        Finding(  # a syntax error on a whole line
            "S102",
            "line is not a table header, chain, command, comment or COMMIT",
            "rules.v4",
            Span(3, 1, 3, 16),
            Severity.ERROR,
            table="filter",
            source_line="INPUT -j ACCEPT",
        ),
        Finding(  # a zero-width span past the end of a line with a tab in it
            "S114",
            "option --dport requires a value",
            "rules.v4",
            Span(7, 24, 7, 24),
            Severity.ERROR,
            table="filter",
            chain="INPUT",
            rule_index=2,
            source_line="-A INPUT -p tcp\t--dport",
        ),
        Finding(  # a fix with replacement text, and a CRLF line end in the source
            "S111",
            "negation after the option: write `! -s 10.0.0.0/8`",
            "rules.v4",
            Span(9, 10, 9, 25),
            Severity.ERROR,
            table="filter",
            chain="INPUT",
            rule_index=3,
            fix=Fix("put `!` before the option", "! -s 10.0.0.0/8"),
            source_line="-A INPUT -s ! 10.0.0.0/8 -j DROP\r",
        ),
        Finding(  # related locations in this file and another, a fix in words only
            "S205",
            "this rule never matches: an earlier rule takes all its packets",
            "rules.v4",
            Span(12, 1, 12, 44),
            Severity.WARNING,
            table="filter",
            chain="INPUT",
            rule_index=4,
            related=(
                Related("shadowed by this rule", Span(5, 1, 5, 32)),
                Related("jumped to from here", Span(2, 1, 2, 20), path="common.v4"),
            ),
            fix=Fix("delete the rule or move it above line 5"),
            source_line="-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
        ),
        Finding(  # an info with a code the context knows, a non-ASCII message
            "S230",
            "LOG rule without --log-prefix: journal lines say nothing of “which rule”",
            "rules.v4",
            Span(14, 10, 14, 16),
            Severity.INFO,
            table="filter",
            chain="INPUT",
            rule_index=5,
            fix=Fix("delete the LOG rule", ""),
            source_line="-A INPUT -j LOG",
        ),
        Finding(  # a span over several lines
            "S105",
            "table 'nat' is never closed by COMMIT (nothing of it would load)",
            "rules.v4",
            Span(20, 1, 22, 1),
            Severity.ERROR,
            table="nat",
            source_line="*nat",
        ),
        Finding(  # an odd path, a message with `%`, `:`, `,` and a line break; no source line
            "S110",
            "iptlint has no option table for match 'quota2': 100% of its options,\nunchecked: see --help",
            ODD_PATH,
            Span(4, 16, 4, 22),
            Severity.WARNING,
            table="filter",
            chain="FORWARD",
            rule_index=1,
        ),
        Finding(  # a code the catalogue does not know (a plugin, a newer iptlint)
            "X901",
            "custom policy: port 5432 is published to the world",
            ODD_PATH,
            Span(8, 1, 8, 40),
            Severity.INFO,
            table="nat",
            chain="DOCKER",
            rule_index=7,
            source_line="-A DOCKER ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.2:5432",
        ),
    ]


def fixture_context(**overrides) -> ReportContext:
    settings = {"rules": FIXTURE_RULES, "version": "0.0.0-test", "files": ("rules.v4", ODD_PATH, "clean.v4")}
    settings.update(overrides)
    return ReportContext(**settings)


# ---------------------------------------------------------------------------------------
# Snapshots
# ---------------------------------------------------------------------------------------


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual.encode("utf-8"))
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"{path} did not exist and was written: review it and run again")
    expected = path.read_bytes().decode("utf-8")
    assert actual == expected, f"{name} changed; UPDATE_SNAPSHOTS=1 rewrites {path}"


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_snapshot(format_name):
    assert_snapshot(format_name, render(format_name, fixture_findings(), fixture_context()))


def test_snapshot_text_in_color():
    assert_snapshot("text-color", render("text", fixture_findings(), fixture_context(color=True)))


def test_snapshot_statistics():
    findings = fixture_findings()
    assert_snapshot("statistics", statistics([*findings, *findings[3:7], findings[6]], fixture_context()))


# ---------------------------------------------------------------------------------------
# The API
# ---------------------------------------------------------------------------------------


def test_the_formats_the_cli_offers():
    assert set(FORMATS) == {"text", "concise", "json", "sarif", "github"}


def test_an_unknown_format_is_a_value_error():
    with pytest.raises(ValueError, match="unknown report format 'xml'"):
        render("xml", fixture_findings(), fixture_context())


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_output_is_empty_or_ends_in_a_newline(format_name):
    for findings in ([], fixture_findings()):
        output = render(format_name, findings, fixture_context())
        assert output == "" or output.endswith("\n")


def test_no_findings():
    ctx = fixture_context()
    assert render("text", [], ctx) == ""
    assert render("concise", [], ctx) == ""
    assert render("github", [], ctx) == ""
    assert statistics([], ctx) == ""
    assert json.loads(render("json", [], ctx)) == []
    assert json.loads(render("sarif", [], ctx))["runs"][0]["results"] == []


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_bytes_that_were_not_utf8_still_give_utf8_output(format_name):
    finding = Finding(
        "S101", "invalid UTF-8 byte 0xff", "bad\udcff.rules", Span(1, 1, 1, 2), source_line="\udcff*filter"
    )
    output = render(format_name, [finding], fixture_context())
    output.encode("utf-8")
    if format_name == "sarif":
        assert '"uri": "bad%FF.rules"' in output
    elif format_name == "json":
        assert json.loads(output)[0]["path"] == "bad\udcff.rules"
    else:
        assert "bad\\xff.rules" in output or "bad\\udcff.rules" in output


def test_statistics_without_a_context_uses_the_catalogue():
    finding = fixture_findings()[0]
    assert statistics([finding, finding]).split() == ["2", "S102", "syntax-error"]


# ---------------------------------------------------------------------------------------
# text and concise
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severities", "summary"),
    [
        ([Severity.ERROR], "Found 1 problem (1 error, 0 warnings)."),
        ([Severity.WARNING, Severity.WARNING], "Found 2 problems (0 errors, 2 warnings)."),
        ([Severity.ERROR, Severity.WARNING, Severity.INFO], "Found 3 problems (1 error, 1 warning, 1 info)."),
    ],
)
def test_summary_line(severities, summary):
    findings = [Finding("S102", "bad", "a.v4", Span(1, 1, 1, 2), severity) for severity in severities]
    assert render("text", findings, fixture_context()).splitlines()[-1] == summary
    assert render("concise", findings, fixture_context()).splitlines()[-1] == summary


def test_quiet_leaves_out_the_summary():
    output = render("concise", fixture_findings(), fixture_context(show_summary=False))
    assert len(output.splitlines()) == len(fixture_findings())
    assert "Found" not in render("text", fixture_findings(), fixture_context(show_summary=False))


def test_carets_sit_under_the_span():
    text = render("text", fixture_findings()[:1], fixture_context()).splitlines()
    assert text[0] == "rules.v4:3:1: S102 line is not a table header, chain, command, comment or COMMIT"
    assert text[2] == "3 | INPUT -j ACCEPT"
    assert text[3] == "  | ^^^^^^^^^^^^^^^"


def test_carets_count_tabs_as_they_print():
    lines = render("text", fixture_findings()[1:2], fixture_context()).splitlines()
    source, carets = lines[2], lines[3]
    assert source == "7 | -A INPUT -p tcp    --dport"
    assert carets.index("^") == len(source)  # one past the end: where the missing value goes


def test_carets_count_wide_characters_twice():
    finding = Finding("S108", "bad", "a.v4", Span(1, 26, 1, 29), source_line='-m comment --comment "日本" -j x')
    lines = render("text", [finding], fixture_context()).splitlines()
    assert lines[3] == "  |" + " " * 28 + "^^^"


def test_a_long_line_is_cut_around_the_span():
    source = "-A INPUT " + "-m comment --comment x " * 30 + "-j DROPP"
    start = source.index("DROPP") + 1
    finding = Finding("S120", "no chain DROPP", "a.v4", Span(1, start, 1, start + 5), source_line=source)
    lines = render("text", [finding], fixture_context()).splitlines()
    assert lines[2].startswith("1 | …") and lines[2].endswith("-j DROPP")
    assert lines[3].endswith("^^^^^") and lines[3].index("^") == lines[2].index("DROPP")
    head = Finding("S120", "no chain INPUT", "a.v4", Span(1, 4, 1, 9), source_line=source)
    lines = render("text", [head], fixture_context()).splitlines()
    assert lines[2].startswith("1 | -A INPUT -m") and lines[2].endswith("…")
    assert lines[3] == "  |    ^^^^^"


def test_without_source():
    output = render("text", fixture_findings()[:1], fixture_context(show_source=False))
    assert "|" not in output and "^" not in output


def test_one_line_per_finding_even_with_line_breaks_in_messages():
    lines = render("concise", fixture_findings(), fixture_context(show_summary=False)).splitlines()
    assert [line.split(": ")[0].split(":")[0] for line in lines][:2] == ["rules.v4", "rules.v4"]
    assert all(re.match(r"^.+:\d+:\d+: [A-Z]\d+ ", line) for line in lines)


def test_color_only_when_asked():
    assert "\x1b[" not in render("text", fixture_findings(), fixture_context())
    assert "\x1b[" not in render("concise", fixture_findings(), fixture_context())
    assert "\x1b[31m" in render("concise", fixture_findings(), fixture_context(color=True))


# ---------------------------------------------------------------------------------------
# github
# ---------------------------------------------------------------------------------------


def test_github_escaping():
    assert escape_data("100%\r\nx: a,b") == "100%25%0D%0Ax: a,b"
    assert escape_property("my rules/100% a,b:c") == "my rules/100%25 a%2Cb%3Ac"


def test_github_annotation_of_the_odd_path():
    line = render("github", fixture_findings()[6:7], fixture_context())
    assert line.startswith("::warning file=my rules/100%25 docker%2Cv1%3Atest.rules,line=4,col=16,")
    assert ",title=S110::" in line
    assert line.endswith("100%25 of its options,%0Aunchecked: see --help\n")


def test_github_leaves_out_columns_of_a_span_over_lines():
    line = render("github", fixture_findings()[5:6], fixture_context())
    assert line.startswith("::error file=rules.v4,line=20,endLine=22,title=S105::")


def test_github_paths_under_the_root_are_relative():
    finding = Finding("S102", "bad", "/work/repo/etc/rules.v4", Span(1, 1, 1, 2))
    assert render("github", [finding], fixture_context(root="/work/repo")).startswith("::error file=etc/rules.v4,")
    assert render("github", [finding], fixture_context(root="/elsewhere")).startswith("::error file=/work/repo/etc/")


def test_github_levels():
    commands = [line.split(" ")[0] for line in render("github", fixture_findings(), fixture_context()).splitlines()]
    assert commands[:5] == ["::error", "::error", "::error", "::warning", "::notice"]


# ---------------------------------------------------------------------------------------
# json
# ---------------------------------------------------------------------------------------

JSON_KEYS = [
    "code",
    "name",
    "severity",
    "message",
    "path",
    "line",
    "column",
    "end_line",
    "end_column",
    "table",
    "chain",
    "rule_index",
    "related",
    "fix",
]


def validate_json_report(output: str) -> list:
    data = json.loads(output)
    jsonschema.validate(data, json.loads(JSON_SCHEMA.read_text()))
    return data


def test_json_has_exactly_the_documented_keys_in_order():
    data = validate_json_report(render("json", fixture_findings(), fixture_context()))
    assert all(list(item) == JSON_KEYS for item in data)
    assert data[3]["related"][0] == {
        "message": "shadowed by this rule",
        "path": "rules.v4",
        "line": 5,
        "column": 1,
        "end_line": 5,
        "end_column": 32,
    }
    assert data[2]["fix"] == {"description": "put `!` before the option", "replacement": "! -s 10.0.0.0/8"}
    assert data[7]["name"] is None


def test_json_schema_rejects_a_changed_shape():
    item = json.loads(render("json", fixture_findings()[:1], fixture_context()))[0]
    schema = json.loads(JSON_SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    for broken in ({**item, "extra": 1}, {k: v for k, v in item.items() if k != "fix"}, {**item, "line": 0}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate([broken], schema)


def test_json_format_doc_lists_every_key_and_its_example_is_valid():
    doc = (ROOT / "docs" / "json-format.md").read_text()
    assert all(f"`{key}`" in doc for key in JSON_KEYS)
    example = re.search(r"```json\n(.*?)```", doc, re.DOTALL)
    assert example is not None
    validate_json_report(example.group(1))


def test_json_schema_requires_the_keys_the_renderer_writes():
    schema = json.loads(JSON_SCHEMA.read_text())
    assert schema["$defs"]["finding"]["required"] == JSON_KEYS
    assert list(schema["$defs"]["finding"]["properties"]) == JSON_KEYS


# ---------------------------------------------------------------------------------------
# sarif
# ---------------------------------------------------------------------------------------


def validate_sarif(output: str) -> dict:
    if not SARIF_SCHEMA.exists():
        pytest.skip(f"the SARIF schema is not at {SARIF_SCHEMA}")
    data = json.loads(output)
    jsonschema.validate(data, json.loads(SARIF_SCHEMA.read_text()))
    return data


def test_sarif_of_the_fixture_is_valid():
    validate_sarif(render("sarif", fixture_findings(), fixture_context()))
    validate_sarif(render("sarif", fixture_findings(), fixture_context(root="/work/repo")))
    validate_sarif(render("sarif", [], fixture_context()))


def test_sarif_rules_and_results_agree():
    data = validate_sarif(render("sarif", fixture_findings(), fixture_context()))
    run = data["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted({f.code for f in fixture_findings()})
    for item in run["results"]:
        assert rules[item["ruleIndex"]]["id"] == item["ruleId"]
    levels = [item["level"] for item in run["results"]]
    assert levels == ["error", "error", "error", "warning", "note", "error", "warning", "note"]
    shadowed = rules[[r["id"] for r in rules].index("S205")]
    assert shadowed["help"]["markdown"].startswith("A rule never matches.\n\n## What it does")
    assert shadowed["fullDescription"]["text"] == "Flags shadows."
    assert shadowed["defaultConfiguration"]["level"] == "warning"


def test_sarif_paths_are_uri_references():
    run = json.loads(render("sarif", fixture_findings(), fixture_context()))["runs"][0]
    uris = [item["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for item in run["results"]]
    assert uris[-1] == "my%20rules/100%25%20docker%2Cv1%3Atest.rules"
    findings = [Finding("S102", "bad", "/work/repo/etc/rules.v4", Span(1, 1, 1, 2))]
    rooted = json.loads(render("sarif", findings, fixture_context(root="/work/repo")))["runs"][0]
    assert rooted["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "etc/rules.v4",
        "uriBaseId": "%SRCROOT%",
    }
    assert rooted["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///work/repo/"
    unrooted = json.loads(render("sarif", findings, fixture_context()))["runs"][0]
    assert unrooted["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "file:///work/repo/etc/rules.v4"
    }


def test_sarif_fixes_and_related_locations():
    results = json.loads(render("sarif", fixture_findings(), fixture_context()))["runs"][0]["results"]
    replacement = results[2]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement == {
        "deletedRegion": {"startLine": 9, "startColumn": 10, "endLine": 9, "endColumn": 25},
        "insertedContent": {"text": "! -s 10.0.0.0/8"},
    }
    shadowed = results[3]
    assert "fixes" not in shadowed
    assert shadowed["message"]["text"].endswith("\nhelp: delete the rule or move it above line 5")
    assert [(r["id"], r["message"]["text"]) for r in shadowed["relatedLocations"]] == [
        (0, "shadowed by this rule"),
        (1, "jumped to from here"),
    ]
    assert shadowed["relatedLocations"][1]["physicalLocation"]["artifactLocation"]["uri"] == "common.v4"


def test_sarif_snippets_where_the_source_is_known():
    results = json.loads(render("sarif", fixture_findings(), fixture_context()))["runs"][0]["results"]
    negation = results[2]["locations"][0]["physicalLocation"]
    assert negation["region"]["snippet"] == {"text": "-s ! 10.0.0.0/8"}
    assert negation["contextRegion"] == {"startLine": 9, "snippet": {"text": "-A INPUT -s ! 10.0.0.0/8 -j DROP\r"}}
    over_lines, no_source = (
        results[5]["locations"][0]["physicalLocation"],
        results[6]["locations"][0]["physicalLocation"],
    )
    assert "snippet" not in over_lines["region"] and "contextRegion" not in over_lines
    assert "snippet" not in no_source["region"] and "contextRegion" not in no_source


# ---------------------------------------------------------------------------------------
# Real lint output
# ---------------------------------------------------------------------------------------

SYNTAX_ERRORS = """*filter
:INPUT DROP [0:0]
INPUT -j ACCEPT
-A INPUT -s ! 10.0.0.0/8 -j DROP
-A INPUT -p tcp --dport
-A INPUT -p tcp -m tcp --dport 70000 -j ACCEPT
*nat
"""


def real_findings(tmp_path: Path) -> list[Finding]:
    paths = sorted(CORPUS.glob("moby-docker/*.rules"))[:5]
    paths.append(CORPUS / "iptables-semantics" / "Parser_Test__data__iptables-save.rules")
    broken = tmp_path / "odd dir" / "100% broken.rules"
    broken.parent.mkdir()
    broken.write_text(SYNTAX_ERRORS)
    paths.append(broken)
    findings = []
    for path in paths:
        findings.extend(lint(path.read_text(), str(path)).findings)
    assert {f.path for f in findings if f.code in ("S102", "S114")} == {str(broken)}
    return findings


def real_context(**overrides) -> ReportContext:
    return ReportContext(rules={info.code: info for info in all_rules()}, version=__version__, **overrides)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not present")
def test_real_output_is_valid_sarif(tmp_path):
    findings = real_findings(tmp_path)
    data = validate_sarif(render("sarif", findings, real_context()))
    assert len(data["runs"][0]["results"]) == len(findings)
    validate_sarif(render("sarif", findings, real_context(root=str(tmp_path))))


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not present")
def test_real_output_is_valid_json(tmp_path):
    findings = real_findings(tmp_path)
    assert len(validate_json_report(render("json", findings, real_context()))) == len(findings)


@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not present")
@pytest.mark.parametrize("format_name", ["text", "concise", "github"])
def test_real_output_has_a_line_per_finding(tmp_path, format_name):
    findings = real_findings(tmp_path)
    output = render(format_name, findings, real_context(show_source=False, show_summary=False))
    headers = [line for line in output.splitlines() if line and not line.startswith(" ")]
    assert len(headers) == len(findings)
