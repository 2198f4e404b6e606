"""Reports: findings in, text out, one module per output format.

Every format is a pure function `render(findings, ctx) -> str` in its own module:

| name      | module                         | for                                          |
|-----------|--------------------------------|----------------------------------------------|
| `text`    | `iptlint/report/text.py`        | people: location, source line, carets, notes  |
| `concise` | `iptlint/report/concise.py`     | grep and editors: one line per finding        |
| `json`    | `iptlint/report/json_format.py` | programs: the schema in `docs/json-format.md` |
| `sarif`   | `iptlint/report/sarif.py`       | code scanning: SARIF 2.1.0                    |
| `github`  | `iptlint/report/github.py`      | GitHub Actions workflow-command annotations   |

`statistics(findings)` is the `--statistics` table (`iptlint/report/statistics.py`).

Renderers print findings in the order they are given (the CLI sorts them with
`Finding.sort_key`), never read files or the clock, and return either the empty string
(nothing to print) or text ending in a newline.

Usage from the CLI::

    ctx = ReportContext(rules={i.code: i for i in all_rules()}, version=__version__)
    sys.stdout.write(render("sarif", findings, ctx))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from iptlint.findings import Finding
from iptlint.report import statistics as statistics_format  # before `def statistics`, which takes the name
from iptlint.rules import RuleInfo

__all__ = ["FORMATS", "INFORMATION_URI", "Renderer", "ReportContext", "render", "statistics"]

INFORMATION_URI = "https://github.com/iptlint/iptlint"


@dataclass(frozen=True)
class ReportContext:
    """What a renderer may know besides the findings; everything but `rules` and `version` is optional.

    rules: the rule catalogue by code (`{i.code: i for i in iptlint.rules.all_rules()}`); a
        finding whose code is missing is still reported, without a name or documentation.
    version: iptlint's version, for SARIF's `tool.driver.version`.
    color: ANSI colours in `text` and `concise` (the CLI decides: a terminal, no `--no-color`).
    files: every file that was checked, in order, findings or not (SARIF `artifacts`).
    show_source: `text` prints the source line with carets under the span.
    show_summary: `text` and `concise` end with `Found N problems (...)` (off for `--quiet`).
    root: an absolute directory, normally the working directory (the repository in CI):
        `sarif` gives paths under it relative to `%SRCROOT%`, `github` relative to it.
    information_uri: where SARIF viewers send people to read about the tool.
    """

    rules: Mapping[str, RuleInfo]
    version: str
    color: bool = False
    files: tuple[str, ...] = ()
    show_source: bool = True
    show_summary: bool = True
    root: str | None = None
    information_uri: str = INFORMATION_URI

    def rule_info(self, code: str) -> RuleInfo | None:
        """The catalogue entry of `code`, or None for a code the catalogue does not know."""
        return self.rules.get(code)

    def rule_name(self, code: str) -> str | None:
        """The kebab-case name of `code` (`shadowed-rule`), or None when unknown."""
        info = self.rules.get(code)
        return info.name if info else None


Renderer = Callable[[Sequence[Finding], ReportContext], str]


class _Formats(Mapping[str, Renderer]):
    """Format name -> its `render`, each module imported when its format is first used (a run
    prints one format: importing the others would only slow its start)."""

    def __init__(self, modules: dict[str, str]) -> None:
        self._modules = modules

    def __getitem__(self, name: str) -> Renderer:
        return importlib.import_module(f"{__name__}.{self._modules[name]}").render

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


FORMATS: Mapping[str, Renderer] = _Formats(
    {"text": "text", "concise": "concise", "json": "json_format", "sarif": "sarif", "github": "github"}
)


def render(format_name: str, findings: Sequence[Finding], ctx: ReportContext) -> str:
    """Render `findings` in the format called `format_name` (a key of `FORMATS`).

    Raises ValueError for an unknown format name.
    """
    try:
        renderer = FORMATS[format_name]
    except KeyError:
        known = ", ".join(sorted(FORMATS))
        raise ValueError(f"unknown report format {format_name!r} (known: {known})") from None
    return renderer(findings, ctx)


def statistics(findings: Sequence[Finding], ctx: ReportContext | None = None) -> str:
    """A count of findings per code, most frequent first (`iptlint check --statistics`).

    Names come from `ctx.rules`, or from the built-in catalogue when no context is given.
    """
    if ctx is None:
        ctx = _default_context()
    return statistics_format.render(findings, ctx)


def _default_context() -> ReportContext:
    """A context with the built-in rule catalogue, for callers that have none."""
    from iptlint import __version__
    from iptlint.rules import all_rules

    return ReportContext(rules={info.code: info for info in all_rules()}, version=__version__)
