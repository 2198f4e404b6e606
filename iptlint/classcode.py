"""The compiled methods of iptlint's dataclasses, kept between runs: a third of a small check's startup.

`@dataclass` writes the source text of each class's `__init__`, `__repr__`, `__eq__`,
`__hash__` (and, frozen, `__setattr__`/`__delattr__`) and compiles it, at every import:
about 0.5 ms a class, and `iptlint check` imports about a hundred of them, which is 50 ms
of a 150 ms budget (issue 2).  Compiling is nearly all of that cost, and the same text
always compiles to the same code.  So `install` gives the `dataclasses` module an `exec`
that looks each text up in a table of code objects read from iptlint's cache, compiles
only the texts it has not seen, and `save` (run at exit) writes the table back when it
grew.

What keeps this exact:
- the table is keyed by the whole source text, and its cache entry by the Python version
  and implementation (code objects are specific to both), so a text maps to the code
  `exec` itself would compile, compiled the way `exec` compiles it (no inherited
  `from __future__` flags);
- only classes of iptlint's own modules go through the table; every other `exec` of
  `dataclasses` is passed on untouched;
- an entry that cannot be read, or holds anything but text -> code, counts as missing.

Trust: the entry holds code objects, as Python's own `__pycache__` does; it lives in the
user's own cache directory (`iptlint.cache`), which whoever could write could change
iptlint's installed files as well.  `--no-cache` and `IPTLINT_NO_CACHE=1` turn it off like
the rest of the cache.
"""

from __future__ import annotations

import builtins
import sys
from types import CodeType

from iptlint import cache

NAME = "classcode"
_table: dict[str, CodeType] = {}
_used: set[str] = set()  # texts this run asked for
_learned = 0  # texts compiled in this run, not yet in the table's cache entry


def _entry_key() -> str:
    return cache.key(sys.version, sys.implementation.cache_tag or "", NAME)


def _exec(source, globals=None, locals=None, /):
    """`exec` for the `dataclasses` module: a text of an iptlint class runs from the table."""
    global _learned
    if not isinstance(source, str) or not isinstance(globals, dict):
        return builtins.exec(source, globals, locals)
    if not str(globals.get("__name__", "")).startswith("iptlint"):
        return builtins.exec(source, globals, locals)
    _used.add(source)
    code = _table.get(source)
    if code is None:
        code = _table[source] = compile(source, "<string>", "exec", dont_inherit=True)
        _learned += 1
    return builtins.exec(code, globals, locals)


def _read() -> dict[str, CodeType]:
    found = cache.read(NAME, _entry_key())
    if not isinstance(found, dict):
        return {}
    return {text: code for text, code in found.items() if isinstance(text, str) and isinstance(code, CodeType)}


def install() -> None:
    """Route `dataclasses`' `exec` through the table; read the table unless the cache is off."""
    import atexit
    import dataclasses

    if "--no-cache" in sys.argv[1:] or cache.directory() is None:
        return  # the command line is parsed after the imports; its --no-cache must hold here too
    _table.update(_read())
    dataclasses.exec = _exec
    atexit.register(save)


def kept() -> dict[str, CodeType]:
    """What `save` writes: the table, or only this run's texts when it holds many others.

    Texts no run asks for any more (classes since edited, in a source checkout) would
    otherwise pile up, and every run reads the whole entry.  Other commands import a few
    classes a check does not; up to half as many again are kept for them.
    """
    unused = len(_table) - len(_used & _table.keys())
    if unused <= len(_used) // 2:
        return dict(_table)
    return {text: code for text, code in _table.items() if text in _used}


def save() -> bool:
    """Write the table when this run compiled texts it did not have; False when nothing was written."""
    global _learned
    if not _learned:
        return False
    written = cache.write(NAME, _entry_key(), kept())
    if written:
        _learned = 0
    return written
