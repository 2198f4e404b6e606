"""Plain-English sentences for rules, chains and policies.

Docker's rules (recognised from the Docker model, `iptlint.docker.model`, and the rule
shapes of `../shared/docker/LAYOUTS.md`) get a sentence saying why Docker put them
there; any other rule is described from its typed options: addresses, interfaces,
protocol, ports, states, marks, comments and its target.
"""

from __future__ import annotations

from dataclasses import dataclass

from iptlint.syntax.ast import Chain, Match, Option, Rule

_DOCKER_CHAIN_PURPOSES = {
    ("nat", "DOCKER"): "Docker's published ports: DNAT of connections to the host's ports into containers",
    ("filter", "DOCKER"): "Docker's published ports: accepts new connections to the container ports DNAT chose",
    ("filter", "DOCKER-USER"): "your own rules, run before Docker's on every forwarded packet",
    ("filter", "DOCKER-ISOLATION-STAGE-1"): "Docker network isolation, stage 1: traffic leaving a bridge",
    ("filter", "DOCKER-ISOLATION-STAGE-2"): "Docker network isolation, stage 2: drops it if it enters another bridge",
    ("filter", "DOCKER-ISOLATION"): "Docker network isolation (pairwise drops between bridges)",
    ("filter", "DOCKER-FORWARD"): "Docker's forwarding rules per bridge",
    ("filter", "DOCKER-CT"): "Docker: accepts replies of connections to containers",
    ("filter", "DOCKER-BRIDGE"): "Docker: sends new connections into a bridge to DOCKER",
    ("filter", "DOCKER-INTERNAL"): "Docker: keeps internal networks off other interfaces",
    ("nat", "DOCKER-INGRESS"): "Docker swarm routing mesh (ingress) DNAT",
    ("filter", "DOCKER-INGRESS"): "Docker swarm routing mesh (ingress) filtering",
}

_BUILTIN_PURPOSES = {
    "PREROUTING": "every packet arriving on an interface, before routing",
    "INPUT": "packets for this host",
    "FORWARD": "packets routed through this host (containers' traffic included)",
    "OUTPUT": "packets this host sends",
    "POSTROUTING": "every packet leaving through an interface, after routing",
}

_TABLE_ROLES = {
    "raw": "before connection tracking",
    "mangle": "to alter packets and marks",
    "nat": "to rewrite addresses (only the first packet of a connection)",
    "filter": "to accept or drop",
    "security": "for SELinux marks",
}


@dataclass(frozen=True)
class Context:
    """What is known of the rules' origin: Docker's bridges and published ports."""

    docker: bool
    bridges: frozenset[str]
    subnets: dict  # bridge name -> subnets text
    dnat: dict  # id(rule) -> PublishedPort
    accept: dict
    hairpin: dict

    @staticmethod
    def of(model) -> Context:
        if model is None:
            return Context(False, frozenset(), {}, {}, {}, {})
        return Context(
            True,
            frozenset(b.name for b in model.bridges),
            {b.name: ", ".join(str(s) for s in b.subnets) for b in model.bridges},
            {id(p.dnat): p for p in model.ports},
            {id(p.accept): p for p in model.ports if p.accept is not None},
            {id(p.hairpin): p for p in model.ports if p.hairpin is not None},
        )


def chain_purpose(table: str, chain: str, context: Context) -> str:
    if chain in _BUILTIN_PURPOSES:
        return f"{_BUILTIN_PURPOSES[chain]}, {_TABLE_ROLES.get(table, 'table ' + table)}"
    if context.docker and (table, chain) in _DOCKER_CHAIN_PURPOSES:
        return _DOCKER_CHAIN_PURPOSES[(table, chain)]
    return "a user chain: runs when a rule jumps to it; at its end the packet returns to the caller"


