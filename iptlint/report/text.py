"""The `text` format: for people at a terminal, in the manner of ruff and rustc.

Each finding is a header, the offending source line with carets under the span, its
related locations as notes and its fix as help (after a closing gutter bar when there
are any), then a blank line::

    rules.v4:12:1: S205 this rule never matches: an earlier rule takes all its packets
       |
    12 | -A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
       | ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
       |
       = note: rules.v4:5:1: shadowed by this rule
       = help: delete the rule or move it above line 5

    Found 1 problem (0 errors, 1 warning).

The summary counts errors and warnings, and info findings when there are any; `--quiet`
(`ctx.show_summary=False`) leaves it out.  With no findings nothing at all is printed:
the exit code says the file is clean, as with ShellCheck and hadolint.

Tabs in the source line become four spaces and control characters (a CRLF's `\\r`)
their visible Unicode pictures (`␍`), so carets stay under the span.  A span that runs
onto later lines is underlined to the end of its first line.  A source line longer than
200 characters is cut to 200 around the span, with `…` where text was left out.  With
`ctx.color`, ANSI colours mark the severity (red error, yellow warning, cyan info).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

from iptlint.findings import Finding, Severity

if TYPE_CHECKING:
    from iptlint.report import ReportContext

TAB_WIDTH = 4
MAX_SOURCE_CHARS = 200  # a longer source line is cut around the span
CONTEXT_BEFORE = 40  # characters kept before the span in a cut line
ELLIPSIS = "…"

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
BLUE = "\x1b[34m"
CYAN = "\x1b[36m"
SEVERITY_COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: CYAN}


def render(findings: Sequence[Finding], ctx: ReportContext) -> str:
    """Every finding in full, then the summary line; the empty string for no findings."""
    if not findings:
        return ""
    blocks = [render_finding(finding, ctx) for finding in findings]
    if ctx.show_summary:
        blocks.append(summary_line(findings, ctx.color) + "\n")
    return "\n".join(blocks)


def render_finding(finding: Finding, ctx: ReportContext) -> str:
    """One finding: header line, source excerpt, notes and help, each line ending in a newline."""
    gutter = len(str(finding.span.line)) + 1
    lines = [header(finding, ctx.color)]
    notes_lines = notes(finding, gutter, ctx.color)
    if ctx.show_source and finding.source_line is not None:
        lines.extend(source_excerpt(finding, gutter, ctx.color, closed=bool(notes_lines)))
    lines.extend(notes_lines)
    return "".join(line + "\n" for line in lines)


def header(finding: Finding, color: bool) -> str:
    """`path:line:col: CODE message`, the part `concise` prints alone."""
    location = f"{visible(finding.path)}:{finding.span.line}:{finding.span.column}:"
    code = paint(finding.code, BOLD + SEVERITY_COLORS[finding.severity], color)
    return f"{paint(location, BOLD, color)} {code} {visible(finding.message)}"


def source_excerpt(finding: Finding, gutter: int, color: bool, closed: bool) -> list[str]:
    """The source line after a gutter bar, with carets under the span; `closed`: a bar after them too."""
    assert finding.source_line is not None
    shown, start, end = clip(finding.source_line, *span_offsets(finding))
    bar = paint(" " * gutter + "|", BLUE, color)
    number = paint(f"{finding.span.line:>{gutter - 1}} |", BLUE, color)
    carets = paint(underline(shown, start, end), BOLD + SEVERITY_COLORS[finding.severity], color)
    return [
        bar,
        f"{number} {visible(shown, expand_tabs=True)}".rstrip(),
        f"{bar} {carets}",
        *([bar] if closed else []),
    ]


def span_offsets(finding: Finding) -> tuple[int, int]:
    """0-based start and end offsets of the span in its first line (to the line's end if it goes on)."""
    source = finding.source_line or ""
    span = finding.span
    start = span.column - 1
    end = span.end_column - 1 if span.end_line == span.line else len(source)
    return start, max(start, end)


def clip(source: str, start: int, end: int) -> tuple[str, int, int]:
    """A line of at most MAX_SOURCE_CHARS around the span's start, `…` where text was cut, and the new offsets."""
    if len(source) <= MAX_SOURCE_CHARS:
        return source, start, end
    left = max(0, min(start - CONTEXT_BEFORE, len(source) - MAX_SOURCE_CHARS))
    right = left + MAX_SOURCE_CHARS
    prefix = ELLIPSIS if left > 0 else ""
    suffix = ELLIPSIS if right < len(source) else ""
    shift = len(prefix) - left
    return prefix + source[left:right] + suffix, start + shift, min(end, right) + shift


def underline(shown: str, start: int, end: int) -> str:
    """Spaces up to offset `start` of the shown line, then a caret per display cell up to `end` (at least one)."""
    padding = display_width(visible(shown[:start], expand_tabs=True)) + max(0, start - len(shown))
    width = display_width(visible(shown[start:end], expand_tabs=True))
    return " " * padding + "^" * max(1, width)


def notes(finding: Finding, gutter: int, color: bool) -> list[str]:
    """`= note:` for each related location, then `= help:` for the fix."""
    equals = paint(" " * gutter + "=", BLUE, color)
    note = paint("note", BOLD, color)
    found = [f"{equals} {note}: {related_location(finding, index)}" for index in range(len(finding.related))]
    if finding.fix is not None:
        found.append(f"{equals} {paint('help', BOLD + CYAN, color)}: {fix_text(finding)}")
    return found


def related_location(finding: Finding, index: int) -> str:
    """`path:line:col: message` of the finding's related location number `index`."""
    related = finding.related[index]
    path = related.path if related.path is not None else finding.path
    return f"{visible(path)}:{related.span.line}:{related.span.column}: {visible(related.message)}"


def fix_text(finding: Finding) -> str:
    """The fix in words, with its replacement text for the span when it has one."""
    assert finding.fix is not None
    description = visible(finding.fix.description)
    replacement = finding.fix.replacement
    if replacement is None:
        return description
    if replacement == "":
        return f"{description} (delete `{visible(finding_text(finding))}`)"
    return f"{description} (replace with `{visible(replacement)}`)"


def finding_text(finding: Finding) -> str:
    """The text under the span in its first line, as far as the source line is known."""
    start, end = span_offsets(finding)
    return (finding.source_line or "")[start:end]


def summary_line(findings: Sequence[Finding], color: bool = False) -> str:
    """`Found 3 problems (1 error, 1 warning, 1 info).`: info only when there is some."""
    counts = {severity: sum(1 for f in findings if f.severity == severity) for severity in Severity}
    parts = [plural(counts[Severity.ERROR], "error"), plural(counts[Severity.WARNING], "warning")]
    if counts[Severity.INFO]:
        parts.append(f"{counts[Severity.INFO]} info")
    text = f"Found {plural(len(findings), 'problem')} ({', '.join(parts)})."
    return paint(text, BOLD, color)


def plural(count: int, noun: str) -> str:
    """`1 error`, `2 errors`."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def paint(text: str, style: str, color: bool) -> str:
    """`text` in an ANSI style when colours are on, else unchanged."""
    return f"{style}{text}{RESET}" if color and text else text


def visible(text: str, expand_tabs: bool = False) -> str:
    """`text` safe for one terminal line: control characters as their Unicode pictures (`\\r` -> `␍`).

    Bytes that were not UTF-8 (surrogate escapes, `\\udcff`) print as `\\xff`.

    With `expand_tabs`, a tab is TAB_WIDTH spaces instead of `␉` (for source lines).
    """
    if text.isascii() and text.isprintable():  # nearly every line: nothing to replace
        return text
    return "".join(_visible_char(char, expand_tabs) for char in text)


def _visible_char(char: str, expand_tabs: bool) -> str:
    if char == "\t" and expand_tabs:
        return " " * TAB_WIDTH
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:  # a byte that was not UTF-8, kept by the surrogateescape decoder
        return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return char


def display_width(text: str) -> int:
    """Terminal cells `text` takes: wide East Asian characters two, combining marks none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
