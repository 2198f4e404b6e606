"""Configuration: `[tool.iptlint]` in pyproject.toml or `.iptlint.yaml`, found upward from each file.

Keys mirror the command line (select, extend-select, ignore, per-file-ignores, policies,
fail-on, docker, family).  A file is validated against `iptlint/schemas/config.schema.json`;
an error names the file, the key and, for YAML, the line and column.  The command line
overrides the configuration.

A file that validated once is not validated again while its content stays the same: its
data is kept in iptlint's cache (`iptlint.cache`, keyed by the file's path and content,
the schema and this module's source), since importing jsonschema, PyYAML or tomllib
costs more than a small check.
"""

from __future__ import annotations

import fnmatch
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from iptlint import cache

if TYPE_CHECKING:  # imported when a file is read: a run without configuration never pays for them
    import jsonschema

CONFIG_NAMES = (".iptlint.yaml", ".iptlint.yml", "pyproject.toml")


class ConfigError(Exception):
    """A configuration file that cannot be used; the message is ready for a person."""


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    select: tuple[str, ...] | None = None
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    policies: tuple[Path, ...] = ()
    fail_on: str | None = None
    docker: str | None = None
    family: str | None = None
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    def ignores_for(self, file: Path) -> tuple[str, ...]:
        """Codes that per-file-ignores silences for `file`."""
        if not self.per_file_ignores:
            return ()
        base = self.path.parent if self.path else Path.cwd()
        try:
            relative = file.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            relative = file.as_posix()
        codes: list[str] = []
        for pattern, ignored in self.per_file_ignores:
            if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(file.name, pattern):
                codes.extend(ignored)
        return tuple(codes)


@functools.cache
def _schema_text() -> str:
    return (resources.files("iptlint") / "schemas" / "config.schema.json").read_text()


@functools.cache
def _schema() -> dict:
    import json

    return json.loads(_schema_text())


def find_config(start: Path) -> Path | None:
    """The nearest configuration file at or above `start` (a directory or a file)."""
    directory = start if start.is_dir() else start.parent
    for folder in (directory.resolve(), *directory.resolve().parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                if name == "pyproject.toml" and not _has_iptlint_table(candidate):
                    continue
                return candidate
    return None


def _has_iptlint_table(path: Path) -> bool:
    """Whether a pyproject.toml has `[tool.iptlint]`; one that never spells "iptlint" is not even parsed
    (most projects have a pyproject.toml, and tomllib takes milliseconds to import)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None
    if "iptlint" not in text:
        return False
    name = _entry_name("pyproject", path)
    entry_key = cache.key(text, cache.source_of(__file__))
    stored = cache.read(name, entry_key)
    if isinstance(stored, bool):
        return stored
    found = "iptlint" in _parse_toml(text, path).get("tool", {})
    cache.write(name, entry_key, found)
    return found


def _entry_name(kind: str, path: Path) -> str:
    """The cache entry of one file: by its path, so that a new version replaces the old one."""
    return f"{kind}-{cache.key(str(path.resolve()))[:8]}"


def _parse_toml(text: str, path: Path) -> dict:
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None


def load_config(path: Path) -> Config:
    """Read and validate one configuration file (cached while the file is unchanged)."""
    try:
        status = path.stat()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    return _load_config(path, status.st_mtime_ns, status.st_size)


@functools.cache
def _load_config(path: Path, mtime: int, size: int) -> Config:
    try:
        text = path.read_text()
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    name = _entry_name("config", path)
    entry_key = cache.key(text, _schema_text(), cache.source_of(__file__))
    stored = cache.read(name, entry_key)
    if isinstance(stored, dict):  # this very file validated before
        return _from_dict(stored, path)
    data = _validated(path, text)
    cache.write(name, entry_key, data)
    return _from_dict(data, path)


def _validated(path: Path, text: str) -> dict:
    """The data of a configuration file, or ConfigError at its first schema violation."""
    import jsonschema

    from iptlint import yamlfile

    if path.name == "pyproject.toml":
        data = _parse_toml(text, path).get("tool", {}).get("iptlint", {})
        document = None
    else:
        try:
            document = yamlfile.load(text)
        except yamlfile.YamlError as error:
            raise ConfigError(f"{path}:{error.line}:{error.column}: {error.message}") from None
        data = document.data if document.data is not None else {}
    errors = sorted(jsonschema.Draft202012Validator(_schema()).iter_errors(data), key=lambda e: list(e.path))
    if errors:
        error = errors[0]
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        where = str(path)
        if document is not None:
            line, column = document.position(list(error.absolute_path))
            where = f"{path}:{line}:{column}"
        elif path.name == "pyproject.toml":
            key = f"tool.iptlint.{key}" if error.absolute_path else "tool.iptlint"
        raise ConfigError(f"{where}: key '{key}': {_schema_message(error)}")
    return data


def _schema_message(error: jsonschema.ValidationError) -> str:
    if error.validator == "additionalProperties":
        return error.message.replace("Additional properties are not allowed", "unknown key")
    if error.validator == "pattern":
        return f"{error.instance!r} is not a code or prefix (like S201, S2, R, ALL)"
    return error.message


def _from_dict(data: dict, path: Path | None) -> Config:
    base = path.parent if path else Path.cwd()

    def codes(key: str) -> tuple[str, ...]:
        return tuple(c.upper() for c in data.get(key, ()))

    return Config(
        path=path,
        select=codes("select") if "select" in data else None,
        extend_select=codes("extend-select"),
        ignore=codes("ignore"),
        per_file_ignores=tuple(
            (pattern, tuple(c.upper() for c in ignored))
            for pattern, ignored in data.get("per-file-ignores", {}).items()
        ),
        policies=tuple(base / p for p in data.get("policies", ())),
        fail_on=data.get("fail-on"),
        docker=data.get("docker"),
        family=data.get("family"),
        raw=data,
    )


def config_for(file: Path) -> Config:
    """The configuration that applies to `file` (an empty one when none is found)."""
    found = find_config(file)
    return Config() if found is None else load_config(found)