def policy_note(table: str, chain: Chain, context: Context) -> str:
    """What the policy of a built-in chain means, and what its counters say."""
    if not chain.policy:
        return ""
    verb = {"ACCEPT": "accepted", "DROP": "dropped"}.get(chain.policy, chain.policy)
    note = f"packets no rule decides are {verb}"
    if table == "filter" and chain.name == "FORWARD" and chain.policy == "DROP":
        note += "; nothing is forwarded unless a rule accepts it" + (
            " (Docker set DROP when it turned on ip_forward)" if context.docker else ""
        )
    if chain.policy == "DROP" and chain.counters and chain.counters.packets:
        note += f"; the policy has dropped {chain.counters.packets} packets"
    return note


# ---------------------------------------------------------------------------------------
# Docker's rules
# ---------------------------------------------------------------------------------------


def _text(rule: Rule, name: str) -> tuple[str | None, bool]:
    option = rule.basic(name)
    return (None, False) if option is None else (option.text, option.negated)


def _dport(rule: Rule) -> str | None:
    for match in rule.matches:
        option = match.get("--dport") or match.get("--dports")
        if option is not None:
            return option.text
    return None


def _dst_local(rule: Rule) -> bool:
    match = rule.match("addrtype")
    option = match.get("--dst-type") if match is not None else None
    return option is not None and option.text == "LOCAL" and not option.negated


def docker_sentence(rule: Rule, context: Context) -> str | None:
    """Why Docker put this rule here, or None when it is not one of Docker's shapes."""
    if not context.docker:
        return None
    if id(rule) in context.dnat:
        return _dnat_sentence(rule, context.dnat[id(rule)])
    if id(rule) in context.hairpin:
        port = context.hairpin[id(rule)]
        return (
            f"hairpin MASQUERADE so the container can reach itself through the published port "
            f"({port.container_address} {port.protocol}/{_dport(rule) or port.container_ports})"
        )
    if id(rule) in context.accept:
        port = context.accept[id(rule)]
        return (
            f"new connections from outside {port.bridge} to container {port.container_address} on "
            f"{port.protocol}/{_dport(rule)} (the container port: DNAT already rewrote the destination) "
            f"are accepted: this is what lets the published port through FORWARD"
        )
    target = rule.target.name if rule.target else None
    inside, in_negated = _text(rule, "-i")
    outside, out_negated = _text(rule, "-o")
    source, _ = _text(rule, "-s")
    destination, dst_negated = _text(rule, "-d")
    chain = rule.chain
    if rule.table == "nat" and target == "DOCKER" and _dst_local(rule):
        if chain == "PREROUTING":
            return "every packet to a local address goes through DOCKER (the published ports)"
        if chain == "OUTPUT":
            loopback = f", except to {destination}," if destination and dst_negated else ""
            return (
                f"packets this host sends to one of its own addresses{loopback} go through DOCKER, "
                "so the host itself reaches the published ports"
            )
    if (
        rule.table == "nat"
        and chain == "POSTROUTING"
        and target == "MASQUERADE"
        and outside in context.bridges
        and out_negated
        and source
    ):
        return (
            f"outgoing traffic from the containers of {outside} ({source}) leaving through another "
            f"interface is masqueraded: its source becomes the host's address on that interface, "
            f"so replies come back"
        )
    if rule.table == "nat" and chain == "DOCKER" and target == "RETURN" and inside in context.bridges:
        return f"packets coming from {inside} itself are left alone (no DNAT for containers talking on their bridge)"
    if rule.table == "filter":
        return _filter_sentence(rule, target, inside, in_negated, outside, out_negated)
    return None


def _dnat_sentence(rule: Rule, port) -> str:
    where = f"local address {port.host_address}" if port.host_address is not None else "any local address"
    bridge, negated = _text(rule, "-i")
    origin = f" that do not come from {bridge}" if bridge and negated else ""
    to = rule.target.get("--to-destination") if rule.target else None
    destination = to.text if to is not None else f"{port.container_address}"
    return (
        f"DNAT: connections to {where} on {port.protocol}/{_dport(rule) or port.host_ports}{origin} "
        f"go to container {destination} (published port)"
    )


