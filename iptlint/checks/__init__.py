"""The registry of checks: code -> module.  Explicit, so that codes are never reused.

A check is one module in this package.  Its docstring is its documentation, with the
headings `## What it does`, `## Why it matters`, `## Example` (a dump in a fenced
block that the check flags) and `## Use instead` (the same dump fixed, which it does
not flag); the test suite runs both.  It defines:

    CODE = "S201"            # stable, never reused
    NAME = "undefined-chain" # names what is flagged
    SEVERITY = Severity.ERROR
    DEFAULT = True           # enabled unless the user deselects it

    def check(analysis: Analysis) -> Iterator[Finding]: ...

To add a check: write the module, add one line below.
"""

from __future__ import annotations

import importlib
from types import ModuleType

# code -> module name in this package.  Keep sorted by code.
_MODULES: dict[str, str] = {
    "D001": "docker_user_missing",
    "D002": "docker_user_not_first",
    "D003": "docker_user_rule_never_runs",
    "D004": "docker_user_matches_host_port",
    "D005": "isolation_missing",
    "D006": "input_rule_for_published_port",
    "D007": "forward_policy_accept",
    "D008": "half_configured_port",
    "D009": "docker_nat_missing",
    "R001": "rule_never_matches",
    "R002": "redundant_rule",
    "R003": "unreachable_chain",
    "R004": "empty_jump",
    "R005": "rule_never_hit",
    "X001": "exposed_port",
    "X002": "possibly_exposed_port",
    "X003": "direct_container_access",
    "X010": "family_parity_gap",
    "S201": "undefined_chain",
    "S202": "unused_chain",
    "S203": "jump_cycle",
    "S204": "target_in_wrong_hook",
    "S205": "duplicate_rule",
    "S206": "missing_policy",
    "S207": "unreachable_rule",
    "S208": "match_in_wrong_hook",
    "S209": "too_many_nested_chains",
    "S210": "duplicate_table",
}


def modules() -> dict[str, ModuleType]:
    return {code: importlib.import_module(f"{__name__}.{name}") for code, name in _MODULES.items()}


def module(code: str) -> ModuleType | None:
    name = _MODULES.get(code)
    return None if name is None else importlib.import_module(f"{__name__}.{name}")
