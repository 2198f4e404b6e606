"""Reading policy files: YAML -> validated `Policy`, with `extends` resolved."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from iptlint import yamlfile


class PolicyError(Exception):
    """A policy that cannot be used; the message starts with file:line:col."""


@dataclass(frozen=True)
class Expectation:
    code: str
    message: str
    data: dict  # the expectation as written (validated)
    source: str  # path:line:col of the expectation, for error messages
    policy: str  # the id of the policy that declares it


@dataclass(frozen=True)
class Assertion:
    name: str
    code: str
    message: str
    packet: dict
    verdict: str
    source: str
    policy: str


@dataclass(frozen=True)
class AllowEntry:
    port: str
    sources: tuple[str, ...]
    via: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    id: str
    path: str
    description: str = ""
    detect: dict = field(default_factory=dict)
    expectations: tuple[Expectation, ...] = ()
    assertions: tuple[Assertion, ...] = ()
    exposure_code: str = "X001"
    allow: tuple[AllowEntry, ...] | None = None  # None: no exposure policy stated
    builtin: bool = False


def _package_dir() -> Path:
    packaged = resources.files("iptlint") / "policies"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "policies"


@functools.cache
def schema() -> dict:
    return json.loads((_package_dir() / "schema.json").read_text())


@functools.cache
def builtin_paths() -> dict[str, Path]:
    """Built-in policy id -> file (policies/**/*.yaml); read once per process."""
    found = {}
    for path in sorted(_package_dir().rglob("*.yaml")):
        document = yamlfile.load(path.read_text())
        if isinstance(document.data, dict) and "id" in document.data:
            found[str(document.data["id"])] = path
    return found


def load_policy(path: Path, *, builtin: bool = False) -> Policy:
    try:
        status = path.stat()
    except OSError as error:
        raise PolicyError(f"{path}: cannot read: {error.strerror}") from None
    return _load(path.resolve(), status.st_mtime_ns, builtin, ())


@functools.cache
def _load(path: Path, mtime: int, builtin: bool, chain: tuple[Path, ...]) -> Policy:
    if path in chain:
        raise PolicyError(f"{path}: 'extends' loops back to this file")
    text = path.read_text()
    try:
        document = yamlfile.load(text)
    except yamlfile.YamlError as error:
        raise PolicyError(f"{path}:{error.line}:{error.column}: {error.message}") from None
    data = document.data
    errors = sorted(
        jsonschema.Draft202012Validator(schema()).iter_errors(data if data is not None else {}),
        key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path))),
    )
    if errors:
        error = max(errors, key=lambda e: len(list(e.absolute_path)))
        where = list(error.absolute_path)
        line, column = document.position(where)
        key = ".".join(str(p) for p in where) or "(top level)"
        raise PolicyError(f"{path}:{line}:{column}: {key}: {_message(error)}")
    inherited: list[Policy] = [_resolve_parent(name, path, (*chain, path)) for name in data.get("extends", ())]

    def where(*keys: Any) -> str:
        line, column = document.position(list(keys))
        return f"{path}:{line}:{column}"

    policy_id = data["id"]
    expectations = tuple(e for parent in inherited for e in parent.expectations) + tuple(
        Expectation(e["code"], e["message"], e, where("expect", i), policy_id)
        for i, e in enumerate(data.get("expect", ()))
    )
    assertions = tuple(a for parent in inherited for a in parent.assertions) + tuple(
        Assertion(
            a.get("name", f"assertion {i + 1}"),
            a.get("code", "P001"),
            a.get("message", ""),
            a["packet"],
            a["verdict"],
            where("assert", i),
            policy_id,
        )
        for i, a in enumerate(data.get("assert", ()))
    )
    allow = None
    exposure_code = "X001"
    for parent in inherited:
        if parent.allow is not None:
            allow = (allow or ()) + parent.allow
            exposure_code = parent.exposure_code
    if "exposure" in data:
        exposure = data["exposure"]
        exposure_code = exposure.get("code", "X001")
        entries = tuple(_allow_entry(entry) for entry in exposure.get("allow", ()))
        allow = (allow or ()) + entries
    detect = dict(data.get("detect", {}))
    return Policy(
        policy_id,
        str(path),
        data.get("description", ""),
        detect,
        expectations,
        assertions,
        exposure_code,
        allow,
        builtin,
    )


def _allow_entry(entry: dict) -> AllowEntry:
    sources = entry.get("from", ("0.0.0.0/0", "::/0"))
    if isinstance(sources, str):
        sources = (sources,)
    return AllowEntry(entry["port"], tuple(sources), tuple(entry.get("via", ())))


def _resolve_parent(name: str, child: Path, chain: tuple[Path, ...]) -> Policy:
    builtin = builtin_paths()
    if name in builtin:
        target = builtin[name]
        return _load(target.resolve(), target.stat().st_mtime_ns, True, chain)
    target = (child.parent / name).resolve()
    if not target.is_file():
        raise PolicyError(f"{child}: extends {name!r}: no built-in policy or file of that name")
    return _load(target, target.stat().st_mtime_ns, False, chain)


def _message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    if error.validator == "required":
        return error.message.replace("is a required property", "is missing")
    if error.validator == "pattern" and isinstance(error.instance, str):
        return f"{error.instance!r} does not have the expected form ({error.schema.get('description', error.schema['pattern'])})"
    return error.message


def builtin_policy(policy_id: str) -> Policy:
    paths = builtin_paths()
    if policy_id not in paths:
        raise PolicyError(f"no built-in policy {policy_id!r} (known: {', '.join(sorted(paths))})")
    return load_policy(paths[policy_id], builtin=True)