def _filter_sentence(rule, target, inside, in_negated, outside, out_negated) -> str | None:
    chain = rule.chain
    if chain == "FORWARD" and target == "DOCKER-USER" and rule.unconditional:
        return "every forwarded packet goes through DOCKER-USER first: your rules run before Docker's"
    if chain == "FORWARD" and target in ("DOCKER-ISOLATION-STAGE-1", "DOCKER-ISOLATION") and rule.unconditional:
        return "every forwarded packet goes through the isolation stages, which keep Docker networks apart"
    if chain == "FORWARD" and target == "ACCEPT" and outside and not inside and rule.match("conntrack"):
        return (
            f"replies to connections already established (RELATED,ESTABLISHED) going into {outside} "
            "are accepted: containers get the answers to their connections"
        )
    if chain == "FORWARD" and target == "DOCKER" and outside and not out_negated:
        return f"new connections going into {outside} are checked by DOCKER: only published ports get in"
    if chain == "FORWARD" and target == "ACCEPT" and inside and not in_negated and outside:
        if out_negated:
            return f"containers on {inside} may open connections to other interfaces (the outside world)"
        if outside == inside:
            return f"containers on {inside} may talk to each other (inter-container communication)"
    if chain == "FORWARD" and target == "DROP" and inside and outside == inside:
        return f"containers on {inside} may not talk to each other (icc=false)"
    if chain == "DOCKER-USER" and target == "RETURN" and rule.unconditional:
        return (
            "RETURN: nothing here yet; add your own rules above this one with "
            "`iptables -I DOCKER-USER` (they run before Docker's on forwarded traffic)"
        )
    if chain == "DOCKER-ISOLATION-STAGE-1" and target == "DOCKER-ISOLATION-STAGE-2" and inside and out_negated:
        return (
            f"traffic leaving {inside} for another interface is checked by stage 2, "
            "which drops it if it enters another Docker network: networks are kept apart"
        )
    if chain == "DOCKER-ISOLATION-STAGE-2" and target == "DROP" and outside:
        return f"traffic from another Docker network going into {outside} is dropped: networks are kept apart"
    if chain.startswith("DOCKER-ISOLATION") and target == "RETURN" and rule.unconditional:
        return "not between two Docker networks: back to the chain that called this one"
    if chain == "DOCKER-ISOLATION" and target == "DROP" and inside and outside:
        return f"traffic from {inside} to {outside} is dropped: Docker networks are kept apart"
    return None


# ---------------------------------------------------------------------------------------
# Any rule
# ---------------------------------------------------------------------------------------

_BASICS = {
    "-s": ("from {}", "not from {}"),
    "-d": ("to {}", "not to {}"),
    "-i": ("arriving on {}", "not arriving on {}"),
    "-o": ("leaving via {}", "not leaving via {}"),
    "-p": ("of protocol {}", "of any protocol but {}"),
    "-f": ("that are fragments", "that are not fragments"),
}

_MATCH_OPTIONS = {
    "--dport": "to port {}",
    "--dports": "to ports {}",
    "--sport": "from port {}",
    "--sports": "from ports {}",
    "--ctstate": "in connection state {}",
    "--state": "in connection state {}",
    "--dst-type": "to a {} address",
    "--src-type": "from a {} address",
    "--mark": "with mark {}",
    "--icmp-type": "of ICMP type {}",
    "--tcp-flags": "with TCP flags {}",
    "--match-set": "in ipset {}",
    "--uid-owner": "sent by user {}",
    "--limit": "within a rate of {}",
    "--src-range": "from {}",
    "--dst-range": "to {}",
    "--mac-source": "from MAC {}",
    "--physdev-in": "bridged in on {}",
    "--physdev-out": "bridged out on {}",
}


