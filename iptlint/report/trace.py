"""`iptlint trace` output: one packet's way through the chains, as text or JSON.

    sys.stdout.write(render_text(trace))     # for people
    sys.stdout.write(render_json(trace))     # for programs

Text tells the story in order: the packet, each hook with its tables and chains (a
jump indents), every rule evaluated with `matched`, `no match` or `unknown` and its
file:line, the NAT rewrites under the rule that made them, the routing decision, and
the verdict with the deciding rule's file:line.  JSON holds the same facts and names
each rule by `file:line` (`"rule": "examples/nginx-published.rules:22"`).  Both are
pure functions of the `Trace`; the text ends with a newline.
"""

from __future__ import annotations

import json
from typing import Any

from iptlint.semantics.walk import Rewrite, Step, Trace, Unknown
from iptlint.syntax.values import PROTOCOL_NAMES

STATUS = {True: "matched", False: "no match", None: "unknown"}
STATUS_WIDTH = max(len(word) for word in STATUS.values())


# ---------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------


def describe_packet(packet: dict[str, Any], unknown: dict[str, str] | None = None) -> str:
    """`tcp 198.51.100.7:40000 -> 203.0.113.10:80, in eth0, state NEW`.

    `unknown` names what a field left out became (`src`: "the address of eth0").
    """
    packet = {**(unknown or {}), **packet}
    proto = packet.get("proto")
    words = [PROTOCOL_NAMES.get(proto, str(proto)) if proto is not None else "any protocol"]
    source = packet.get("src", "?")
    if "sport" in packet:
        source = f"{source}:{packet['sport']}"
    destination = packet.get("dst", "?")
    if "dport" in packet:
        destination = f"{destination}:{packet['dport']}"
    words.append(f"{source} -> {destination}")
    text = " ".join(words)
    extras = []
    if packet.get("in_iface"):
        extras.append(f"in {packet['in_iface']}")
    if packet.get("out_iface"):
        extras.append(f"out {packet['out_iface']}")
    if "ct_state" in packet:
        extras.append(f"state {packet['ct_state']}")
    if packet.get("mark"):
        extras.append(f"mark {packet['mark']:#x}")
    return ", ".join([text, *extras])


def rewrite_text(rewrite: Rewrite) -> str:
    return f"{rewrite.field} {shown(rewrite.before)} -> {shown(rewrite.after)}"


def shown(value: Any) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _rewrites_by_step(trace: Trace) -> dict[tuple[str, int], list[Rewrite]]:
    found: dict[tuple[str, int], list[Rewrite]] = {}
    for rewrite in trace.rewrites:
        if rewrite.rule is not None:
            found.setdefault((rewrite.hook, id(rewrite.rule)), []).append(rewrite)
    return found


def _step_lines(trace: Trace, step: Step, rewrites: dict[tuple[str, int], list[Rewrite]]) -> list[str]:
    indent = "    " + "  " * step.depth
    if step.kind == "policy":
        return [f"{indent}policy {step.action.removeprefix('policy ')}"]
    if step.kind == "return":
        return [f"{indent}{step.action}"]
    rule = step.rule
    assert rule is not None
    status = STATUS[step.matched].ljust(STATUS_WIDTH)
    counted = f"  [{rule.counters.packets} pkts {rule.counters.bytes} bytes]" if rule.counters is not None else ""
    text = rule.source_text
    if counted and text.startswith("["):  # iptables-save -c: the counters lead the line already
        counted = ""
    lines = [f"{indent}{status}  {trace.location(rule)}  {text}{counted}"]
    pad = indent + " " * (STATUS_WIDTH + 2)
    if step.matched is None:
        lines.append(f"{pad}unknown: `{step.unknown}` may or may not match this packet")
    elif step.matched:
        lines.append(f"{pad}-> {step.action}")
        for rewrite in rewrites.pop((step.hook, id(rule)), []):
            lines.append(f"{pad}   {rewrite_text(rewrite)}")
    return lines


def _chain_header(step: Step) -> str:
    indent = "  " + "  " * step.depth
    return f"{indent}{step.table} {step.chain}"


def connection_rewrites(trace: Trace, step: Step) -> list[Rewrite]:
    """What an ESTABLISHED/RELATED packet got at a nat hook it does not traverse: its connection's NAT."""
    if trace.connection is None or step.table != "nat":
        return []
    return [r for r in trace.rewrites if r.hook == step.hook and r.table == "nat"]


def steps_text(trace: Trace) -> list[str]:
    lines: list[str] = []
    rewrites = _rewrites_by_step(trace)
    hook = place = None
    for step in trace.steps:
        if step.kind == "route":
            lines += ["", step.action[0].upper() + step.action[1:]]
            hook = place = None
            continue
        if step.hook != hook:
            lines += ["", step.hook]
            hook, place = step.hook, None
        if step.kind == "skip":
            lines.append(f"  {step.action}")
            lines += [f"    {rewrite_text(r)}" for r in connection_rewrites(trace, step)]
            place = None
            continue
        here = (step.table, step.chain, step.depth, step.counted)
        if step.kind != "return" and here != place:
            lines.append(_chain_header(step))
            place = here
        lines += _step_lines(trace, step, rewrites)
        if step.kind == "return":
            place = None
    return lines


