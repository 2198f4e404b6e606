"""The order a packet meets tables and chains, then user chains as first jumped to."""

from __future__ import annotations

from iptlint.syntax.ast import Chain, Ruleset, Table

# (hook, tables in the order the kernel runs them at that hook)
HOOK_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PREROUTING", ("raw", "mangle", "nat")),
    ("INPUT", ("mangle", "nat", "filter", "security")),
    ("FORWARD", ("mangle", "filter", "security")),
    ("OUTPUT", ("raw", "mangle", "nat", "filter", "security")),
    ("POSTROUTING", ("mangle", "nat")),
)


def builtin_order(ruleset: Ruleset) -> list[tuple[Table, Chain]]:
    """Built-in chains present in the dump, in hook then table order."""
    found = []
    for hook, tables in HOOK_ORDER:
        for name in tables:
            table = ruleset.table(name)
            chain = table.chain(hook) if table is not None else None
            if chain is not None:
                found.append((table, chain))
    return found


def chain_order(ruleset: Ruleset) -> list[tuple[Table, Chain]]:
    """Built-in chains in hook order, then user chains breadth-first as they are jumped to,
    then the chains nothing jumps to (in the order of the dump)."""
    order = builtin_order(ruleset)
    seen = {(t.name, c.name) for t, c in order}
    position = 0
    while position < len(order):
        table, chain = order[position]
        for rule in chain.rules:
            target = rule.jump
            callee = table.chain(target) if target else None
            if callee is not None and (table.name, callee.name) not in seen:
                seen.add((table.name, callee.name))
                order.append((table, callee))
        position += 1
    for table in ruleset.tables:
        for chain in table.chains:
            if (table.name, chain.name) not in seen:
                seen.add((table.name, chain.name))
                order.append((table, chain))
    return order
