"""The command line: arguments in, exit code out.  No formatting here (see iptlint/report/).

Exit codes: 0 no finding at or above --fail-on, 1 findings, 2 usage, I/O or configuration
error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iptlint import __version__, cache
from iptlint.config import Config, ConfigError, config_for, load_config
from iptlint.findings import Finding, Severity
from iptlint.policy.load import PolicyError, load_policy
from iptlint.syntax.ast import Family

DUMP_PATTERNS = ("*.rules", "*.v4", "*.v6", "rules.v4", "rules.v6", "*.iptables", "*.save")
EXIT_OK, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Info findings explain (an exposed port, a redundant rule); they fail only with --fail-on info.
DEFAULT_FAIL_ON = "warning"

EXAMPLES = """\
examples:
  iptlint check /etc/iptables/rules.v4
  iptlint check infra/firewall/            # every *.rules, *.v4, *.v6, *.save... below
  iptables-save | iptlint check - --stdin-filename host.rules
  iptlint check --select S2 --ignore S205 --format sarif -o iptlint.sarif rules.v4
  iptlint rules                            # every code, its severity and default
  iptlint rule S207                        # what a code means, with examples
  iptlint parse rules.v4 --format json     # the typed AST, for other tools
  iptlint diff git:HEAD:rules.v4 rules.v4   # what a change does to packets, ports, findings
  iptlint trace rules.v4 --in eth0 --dst 203.0.113.10 --dport 80 --local-address 203.0.113.10
