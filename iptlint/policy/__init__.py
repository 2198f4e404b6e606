"""Policies: YAML files saying what a ruleset must look like and do (docs/policies.md).

`load.py` reads and validates them (policies/schema.json, errors at the YAML file's line
and column) and resolves `extends`; `evaluate.py` checks a parsed ruleset against them
and yields findings with each expectation's own code and message.  Docker's expected
layouts are built-in policies in `policies/docker/`.
"""
