"""Checking a ruleset against policies: each unmet expectation is a finding with its own code.

Rule patterns are written in iptables syntax and parsed by the same grammar as dumps,
then compared by meaning (typed values, not spelling): `-d 192.0.2.2` equals
`-d 192.0.2.2/32`, `-p tcp --dport 80` equals `-p tcp -m tcp --dport 80`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from iptlint.docker.model import Bridge, DockerModel, PublishedPort
from iptlint.findings import Finding, Fix, Related, Severity, Span
from iptlint.policy.load import Expectation, Policy, PolicyError
from iptlint.syntax.ast import BUILTIN_CHAINS, Chain, Family, Rule, Ruleset

_SEVERITY = {"error": Severity.ERROR, "warning": Severity.WARNING, "info": Severity.INFO}


# ---------------------------------------------------------------------------------------
# Rule patterns
# ---------------------------------------------------------------------------------------


def meaning(rule: Rule) -> tuple:
    """What a rule does, by typed value: equal for two spellings of the same rule."""
    basics = tuple(sorted((o.name, o.negated, _hashable(o.value)) for o in rule.basics))
    matches = tuple(
        sorted(
            (m.name, tuple(sorted((o.name, o.negated, _hashable(o.value), o.raw) for o in m.options)))
            for m in rule.matches
        )
    )
    target = None
    if rule.target is not None:
        options = tuple(sorted((o.name, o.negated, _hashable(o.value)) for o in rule.target.options))
        target = (rule.target.name, rule.target.goto, options)
    return basics, matches, target


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return value


@functools.cache
def pattern_rule(table: str, chain: str, text: str, family: Family) -> Rule:
    """Parse `text` as the body of a rule of table/chain; PolicyError when it is not a rule."""
    from iptlint.syntax.parser import parse

    builtin = BUILTIN_CHAINS.get(table, ())
    words = text.split()
    jumps = {words[i + 1] for i, w in enumerate(words[:-1]) if w in ("-j", "-g", "--jump", "--goto")}
    declare = "".join(f":{name} - [0:0]\n" for name in sorted({chain} | jumps) if name not in builtin)
    result = parse(f"*{table}\n{declare}-A {chain} {text}\nCOMMIT\n", "<policy>", family)
    errors = [f for f in result.findings if f.severity is Severity.ERROR and f.code != "S120"]
    rules = [rule for rule in result.ruleset.rules]
    if errors or len(rules) != 1:
        problem = errors[0].message if errors else "not a single rule"
        raise PolicyError(f"rule pattern {text!r}: {problem}")
    return rules[0]


# ---------------------------------------------------------------------------------------
# Placeholders and for_each
# ---------------------------------------------------------------------------------------


def _bridge_bindings(bridge: Bridge, family: Family) -> list[dict[str, str]]:
    version = 4 if family is Family.IPV4 else 6
    subnets = [s for s in bridge.subnets if s.version == version]
    base = {"bridge": bridge.name}
    return [{**base, "subnet": str(s)} for s in subnets] or [base]


def _port_bindings(port: PublishedPort) -> dict[str, str]:
    binding = {
        "proto": port.protocol,
        "host_port": str(port.host_ports),
        "container": str(port.container_address),
        "container_port": str(port.container_ports),
        "port": port.describe(),
    }
    if port.bridge:
        binding["bridge"] = port.bridge
    if port.host_address is not None:
        binding["host_address"] = str(port.host_address)
    return binding


_LOOPBACK = {Family.IPV4: "127.0.0.0/8", Family.IPV6: "::1/128"}


def instances(for_each: str | None, docker: DockerModel | None, family: Family) -> list[dict[str, str]]:
    """The placeholder bindings an expectation is checked with; `{loopback}` is always bound."""
    common = {"loopback": _LOOPBACK[family]}
    return [{**common, **binding} for binding in _instances(for_each, docker, family)]


def _instances(for_each: str | None, docker: DockerModel | None, family: Family) -> list[dict[str, str]]:
    if for_each is None:
        return [{}]
    if docker is None:
        return []
    if for_each.endswith("bridge"):
        kinds = {
            "bridge": lambda b: True,
            "nat_bridge": lambda b: not b.internal,
            "internal_bridge": lambda b: b.internal,
            "icc_bridge": lambda b: b.icc,
            "noicc_bridge": lambda b: not b.icc,
        }
        return [
            binding
            for bridge in docker.bridges
            if kinds[for_each](bridge)
            for binding in _bridge_bindings(bridge, family)
        ]
    return [_port_bindings(port) for port in docker.ports if not port.ingress]


def fill(text: str, binding: dict[str, str]) -> str | None:
    """`text` with its {placeholders} bound; None when one has no value here."""
    try:
        return text.format_map(_Strict(binding))
    except KeyError:
        return None


class _Strict(dict):
    def __missing__(self, key):
        raise KeyError(key)


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Context:
    ruleset: Ruleset
    docker: DockerModel | None

    @property
    def family(self) -> Family:
        return self.ruleset.family

    def chain(self, reference: str) -> Chain | None:
        table, _, chain = reference.partition("/")
        return self.ruleset.chain(table, chain)

    def exists(self, reference: str) -> bool:
        return self.chain(reference) is not None


def applies(policy: Policy, context: Context) -> bool:
    detect = policy.detect
    if "family" in detect and detect["family"] != context.family.value:
        return False
    if "docker" in detect:
        generation = context.docker.generation if context.docker else None
        if generation not in detect["docker"]:
            return False
    if not all(context.exists(c) for c in detect.get("chains", ())):
        return False
    return not any(context.exists(c) for c in detect.get("absent", ()))


def evaluate(policies: list[Policy], context: Context) -> Iterator[Finding]:
    for policy in policies:
        if not applies(policy, context):
            continue
        for expectation in policy.expectations:
            yield from _expectation(expectation, context)


def _expectation(expectation: Expectation, context: Context) -> Iterator[Finding]:
    data = expectation.data
    when = data.get("when", {})
    if not all(context.exists(c) for c in when.get("chains", ())):
        return
    if any(context.exists(c) for c in when.get("absent", ())):
        return
    for binding in instances(data.get("for_each"), context.docker, context.family):
        yield from _one(expectation, context, binding)


def _one(expectation: Expectation, context: Context, binding: dict[str, str]) -> Iterator[Finding]:
    data = expectation.data
    reference = data.get("chain")
    chain = context.chain(reference) if reference else None
    table_name, _, chain_name = (reference or "/").partition("/")

    def report(detail: str, rule: Rule | None = None, related: tuple[Related, ...] = ()) -> Finding:
        message = fill(expectation.message, {**binding, "detail": detail}) or expectation.message
        fix_text = fill(data["fix"], binding) if "fix" in data else None
        return _finding(expectation, context, reference, chain, rule, message, fix_text, related)

    if reference is None:
        return
    if "exists" in data:
        if data["exists"] != (chain is not None):
            yield report("the chain is missing" if data["exists"] else "the chain exists")
        return
    if chain is None:
        return  # another expectation (exists) reports a missing chain
    if "policy" in data and chain.policy != data["policy"]:
        yield report(f"policy is {chain.policy or 'not set'}")
    if "not_policy" in data and chain.policy == data["not_policy"]:
        yield report(f"policy is {chain.policy}")
    patterns = {key: _patterns(data.get(key, ()), table_name, chain_name, binding, context, expectation) for key in (
        "contains", "lacks", "begins_with", "ends_with", "unless")}  # fmt: skip
    if any(p is None for p in patterns.values()):
        return  # a placeholder without a value here: the expectation does not apply
    meanings = [meaning(rule) for rule in chain.rules]
    if any(alternative in meanings for _, alternative in patterns["unless"]):
        return
    for text, wanted in patterns["contains"]:
        if wanted not in meanings:
            yield report(f"no rule `{text}`")
    for text, unwanted in patterns["lacks"]:
        for rule, found in zip(chain.rules, meanings, strict=True):
            if found == unwanted:
                yield report(f"rule `{text}` is present", rule)
    begins = patterns["begins_with"]
    if begins and [m for _, m in begins] != meanings[: len(begins)]:
        first = chain.rules[0] if chain.rules else None
        yield report(f"does not begin with `{'`, `'.join(t for t, _ in begins)}`", first)
    ends = patterns["ends_with"]
    if ends and [m for _, m in ends] != meanings[len(meanings) - len(ends) :]:
        last = chain.rules[-1] if chain.rules else None
        yield report(f"does not end with `{'`, `'.join(t for t, _ in ends)}`", last)
    if "jump_order" in data:
        yield from _jump_order(data["jump_order"], chain, report)


def _patterns(texts, table, chain, binding, context, expectation) -> list[tuple[str, tuple]] | None:
    result = []
    for text in texts:
        filled = fill(text, binding)
        if filled is None:
            return None
        try:
            result.append((filled, meaning(pattern_rule(table, chain, filled, context.family))))
        except PolicyError as error:
            raise PolicyError(f"{expectation.source}: {error}") from None
    return result


def _jump_order(order: list[str], chain: Chain, report) -> Iterator[Finding]:
    first_jump: dict[str, Rule] = {}
    for rule in chain.rules:
        if rule.target is not None and rule.target.name in order and rule.target.name not in first_jump:
            first_jump[rule.target.name] = rule
    present = [name for name in order if name in first_jump]
    for earlier, later in itertools.pairwise(present):
        if first_jump[later].line < first_jump[earlier].line:
            rule = first_jump[later]
            yield report(
                f"the jump to {later} comes before the jump to {earlier}",
                rule,
                (Related(f"the jump to {earlier}", first_jump[earlier].span),),
            )


def _finding(expectation, context, reference, chain, rule, message, fix_text, related) -> Finding:
    data = expectation.data
    severity = _SEVERITY[data.get("severity", "warning")]
    table_name, _, chain_name = (reference or "/").partition("/")
    if rule is not None:
        span = rule.span
    elif chain is not None and chain.line:
        span = chain.span
    else:
        table = context.ruleset.table(table_name)
        span = Span(table.line, 1, table.line, len(table_name) + 2) if table and table.line else Span(1, 1, 1, 1)
    return Finding(
        code=expectation.code,
        message=message,
        path=context.ruleset.path,
        span=span,
        severity=severity,
        table=table_name or None,
        chain=chain_name or None,
        related=related,
        fix=Fix(fix_text) if fix_text else None,
    )


# ---------------------------------------------------------------------------------------
# Packet assertions: a packet and the verdict it must get
# ---------------------------------------------------------------------------------------

_VERDICTS = {"ACCEPT": ("ACCEPT",), "DROP": ("DROP",), "REJECT": ("REJECT",), "DENY": ("DROP", "REJECT")}


def _packet_words(packet: dict) -> dict[str, str]:
    words = {key: str(value) for key, value in packet.items() if key != "local"}
    if "local" in packet:
        words["dst_local"] = "yes" if packet["local"] else "no"
    return words


def evaluate_assertions(
    policies: list[Policy], context: Context, local_addresses: tuple[str, ...] = (), ipsets=None
) -> Iterator[Finding]:
    """Walk each assertion's packet through the ruleset; report those that get another verdict."""
    from iptlint.semantics.walk import packet_from_words, walk

    for policy in policies:
        if not applies(policy, context):
            continue
        for assertion in policy.assertions:
            try:
                packet = packet_from_words(_packet_words(assertion.packet), context.family)
            except ValueError as error:
                raise PolicyError(f"{assertion.source}: packet: {error}") from None
            trace = walk(context.ruleset, packet, local_addresses=local_addresses, ipsets=ipsets)
            wanted = _VERDICTS[assertion.verdict]
            if trace.verdict in wanted:
                continue
            rule = trace.decided_by
            where = f"line {rule.line}" if rule is not None else trace.reason
            if trace.verdict == "UNKNOWN":
                message = f"policy assertion '{assertion.name}' cannot be decided from the dump: {trace.reason}"
                severity = Severity.INFO
            else:
                message = (
                    f"policy assertion '{assertion.name}' fails: the packet gets {trace.verdict} ({where}), "
                    f"expected {assertion.verdict}"
                )
                severity = Severity.WARNING
            if assertion.message:
                message = f"{assertion.message} ({message})"
            span = rule.span if rule is not None else Span(1, 1, 1, 1)
            yield Finding(
                code=assertion.code,
                message=message,
                path=context.ruleset.path,
                span=span,
                severity=severity,
                table=rule.table if rule is not None else None,
                chain=rule.chain if rule is not None else None,
                related=(Related(f"the packet is decided here ({trace.verdict})", rule.span),) if rule else (),
            )
