"""Match and target extensions, one file each, found by name.

`-m NAME` is looked up in `iptlint/extensions/matches/NAME.py`, `-j NAME` in
`iptlint/extensions/targets/<name lower-cased>.py`; each file defines `EXTENSION`.
Adding support for a new extension means adding one file here, nothing else.
Files are imported on first use, so a small dump loads only what it uses.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil

from iptlint.extensions.spec import Extension, Kind

_PACKAGES = {"match": "iptlint.extensions.matches", "target": "iptlint.extensions.targets"}


@functools.cache
def find(kind: Kind, name: str) -> Extension | None:
    """The extension called `name`, or None if iptlint has no table for it."""
    module_name = name.lower() if kind == "target" else name
    if not module_name.isidentifier() or module_name.startswith("_"):
        return None
    try:
        module = importlib.import_module(f"{_PACKAGES[kind]}.{module_name}")
    except ModuleNotFoundError:
        return None
    extension = getattr(module, "EXTENSION", None)
    if extension is None or extension.name != name:
        return None
    return extension


def all_extensions(kind: Kind) -> list[Extension]:
    package = importlib.import_module(_PACKAGES[kind])
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_PACKAGES[kind]}.{info.name}")
        found.append(module.EXTENSION)
    return sorted(found, key=lambda e: e.name)