def _option_phrase(match: Match, option: Option) -> str:
    template = _MATCH_OPTIONS.get(option.name)
    value = option.text.replace(",", ", ") if option.name in ("--ctstate", "--state") else option.text
    if template is None:
        phrase = f"matching -m {match.name} {option.name}{(' ' + value) if value else ''}"
    else:
        phrase = template.format(value)
    if option.name == "--syn":
        phrase = "that open a TCP connection (SYN)"
    return f"not {phrase}" if option.negated else phrase


def conditions(rule: Rule) -> list[str]:
    """The rule's conditions as phrases (`from 10.0.0.0/8`, `to port 22`...)."""
    phrases = []
    for option in rule.basics:
        pair = _BASICS.get(option.name)
        if pair is not None:
            phrases.append(pair[option.negated].format(option.text))
    for match in rule.matches:
        if match.name == "comment":
            continue
        for option in match.options:
            phrases.append(_option_phrase(match, option))
    return phrases


def action(rule: Rule) -> str:
    """What the target does, as a predicate (`are accepted`, `go through chain X`...)."""
    target = rule.target
    if target is None:
        return "are only counted (no target)"
    name = target.name
    opts = {o.name: o.text for o in target.options}
    fixed = {
        "ACCEPT": "are accepted (this chain decides; the packet goes on to the next table or hook)",
        "DROP": "are dropped silently",
        "RETURN": "go back to the calling chain (in a built-in chain: the policy decides)",
        "MASQUERADE": "get the address of the outgoing interface as source (masquerade)",
        "QUEUE": "are queued to userspace",
        "NOTRACK": "are not connection-tracked",
    }
    if name in fixed:
        return fixed[name]
    if name == "REJECT":
        return f"are rejected with {opts.get('--reject-with', 'icmp-port-unreachable')}"
    if name == "LOG":
        prefix = opts.get("--log-prefix")
        return f"are logged{f' with prefix {prefix!r}' if prefix else ''} and go on"
    if name in ("MARK", "CONNMARK"):
        value = next(iter(opts.values()), "")
        return f"get {'connection ' if name == 'CONNMARK' else ''}mark {' '.join(f'{k} {v}' for k, v in opts.items()) or value} and go on"
    if name == "DNAT":
        return f"have their destination rewritten to {opts.get('--to-destination', '?')} (DNAT)"
    if name == "SNAT":
        return f"have their source rewritten to {opts.get('--to-source', '?')} (SNAT)"
    if name == "REDIRECT":
        return f"are redirected to this host{(' port ' + opts['--to-ports']) if '--to-ports' in opts else ''}"
    if rule.jump is not None:
        return f"{'go to' if target.goto else 'go through'} chain {name}" + (
            " (without coming back)" if target.goto else ""
        )
    extra = " ".join(f"{k} {v}".strip() for k, v in opts.items())
    return f"go to target {name}{(' ' + extra) if extra else ''}"


def generic_sentence(rule: Rule) -> str:
    phrases = conditions(rule)
    subject = "packets " + ", ".join(phrases) if phrases else "every packet"
    verb = action(rule)
    if not phrases:
        verb = verb.replace("are ", "is ", 1).replace("go ", "goes ", 1).replace("have ", "has ", 1)
        verb = verb.replace("get ", "gets ", 1)
    comment = rule.match("comment")
    note = comment.get("--comment") if comment is not None else None
    return f"{subject} {verb}" + (f" — comment: {note.text!r}" if note is not None else "")


def explain_rule(rule: Rule, context: Context) -> str:
    """The sentence for a rule: Docker's reason when known, else from its options."""
    target = rule.target.name if rule.target else "(count)"
    docker = docker_sentence(rule, context)
    if docker is not None:
        return docker if docker.startswith(f"{target}:") else f"{target}: {docker}" if target in ("RETURN",) else docker
    return f"{target}: {generic_sentence(rule)}"
