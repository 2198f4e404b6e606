"""Every code is documented the same way, and its documentation is true.

For every code of the catalogue (parser diagnostics S1xx, checks, the engine's S301):
the doc has the four headings, its Example yields exactly that code, its Use-instead
yields none of it, `iptlint rule CODE` finds it, and its name says what is flagged.
Check modules honour the contract of `iptlint/checks/__init__.py`.  The structural
checks (S2xx) raise no error on Docker's own layouts, and the kernel agrees with their
examples.
"""

from __future__ import annotations

import re
from pathlib import Path

import kernel
import pytest

from iptlint import checks
from iptlint.findings import Severity
from iptlint.linter import Settings, lint
from iptlint.rules import all_rules, rule
from iptlint.syntax.ast import Family

SHARED = Path(__file__).resolve().parents[2] / "shared"
MOBY = SHARED / "corpus" / "real" / "moby-docker"
HEADINGS = ("## What it does", "## Why it matters", "## Example", "## Use instead")
FORBIDDEN_NAME_PREFIXES = ("avoid-", "use-", "prefer-", "no-")
CODES = [info.code for info in all_rules()]

# Docs known to be wrong, owned elsewhere: code -> why.  Remove an entry once fixed.
KNOWN_BAD_EXAMPLES: dict[str, str] = {}


def with_known_bad(codes: list[str], known: dict[str, str]) -> list:
    return [pytest.param(c, marks=pytest.mark.xfail(reason=known[c])) if c in known else c for c in codes]


# Structural checks whose Example the kernel refuses (the point of the check), with the
# backends that refuse it; the Examples of the others load, they are legal but dubious.
KERNEL_REFUSES = {
    "S201": kernel.BACKENDS,
    "S203": kernel.BACKENDS,
    "S204": kernel.BACKENDS,
    "S208": kernel.BACKENDS,
    "S209": ("nft",),  # nf_tables' jump stack; x_tables has none
}


def fenced_block(doc: str, heading: str) -> str:
    """The first fenced block after `heading` in a doc."""
    found = re.search(re.escape(heading) + r"\n(?:[^`]*?\n)?```[a-z]*\n(.*?)```", doc, re.S)
    assert found, f"no fenced block under {heading!r}"
    return found.group(1)


def codes_found(text: str, code: str) -> set[str]:
    """The codes `code` selects in a doc's dump, read as the bytes of a file (S101 has bad bytes)."""
    data = text.encode("utf-8", "surrogateescape")
    return {finding.code for finding in lint(data, "example.rules", Settings(select=(code,))).findings}


@pytest.mark.parametrize("code", CODES)
def test_doc_has_every_heading(code):
    doc = rule(code).doc
    missing = [heading for heading in HEADINGS if heading not in doc]
    assert not missing, f"{code} doc lacks {missing}"


@pytest.mark.parametrize("code", with_known_bad(CODES, KNOWN_BAD_EXAMPLES))
def test_example_yields_exactly_its_code(code):
    assert codes_found(fenced_block(rule(code).doc, "## Example"), code) == {code}


@pytest.mark.parametrize("code", CODES)
def test_use_instead_does_not_yield_its_code(code):
    assert code not in codes_found(fenced_block(rule(code).doc, "## Use instead"), code)


@pytest.mark.parametrize("code", CODES)
def test_rule_lookup_works_for_every_code(code):
    info = rule(code)
    assert info is not None and info.code == code
    assert rule(code.lower()) == info
    assert info.summary and not info.summary.startswith("#")


def test_codes_and_names_are_unique():
    infos = all_rules()
    assert len({info.code for info in infos}) == len(infos)
    assert len({info.name for info in infos}) == len(infos)


@pytest.mark.parametrize("code", CODES)
def test_name_says_what_is_flagged(code):
    name = rule(code).name
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name), f"{name!r} is not kebab-case"
    assert not name.startswith(FORBIDDEN_NAME_PREFIXES), f"{name!r} names a remedy, not what is flagged"


@pytest.mark.parametrize("code", sorted(checks.modules()))
def test_check_module_honours_the_contract(code):
    module = checks.module(code)
    assert code == module.CODE
    assert isinstance(module.NAME, str) and module.NAME
    assert isinstance(module.SEVERITY, Severity)
    assert isinstance(module.DEFAULT, bool)
    assert callable(module.check)
    assert module.__doc__ and module.__doc__.strip().splitlines()[0].endswith(".")


def docker_layouts() -> list[Path]:
    return sorted([*MOBY.glob("v27-era*.rules"), *MOBY.glob("v28.5.2__iptablesdoc__*.rules")])


def test_docker_layouts_are_present():
    if not MOBY.is_dir():
        pytest.skip(f"shared corpus not found at {MOBY}")
    assert docker_layouts(), f"no v27-era or v28.5.2 iptablesdoc layout under {MOBY}"


@pytest.mark.parametrize("path", docker_layouts(), ids=lambda path: path.name)
def test_no_structural_error_on_docker_layouts(path):
    result = lint(path.read_bytes(), str(path), Settings(select=("S2",)))
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    assert not errors, [(f.code, f.span.line, f.message) for f in errors]


@pytest.mark.parametrize("path", sorted(MOBY.glob("*.rules")), ids=lambda path: path.name)
def test_docker_dumps_raise_no_structural_finding_at_all(path):
    """Docker's own dumps, every generation: not even a warning (S206, off by default, included)."""
    result = lint(path.read_bytes(), str(path), Settings(select=("S2",)))
    assert not result.findings, [(f.code, f.span.line, f.message) for f in result.findings]


STRUCTURAL = sorted(code for code in checks.modules() if code.startswith("S2"))


@pytest.mark.kernel
@pytest.mark.parametrize("code", STRUCTURAL)
@pytest.mark.parametrize("backend", kernel.BACKENDS)
def test_kernel_agrees_with_the_examples(code, backend, root_tools):
    doc = rule(code).doc
    example = kernel.restore_in_fresh_namespace(fenced_block(doc, "## Example"), backend, Family.IPV4)
    fixed = kernel.restore_in_fresh_namespace(fenced_block(doc, "## Use instead"), backend, Family.IPV4)
    assert fixed.ok, fixed.describe()
    assert example.ok is (backend not in KERNEL_REFUSES.get(code, ())), example.describe()