"""


class UsageError(Exception):
    pass


def _codes(text: str) -> tuple[str, ...]:
    return tuple(c.strip().upper() for c in text.split(",") if c.strip())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iptlint",
        description="A static linter and policy checker for iptables-save dumps, Docker-aware.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"iptlint {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = commands.add_parser(
        "check", help="lint dumps", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories; '-' reads standard input")
    check.add_argument(
        "--select", type=_codes, help="codes or prefixes to report (comma-separated), instead of the defaults"
    )
    check.add_argument("--extend-select", type=_codes, default=(), help="codes or prefixes to report in addition")
    check.add_argument("--ignore", type=_codes, default=(), help="codes or prefixes never to report")
    check.add_argument("--policy", action="append", default=[], metavar="FILE", help="a policy file (repeatable)")
    check.add_argument(
        "--format", choices=("text", "concise", "json", "sarif", "github"), default="text", help="output format"
    )
    check.add_argument("-o", "--output-file", metavar="FILE", help="write the report to FILE instead of stdout")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument(
        "--fail-on", choices=("error", "warning", "info"), help="lowest severity that fails (default: info)"
    )
    check.add_argument("--statistics", action="store_true", help="print the count of findings per code")
    check.add_argument("-q", "--quiet", action="store_true", help="print findings only, no summary")
    check.add_argument("--stdin-filename", metavar="NAME", help="the name to report for standard input")
    check.add_argument("--family", choices=("auto", "ipv4", "ipv6"), help="address family (default: from the dump)")
    _add_input_options(check)
    check.add_argument("--docker", metavar="GENERATION", help="Docker layout: auto, off or a generation")
    check.add_argument("--config", metavar="FILE", help="use this configuration file")
    check.add_argument("--no-config", action="store_true", help="ignore configuration files")
    check.add_argument("--no-color", action="store_true", help="no ANSI colours")
    check.add_argument("--ipset", metavar="FILE", help="`ipset save` output: makes -m set matches exact")
    _add_local_address_option(check)
    check.add_argument(
        "--pair",
        nargs=2,
        action="append",
        default=[],
        metavar=("V4", "V6"),
        help="compare these IPv4 and IPv6 dumps (X010; rules.v4/rules.v6, foo.rules/foo6.rules pair by name)",
    )
    check.add_argument(
        "--counters-from", metavar="OLD", help="an earlier `iptables-save -c` of the same ruleset: show which rules hit"
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="neither read nor write iptlint's cache (also IPTLINT_NO_CACHE=1; where: IPTLINT_CACHE_DIR)",
    )
    check.add_argument("--baseline", metavar="FILE", help="ignore the findings recorded in FILE")
    check.add_argument("--write-baseline", metavar="FILE", help="record every current finding in FILE and exit 0")

    rules = commands.add_parser("rules", help="list every code with its name, severity and default")
    rules.add_argument("--format", choices=("text", "json"), default="text")

    rule = commands.add_parser("rule", help="explain one code")
    rule.add_argument("code")

    exposure = commands.add_parser("exposure", help="which published Docker ports the outside really reaches")
    exposure.add_argument("path", metavar="FILE", help="a dump, or '-' for standard input")
    exposure.add_argument("--format", choices=("text", "json"), default="text")
    _add_local_address_option(exposure)
    exposure.add_argument("--family", choices=("auto", "ipv4", "ipv6"))
    exposure.add_argument("--docker", metavar="GENERATION", help="Docker layout: auto or a generation")
    exposure.add_argument("--policy", action="append", default=[], metavar="FILE", help="a policy with allow-lists")
    exposure.add_argument("--ipset", metavar="FILE", help="`ipset save` output: makes -m set matches exact")

    parse = commands.add_parser("parse", help="print the typed AST of a dump")
    parse.add_argument("path", metavar="FILE", help="a dump, or '-' for standard input")
    parse.add_argument("--format", choices=("json",), default="json")
    parse.add_argument("--family", choices=("auto", "ipv4", "ipv6"))
    _add_input_options(parse)

    diff = commands.add_parser("diff", help="what changes between two dumps: packets, published ports, findings")
    diff.add_argument("old", nargs="?", metavar="OLD", help="a dump, or git:REV:PATH (read with git show)")
    diff.add_argument("new", nargs="?", metavar="NEW", help="a dump, or git:REV:PATH")
    diff.add_argument("--git-staged", metavar="PATH", help="diff PATH as staged (the index) against HEAD")
    diff.add_argument("--format", choices=("text", "json", "sarif", "github", "markdown"), default="text")
    _add_local_address_option(diff)
    diff.add_argument(
        "--fail-on",
        choices=("opened", "changed", "any"),
        default="opened",
        help="exit 1 when the change opens something (default), changes behaviour, or differs at all (findings too)",
    )
    diff.add_argument("-o", "--output-file", metavar="FILE", help="write the report to FILE instead of stdout")
    diff.add_argument("--ipset", metavar="FILE", help="`ipset save` output: makes -m set matches exact")
    diff.add_argument(
        "--max-walks",
        type=int,
        default=None,
        metavar="N",
        help="walk at most N probe packets (default 200000); above, a seeded sample, reported as not exhaustive",
    )

    trace = commands.add_parser("trace", help="follow one packet through the chains, rule by rule")
    trace.add_argument("path", metavar="FILE", help="a dump, or '-' for standard input")
    for word, dest, meaning in TRACE_WORDS:
        trace.add_argument(f"--{word}", dest=dest, metavar=word.upper().replace("-", "_"), help=meaning)
    _add_local_address_option(trace)
    trace.add_argument("--format", choices=("text", "json"), default="text")
    trace.add_argument("--family", choices=("auto", "ipv4", "ipv6"))
    _add_input_options(trace)
    _add_graph_commands(commands)
    _add_explain_commands(commands)
    return parser


def _add_graph_commands(commands) -> None:
    """`iptlint graph` (the chains as a flow graph) and `iptlint report` (one HTML page); see docs/graph.md."""
    graph = commands.add_parser("graph", help="the hooks, tables and chains as a flow graph (DOT, Mermaid, SVG)")
    graph.add_argument("path", metavar="FILE", help="a dump, or '-' for standard input")
    graph.add_argument("--format", choices=("dot", "mermaid", "svg"), default="dot")
    graph.add_argument("--trace", action="store_true", help="highlight the path of the packet the options describe")
    for word, dest, meaning in TRACE_WORDS:
        graph.add_argument(f"--{word}", dest=dest, metavar=word.upper().replace("-", "_"), help=meaning)
    _add_local_address_option(graph)
    graph.add_argument("--family", choices=("auto", "ipv4", "ipv6"))
    graph.add_argument("-o", "--output-file", metavar="FILE", help="write the graph to FILE instead of stdout")
    _add_input_options(graph)

    report = commands.add_parser("report", help="one self-contained HTML page: findings, exposure, chains, graph")
    report.add_argument("path", metavar="FILE", help="a dump, or '-' for standard input")
    report.add_argument("-o", "--output-file", metavar="FILE", help="write the page to FILE instead of stdout")
    _add_local_address_option(report)
    report.add_argument("--policy", action="append", default=[], metavar="FILE", help="a policy file (repeatable)")
    report.add_argument("--family", choices=("auto", "ipv4", "ipv6"))
    _add_input_options(report)


def _add_explain_commands(commands) -> None:
    """`explain FILE` (each rule in plain English) and `counters OLD NEW` (what traffic hit)."""
    explain = commands.add_parser("explain", help="say what every rule does, in the order a packet meets them")
    explain.add_argument("path", metavar="FILE", help="a dump or listing; '-' reads standard input")
    explain.add_argument("--chain", metavar="C", help="only this chain")
    explain.add_argument("--table", choices=("raw", "mangle", "nat", "filter", "security"), help="only this table")
    explain.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    explain.add_argument(
        "--input-format", choices=("auto", "save", "rules", "listing"), default="auto", help="default: detected"
    )
    explain.add_argument("-o", "--output-file", metavar="FILE", help="write to FILE instead of stdout")
    counters = commands.add_parser(
        "counters", help="which rules the traffic between two snapshots of one ruleset hit (counter deltas)"
    )
    counters.add_argument("old", metavar="OLD", help="the earlier snapshot (iptables-save -c or iptables -L -v)")
    counters.add_argument("new", metavar="NEW", help="the later snapshot")
    counters.add_argument(
        "--input-format", choices=("auto", "save", "rules", "listing"), default="auto", help="default: detected"
    )


def _read_text(path: str) -> str:
    return _read(path)[0].decode("utf-8", errors="surrogateescape")


def run_explain(args: argparse.Namespace) -> int:
    from iptlint.explain import explain
    from iptlint.report.explain import render

    explanation = explain(_read_text(args.path), args.path, args.input_format, args.chain, args.table)
    if not explanation.chains:
        raise UsageError(f"{args.path}: no chain matches --chain/--table")
    _write(render(args.format, explanation), args.output_file)
    return 0


def run_counters(args: argparse.Namespace) -> int:
    from iptlint.explain.counters import counter_deltas, render_deltas
    from iptlint.syntax.formats import parse_input

    old, new = (parse_input(_read_text(p), p, input_format=args.input_format).ruleset for p in (args.old, args.new))
    sys.stdout.write(render_deltas(counter_deltas(old, new)))
    return 0


def _check_local_addresses(args: argparse.Namespace) -> None:
    """Every `--local-address` checked before any work: a bad one is one line and exit 2, never a traceback."""
    if not getattr(args, "local_address", None):
        return
    from iptlint.semantics.walk import LocalAddress

    for text in args.local_address:
        try:
            LocalAddress.parse(text)
        except ValueError as error:
            raise UsageError(f"--local-address: {error}") from None


def _add_local_address_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--local-address",
        action="append",
        default=[],
        metavar="ADDR[/PREFIX][@IFACE]",
        help="an address of the host (repeatable); /PREFIX: its subnet, whose broadcast address is local too; "
        "@IFACE: its interface, whose first address is where REDIRECT sends",
    )


def _add_input_options(command: argparse.ArgumentParser) -> None:
    """--input-format and --table: read `iptables -S` rules or `iptables -L` listings too."""
    command.add_argument(
        "--input-format",
        choices=("auto", "save", "rules", "listing"),
        default="auto",
        help="save (iptables-save), rules (iptables -S), listing (iptables -L -n -v); default: detected",
    )
    command.add_argument(
        "--table",
        choices=("raw", "mangle", "nat", "filter", "security"),
        help="the table of rules or a listing that does not name it (default: from a header, else filter)",
    )


TRACE_WORDS = (  # option, packet word, help
    ("in", "in", "incoming interface (none: the host sends the packet)"),
    ("out", "out", "outgoing interface of a forwarded packet (default: inferred)"),
    ("src", "src", "source address"),
    ("dst", "dst", "destination address"),
    ("proto", "proto", "protocol, a name or number (default with ports: tcp)"),
    ("sport", "sport", "source port"),
    ("dport", "dport", "destination port"),
    ("state", "state", "conntrack state: NEW (default), ESTABLISHED, RELATED, INVALID, UNTRACKED"),
    ("mark", "mark", "packet mark (default 0)"),
    ("dst-local", "dst_local", "yes/no: whether the destination is local, when no address says"),
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    no_cache = getattr(args, "no_cache", False)
    if no_cache:
        cache.disable()
    try:
        return _run(parser, args)
    finally:
        _save_learned()
        if no_cache:
            cache.disable(False)  # main() may be called again in this process


def _save_learned() -> None:
    """Keep what the grammar learned this run (line shapes) for the next one (iptlint/cache.py)."""
    grammar = sys.modules.get("iptlint.syntax.grammar")
    if grammar is not None:
        grammar.save()


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        _check_local_addresses(args)
        if args.command == "check":
            return run_check(args)
        if args.command == "rules":
            return run_rules(args)
        if args.command == "rule":
            return run_rule(args)
        if args.command == "parse":
            return run_parse(args)
        if args.command == "exposure":
            return run_exposure(args)
        if args.command == "trace":
            return run_trace(args)
        if args.command == "diff":
            return run_diff(args)
        if args.command == "graph":
            return run_graph(args)
        if args.command == "report":
            return run_report(args)
        if args.command == "explain":
            return run_explain(args)
        if args.command == "counters":
            return run_counters(args)
        parser.print_help()
        return EXIT_ERROR
    except (UsageError, ConfigError, PolicyError) as error:
        print(f"iptlint: {error}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


# ---------------------------------------------------------------------------------------
# check
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Source:
    path: Path | None  # None: standard input
    name: str


def discover(paths: Sequence[str], stdin_name: str | None) -> tuple[list[_Source], list[str]]:
    """The dumps to lint, in a stable order, and the problems met finding them."""
    sources: list[_Source] = []
    problems: list[str] = []
    for text in paths or ["."]:
        if text == "-":
            sources.append(_Source(None, stdin_name or "-"))
            continue
        path = Path(text)
        if path.is_dir():
            found = sorted({p for pattern in DUMP_PATTERNS for p in path.rglob(pattern) if p.is_file()})
            found = [p for p in found if not any(part.startswith(".") and part not in (".", "..") for part in p.parts)]
            if not found:
                problems.append(f"{path}: no dump found (looked for {', '.join(DUMP_PATTERNS)})")
            sources.extend(_Source(p, str(p)) for p in found)
        elif path.exists():
            sources.append(_Source(path, str(path)))
        else:
            problems.append(f"{path}: no such file or directory")
    return sources, problems


def _check_docker_setting(value: str | None) -> None:
    from iptlint.docker.model import GENERATIONS

    if value is not None and value not in ("auto", "off", *GENERATIONS):
        raise UsageError(f"--docker {value!r}: use auto, off or one of {', '.join(GENERATIONS)}")


def _family(text: str | None) -> Family | None:
    return None if text in (None, "auto") else Family(text)


def _counter_report(old_path: str, new, name: str) -> str:
    """`check --counters-from OLD`: which rules the traffic between OLD and this dump hit."""
    from iptlint.explain.counters import counter_deltas, render_deltas
    from iptlint.syntax.formats import parse_input

    old = parse_input(_read_text(old_path), old_path).ruleset
    return f"\nCounters of {name} since {old_path}:\n" + render_deltas(counter_deltas(old, new))


def run_check(args: argparse.Namespace) -> int:
    from iptlint.linter import Settings, lint
    from iptlint.report import ReportContext, render, statistics
    from iptlint.rules import all_rules

    extra = [path for pair in args.pair for path in pair if path not in args.paths]
    sources, problems = discover([*args.paths, *dict.fromkeys(extra)], args.stdin_filename)
    partners = _partners(sources, args.pair)
    fixed_config = None
    if args.config:
        fixed_config = load_config(Path(args.config))
    _check_docker_setting(args.docker)
    cli_policies = tuple(load_policy(Path(p)) for p in args.policy)
    ipsets = _ipsets(args.ipset)
    findings: list[Finding] = []
    counter_reports: list[str] = []
    fail_on_config: str | None = None
    for source in sources:
        config = Config() if args.no_config else fixed_config or config_for(source.path or Path.cwd())
        fail_on_config = fail_on_config or config.fail_on
        docker = args.docker or config.docker or "auto"
        _check_docker_setting(docker)
        policies = tuple(load_policy(p) for p in config.policies) + cli_policies
        settings = Settings(
            select=args.select if args.select is not None else config.select,
            extend_select=tuple(config.extend_select) + tuple(args.extend_select),
            ignore=tuple(config.ignore) + tuple(args.ignore) + (config.ignores_for(source.path) if source.path else ()),
            family=_family(args.family or config.family) or partners.get(source.name, (None,))[0],
            check_options={
                "docker": docker,
                "policies": policies,
                "ipsets": ipsets,
                "local_addresses": tuple(args.local_address),
                **({"pair": partners[source.name][1]} if source.name in partners else {}),
            },
            input_format=args.input_format,
            table=args.table,
        )
        try:
            data = sys.stdin.buffer.read() if source.path is None else source.path.read_bytes()
        except OSError as error:
            problems.append(f"{source.name}: cannot read: {error.strerror}")
            continue
        result = lint(data, source.name, settings)
        findings.extend(result.findings)
        if args.counters_from:
            counter_reports.append(_counter_report(args.counters_from, result.ruleset, source.name))
    findings.sort(key=Finding.sort_key)
    for problem in problems:
        print(f"iptlint: {problem}", file=sys.stderr)
    if args.write_baseline:
        count = _baseline(lambda baseline: baseline.write(findings, Path(args.write_baseline)))
        print(f"iptlint: recorded {count} findings in {args.write_baseline}", file=sys.stderr)
        return EXIT_ERROR if problems else EXIT_OK
    if args.baseline:
        findings = _baseline(lambda baseline: baseline.without_baseline(findings, baseline.load(Path(args.baseline))))

    context = ReportContext(
        rules={info.code: info for info in all_rules()},
        version=__version__,
        color=not args.no_color and args.output_file is None and sys.stdout.isatty(),
        files=tuple(s.name for s in sources),
        show_summary=not args.quiet,
        root=str(Path.cwd()),
    )
    output = render(args.format, findings, context)
    if args.statistics:
        output = statistics(findings)
    if counter_reports:
        output = output + "".join(counter_reports)
    _write(output, args.output_file)

    if problems:
        return EXIT_ERROR
    fail_on = Severity.parse(args.fail_on or fail_on_config or DEFAULT_FAIL_ON)
    failing = [f for f in findings if f.severity >= fail_on]
    return EXIT_FINDINGS if failing and not args.exit_zero else EXIT_OK


def _baseline(action):
    """`action(iptlint.baseline)`, its BaselineError a UsageError (imported only when a baseline is used)."""
    from iptlint import baseline

    try:
        return action(baseline)
    except baseline.BaselineError as error:
        raise UsageError(str(error)) from None


def _partners(sources: Sequence[_Source], explicit: Sequence[Sequence[str]]) -> dict:
    """file name -> (its family, the parsed dump of the other family) for X010.

    Pairs by name (`iptlint.parity.pair_by_name`: the name says the family) and `--pair V4 V6`.
    """
    if not explicit and sum(source.path is not None for source in sources) < 2:
        return {}  # nothing to pair (and iptlint.parity need not be imported)
    from iptlint.parity import family_by_name, pair_by_name
    from iptlint.syntax.parser import parse_bytes

    by_name = {source.name: source for source in sources if source.path is not None}
    names = pair_by_name(by_name)
    families = family_by_name(names)
    for first, second in explicit:
        first, second = str(Path(first)), str(Path(second))
        names[first], names[second] = second, first
        families[first], families[second] = Family.IPV4, Family.IPV6
    found = {}
    for name, partner in names.items():
        source = by_name.get(partner)
        if name not in by_name or source is None:
            continue
        try:
            partner_dump = parse_bytes(source.path.read_bytes(), source.name, families[partner]).ruleset
            found[name] = (families[name], partner_dump)
        except OSError:
            continue
    return found


def _write(text: str, output_file: str | None) -> None:
    if not text:
        return
    if not text.endswith("\n"):
        text += "\n"
    if output_file is None:
        sys.stdout.write(text)
        return
    try:
        Path(output_file).write_text(text)
    except OSError as error:
        raise UsageError(f"{output_file}: cannot write: {error.strerror}") from None


# ---------------------------------------------------------------------------------------
# rules, rule, parse
# ---------------------------------------------------------------------------------------


def run_rules(args: argparse.Namespace) -> int:
    from iptlint.rules import all_rules

    infos = all_rules()
    if args.format == "json":
        rows = [
            {"code": i.code, "name": i.name, "severity": str(i.severity), "default": i.default, "summary": i.summary}
            for i in infos
        ]
        import json

        print(json.dumps(rows, indent=2))
        return EXIT_OK
    width = max(len(i.name) for i in infos)
    print(f"{'CODE':6} {'NAME':{width}} {'SEVERITY':8} {'DEFAULT':8} SUMMARY")
    for info in infos:
        default = "on" if info.default else "off"
        print(f"{info.code:6} {info.name:{width}} {info.severity!s:8} {default:8} {info.summary}")
    return EXIT_OK


def run_rule(args: argparse.Namespace) -> int:
    from iptlint.rules import rule

    info = rule(args.code)
    if info is None:
        raise UsageError(f"unknown code {args.code!r}: `iptlint rules` lists them")
    default = "enabled" if info.default else "disabled"
    print(f"{info.code} {info.name} ({info.severity}, {default} by default)\n")
    print(info.doc.rstrip())
    return EXIT_OK


def _ipsets(path: str | None) -> dict:
    if path is None:
        return {}
    from iptlint.semantics.ipset import IpsetError, parse_ipset_save

    try:
        return parse_ipset_save(Path(path).read_text(), path)
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None
    except IpsetError as error:
        raise UsageError(str(error)) from None


def _read(path: str) -> tuple[bytes, str]:
    if path == "-":
        return sys.stdin.buffer.read(), "-"
    try:
        return Path(path).read_bytes(), path
    except OSError as error:
        raise UsageError(f"{path}: cannot read: {error.strerror}") from None


def run_exposure(args: argparse.Namespace) -> int:
    from iptlint.analysis import Analysis
    from iptlint.report.exposure import render_json, render_text
    from iptlint.syntax.parser import parse_bytes

    _check_docker_setting(args.docker)
    data, name = _read(args.path)
    result = parse_bytes(data, name, _family(args.family))
    options = {
        "docker": args.docker or "auto",
        "local_addresses": tuple(args.local_address),
        "policies": tuple(load_policy(Path(p)) for p in args.policy),
        "ipsets": _ipsets(args.ipset),
    }
    analysis = Analysis(result.ruleset, options)
    if analysis.docker is None:
        print(f"{name}: no Docker chains: nothing is published")
        return EXIT_OK
    render = render_json if args.format == "json" else render_text
    sys.stdout.write(render(analysis.exposures, name))
    return EXIT_OK


def run_parse(args: argparse.Namespace) -> int:
    from iptlint.syntax.export import to_json
    from iptlint.syntax.formats import parse_input_bytes

    if args.path == "-":
        data, name = sys.stdin.buffer.read(), "-"
    else:
        try:
            data, name = Path(args.path).read_bytes(), args.path
        except OSError as error:
            raise UsageError(f"{args.path}: cannot read: {error.strerror}") from None
    result = parse_input_bytes(data, name, _family(args.family), args.input_format, args.table)
    import json

    print(json.dumps(to_json(result), indent=1))
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    for finding in errors:
        print(
            f"{finding.path}:{finding.span.line}:{finding.span.column}: {finding.code} {finding.message}",
            file=sys.stderr,
        )
    return EXIT_FINDINGS if errors else EXIT_OK


def run_trace(args: argparse.Namespace) -> int:
    from iptlint.report.trace import render_json, render_text
    from iptlint.semantics.walk import packet_from_words, walk
    from iptlint.syntax.formats import parse_input_bytes

    if args.path == "-":
        data, name = sys.stdin.buffer.read(), "-"
    else:
        try:
            data, name = Path(args.path).read_bytes(), args.path
        except OSError as error:
            raise UsageError(f"{args.path}: cannot read: {error.strerror}") from None
    result = parse_input_bytes(data, name, _family(args.family), args.input_format, args.table)
    errors = [f for f in result.findings if f.severity is Severity.ERROR]
    if errors:
        print(f"iptlint: {name}: {len(errors)} errors in the dump; tracing the rules that parsed", file=sys.stderr)
    words = {word: getattr(args, dest) for _, dest, _ in TRACE_WORDS for word in (dest,)}
    try:
        packet = packet_from_words(words, result.ruleset.family)
        trace = walk(result.ruleset, packet, local_addresses=args.local_address)
    except ValueError as error:
        raise UsageError(str(error)) from None
    sys.stdout.write(render_json(trace) if args.format == "json" else render_text(trace))
    return EXIT_OK


# ---------------------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------------------


def _git_show(spec: str) -> str:
    """The text of `REV:PATH` (`:PATH` is the index) as `git show` prints it."""
    import subprocess

    try:
        done = subprocess.run(["git", "show", spec], capture_output=True, check=False)
    except OSError as error:
        raise UsageError(f"git show {spec}: cannot run git: {error.strerror}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(f"git show {spec}: {message[-1] if message else 'failed'}")
    return done.stdout.decode("utf-8", "surrogateescape")


def _diff_input(spec: str) -> tuple[str, str]:
    """(text, name) of a diff side: a file, `-`, or `git:REV:PATH`."""
    if spec.startswith("git:"):
        return _git_show(spec[len("git:") :]), spec
    data, name = _read(spec)
    return data.decode("utf-8", "surrogateescape"), name


def run_diff(args: argparse.Namespace) -> int:
    from iptlint.report.diff import render
    from iptlint.semantics.diff import MAX_WALKS, diff

    if args.git_staged:
        if args.old or args.new:
            raise UsageError("--git-staged PATH takes no OLD or NEW")
        old_text, old_name = _git_show(f"HEAD:{args.git_staged}"), f"git:HEAD:{args.git_staged}"
        new_text, new_name = _git_show(f":{args.git_staged}"), f"git::{args.git_staged}"
    elif args.old and args.new:
        (old_text, old_name), (new_text, new_name) = _diff_input(args.old), _diff_input(args.new)
    else:
        raise UsageError("diff needs OLD and NEW (files or git:REV:PATH), or --git-staged PATH")
    try:
        difference = diff(
            old_text,
            new_text,
            old_name,
            new_name,
            local_addresses=tuple(args.local_address),
            ipsets=_ipsets(args.ipset),
            max_walks=args.max_walks or MAX_WALKS,
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    for name, count in zip((old_name, new_name), difference.parse_errors, strict=True):
        if count:
            print(f"iptlint: {name}: {count} errors in the dump; diffing the rules that parsed", file=sys.stderr)
    _write(render(args.format, difference, __version__, str(Path.cwd())), args.output_file)
    failing = {
        "opened": difference.opened,
        "changed": difference.behaviour_changed,
        "any": difference.any_difference,
    }[args.fail_on]
    return EXIT_FINDINGS if failing else EXIT_OK


# ---------------------------------------------------------------------------------------
# graph, report
# ---------------------------------------------------------------------------------------


def run_graph(args: argparse.Namespace) -> int:
    from iptlint.graph import build
    from iptlint.report import graph_dot, graph_mermaid
    from iptlint.semantics.walk import packet_from_words, walk
    from iptlint.syntax.formats import parse_input_bytes

    data, name = _read(args.path)
    ruleset = parse_input_bytes(data, name, _family(args.family), args.input_format, args.table).ruleset
    words = {dest: getattr(args, dest) for _, dest, _ in TRACE_WORDS}
    trace = None
    if args.trace or any(value is not None for value in words.values()):
        try:
            trace = walk(ruleset, packet_from_words(words, ruleset.family), local_addresses=args.local_address)
        except ValueError as error:
            raise UsageError(str(error)) from None
    graph = build(ruleset, trace)
    if args.format == "mermaid":
        _write(graph_mermaid.render(graph), args.output_file)
        return EXIT_OK
    text = graph_dot.render(graph)
    if args.format == "svg":
        try:
            text = graph_dot.to_svg(text, timeout=600)
        except RuntimeError as error:  # GraphvizMissing: the install hint; else dot failed or took too long
            raise UsageError(str(error)) from None
    _write(text, args.output_file)
    return EXIT_OK


def run_report(args: argparse.Namespace) -> int:
    from iptlint.linter import Settings
    from iptlint.report import html

    data, name = _read(args.path)
    settings = Settings(
        family=_family(args.family),
        check_options={
            "local_addresses": tuple(args.local_address),
            "policies": tuple(load_policy(Path(p)) for p in args.policy),
        },
        input_format=args.input_format,
        table=args.table,
    )
    _write(html.render(html.collect(data, name, settings)), args.output_file)
    return EXIT_OK