def verdict_text(trace: Trace) -> list[str]:
    decision = trace.decision
    if trace.decided_by is not None and decision is not None:
        where = f"{trace.location(trace.decided_by)} ({decision.table} {decision.chain})"
        verb = "stopped at" if trace.verdict == "UNKNOWN" else "by"
        head = f"Verdict: {trace.verdict}, {verb} {where}"
    elif decision is not None and decision.kind == "policy":
        head = f"Verdict: {trace.verdict}, by the policy of {decision.table} {decision.chain}"
    else:
        head = f"Verdict: {trace.verdict}"
    lines = [head]
    if trace.decided_by is not None:
        lines.append(f"  {trace.decided_by.source_text}")
    if trace.verdict == "UNKNOWN":
        lines.append(f"  why: {trace.reason}")
    return lines


def render_text(trace: Trace) -> str:
    origin = "" if trace.origin == "incoming" else ", sent by the host"
    lines = [f"Packet: {describe_packet(trace.input_packet)}{origin}"]
    lines += steps_text(trace)
    lines += ["", *verdict_text(trace)]
    if trace.verdict == "ACCEPT":
        where = {"local": "delivered to a local process", "forwarded": "forwarded"}.get(trace.arrived_at or "", "sent")
        became = {r.field: str(r.after) for r in trace.rewrites if isinstance(r.after, Unknown)}
        lines.append(f"The packet is {where} as: {describe_packet(trace.final_packet, became)}")
    if trace.notes:
        lines += ["", "Notes:"] + [f"  - {note}" for note in trace.notes]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------


def _value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _packet_json(packet: dict[str, Any]) -> dict[str, Any]:
    return {name: _value(value) for name, value in packet.items()}


def step_json(trace: Trace, step: Step) -> dict[str, Any]:
    return {
        "kind": step.kind,
        "hook": step.hook,
        "table": step.table or None,
        "chain": step.chain or None,
        "depth": step.depth,
        "rule": trace.location(step.rule) if step.rule is not None else None,
        "text": step.rule.source_text if step.rule is not None else None,
        "matched": step.matched if step.kind == "rule" else None,
        "unknown": step.unknown,
        "action": step.action,
        "counted": step.counted,
        "counters": _counters(step.rule),
    }


def _counters(rule) -> dict[str, int] | None:
    """The rule's `[packets:bytes]` from `iptables-save -c` or a listing, when the dump has them."""
    if rule is None or rule.counters is None:
        return None
    return {"packets": rule.counters.packets, "bytes": rule.counters.bytes}


def rewrite_json(trace: Trace, rewrite: Rewrite) -> dict[str, Any]:
    return {
        "hook": rewrite.hook,
        "table": rewrite.table,
        "chain": rewrite.chain,
        "rule": trace.location(rewrite.rule) if rewrite.rule is not None else None,
        "field": rewrite.field,
        "before": _value(rewrite.before),
        "after": _value(rewrite.after),
    }


def to_json(trace: Trace) -> dict[str, Any]:
    return {
        "file": trace.path,
        "family": str(trace.family),
        "origin": trace.origin,
        "packet": _packet_json(trace.input_packet),
        "steps": [step_json(trace, step) for step in trace.steps],
        "rewrites": [rewrite_json(trace, rewrite) for rewrite in trace.rewrites],
        "verdict": trace.verdict,
        "reason": trace.reason,
        "decided_by": trace.location(trace.decided_by) if trace.decided_by is not None else None,
        "decision": step_json(trace, trace.decision) if trace.decision is not None else None,
        "arrived_at": trace.arrived_at,
        "matched": [trace.location(rule) for rule in trace.matched],
        "final_packet": _packet_json(trace.final_packet),
        "notes": list(trace.notes),
        "connection": connection_json(trace),
    }


def connection_json(trace: Trace) -> dict[str, Any] | None:
    """ESTABLISHED/RELATED: the connection's first packet (its walk, in short) and the NAT it got at each hook."""
    connection = trace.connection
    if connection is None:
        return None
    first = connection.first
    return {
        "first_packet": _packet_json(first.input_packet),
        "first_verdict": first.verdict,
        "first_reason": first.reason,
        "nat": [
            {
                "hook": binding.hook,
                "known": binding.known,
                "summary": binding.summary(),
                "rule": trace.location(binding.rule) if binding.rule is not None else None,
                "rewrites": [rewrite_json(trace, r) for r in binding.rewrites],
            }
            for binding in connection.nat
        ],
    }


def render_json(trace: Trace) -> str:
    return json.dumps(to_json(trace), indent=2) + "\n"
