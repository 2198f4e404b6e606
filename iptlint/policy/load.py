"""Reading policy files: YAML -> validated `Policy`, with `extends` resolved.

The built-in policies (policies/**/*.yaml) are read on every `iptlint check` of a Docker
host, and reading YAML with pure-Python PyYAML costs more than the rest of a small check.
So `builtin_policies` keeps them, loaded, in iptlint's cache (`iptlint.cache`, keyed by
the files' contents and this module's source) and a later run only decodes them.  They
are not validated against the schema at run time (jsonschema alone takes longer to import
than a small check should): the test suite validates every one of them
(tests/test_policies.py), and a user's own policy is always validated.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from iptlint import cache

if TYPE_CHECKING:
    import jsonschema


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
    import json

    return json.loads((_package_dir() / "schema.json").read_text())


def builtin_paths() -> dict[str, Path]:
    """Built-in policy id -> file (policies/**/*.yaml)."""
    return {policy_id: Path(policy.path) for policy_id, policy in builtin_policies().items()}


@functools.cache
def builtin_policies() -> dict[str, Policy]:
    """Built-in policy id -> the policy, loaded; from the cache when these files were loaded before."""
    files = sorted(_package_dir().rglob("*.yaml"))
    contents = [path.read_bytes() for path in files]
    makers = (cache.source_of(__file__), cache.source_of(str(Path(__file__).parents[1] / "yamlfile.py")))
    entry_key = cache.key(*makers, *(f"{p.resolve()}\0" for p in files), *contents)
    stored = _decode_all(cache.read("policies", entry_key))
    if stored is not None:
        return stored
    from iptlint import yamlfile

    found = {}
    for path, content in zip(files, contents, strict=True):
        document = yamlfile.load(content.decode("utf-8"))
        if isinstance(document.data, dict) and "id" in document.data:
            found[str(document.data["id"])] = path.resolve()
    # Files first (ids by file), then the policies: `extends` looks up its parents by id.
    _builtin_files.update(found)
    try:
        policies = {policy_id: _load(path, path.stat().st_mtime_ns, True, ()) for policy_id, path in found.items()}
    finally:
        _builtin_files.clear()
    cache.write("policies", entry_key, [_encode(policy) for policy in policies.values()])
    return policies


_builtin_files: dict[str, Path] = {}  # while builtin_policies() loads the files: id -> file


def _encode(policy: Policy) -> tuple:
    """A policy as plain data (`marshal` can hold it); `_decode` makes it again."""

    def values(item: Any) -> tuple:
        return tuple(getattr(item, f.name) for f in dataclasses.fields(item))

    allow = None if policy.allow is None else tuple(values(entry) for entry in policy.allow)
    return (
        *values(policy)[:4],
        tuple(values(e) for e in policy.expectations),
        tuple(values(a) for a in policy.assertions),
        policy.exposure_code,
        allow,
        policy.builtin,
    )


def _decode(row: tuple) -> Policy:
    policy_id, path, description, detect, expectations, assertions, exposure_code, allow, builtin = row
    texts = (policy_id, path, description, exposure_code, *(e[0] for e in expectations), *(a[1] for a in assertions))
    if not all(type(text) is str for text in texts) or not isinstance(detect, dict) or type(builtin) is not bool:
        raise ValueError("not a policy")
    if not all(isinstance(e[2], dict) for e in expectations):
        raise ValueError("not a policy")
    return Policy(
        policy_id,
        path,
        description,
        detect,
        tuple(Expectation(*e) for e in expectations),
        tuple(Assertion(*a) for a in assertions),
        exposure_code,
        None if allow is None else tuple(AllowEntry(*entry) for entry in allow),
        builtin,
    )


def _decode_all(stored: object) -> dict[str, Policy] | None:
    """The policies of a cache entry, or None when it does not hold what `_encode` wrote."""
    if not isinstance(stored, list):
        return None
    try:
        policies = [_decode(row) for row in stored]
    except (TypeError, ValueError, IndexError):
        return None
    return {policy.id: policy for policy in policies}


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
    from iptlint import yamlfile

    text = path.read_text()
    try:
        document = yamlfile.load(text)
    except yamlfile.YamlError as error:
        raise PolicyError(f"{path}:{error.line}:{error.column}: {error.message}") from None
    data = document.data
    if not builtin:
        _validate(data, document, path)
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


def _validate(data: object, document, path: Path) -> None:
    """PolicyError at the file's line and column of the first schema violation."""
    import jsonschema

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


def _allow_entry(entry: dict) -> AllowEntry:
    sources = entry.get("from", ("0.0.0.0/0", "::/0"))
    if isinstance(sources, str):
        sources = (sources,)
    return AllowEntry(entry["port"], tuple(sources), tuple(entry.get("via", ())))


def _resolve_parent(name: str, child: Path, chain: tuple[Path, ...]) -> Policy:
    if name in _builtin_files:  # builtin_policies() is loading the files
        target = _builtin_files[name]
        return _load(target, target.stat().st_mtime_ns, True, chain)
    builtin = builtin_policies()
    if name in builtin:
        return builtin[name]
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
    policies = builtin_policies()
    if policy_id not in policies:
        raise PolicyError(f"no built-in policy {policy_id!r} (known: {', '.join(sorted(policies))})")
    return policies[policy_id]
