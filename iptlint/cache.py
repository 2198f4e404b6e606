"""iptlint's cache directory: what a run learned, kept so that the next run need not redo it.

A small `iptlint check` is mostly startup, so four things are kept between runs: lark's
compiled grammar tables, the plans of the line shapes the grammar has parsed
(`iptlint.syntax.grammar`), the built-in policies in their loaded form
(`iptlint.policy.load`), and the compiled methods of iptlint's dataclasses
(`iptlint.classcode`: code objects, trusted as Python's own `__pycache__` is).  Like
ruff's cache it is never a source of truth:

- every entry is keyed by a hash of everything it was made from (the source files and
  iptlint's version), so an edit or an upgrade simply makes a new entry;
- entries are written with `marshal` (no code runs when one is read), each
  written to a temporary file and renamed into place, so a reader sees a whole entry or
  none;
- an entry that cannot be read, or does not hold what its reader expects, counts as
  missing and is written anew.

Where: `$IPTLINT_CACHE_DIR`, else `$XDG_CACHE_HOME/iptlint`, else `~/.cache/iptlint`.
`iptlint --no-cache`, `IPTLINT_NO_CACHE=1` or a directory that cannot be written turn
it off: every run then does all the work, with the same results.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import zlib
from pathlib import Path

from iptlint import __version__

FORMAT = 1  # bump when the shape of any entry changes
_disabled = False


def disable(off: bool = True) -> None:
    """Neither read nor write the cache from now on (`--no-cache`); `disable(False)` undoes it."""
    global _disabled
    _disabled = off


def directory() -> Path | None:
    """The cache directory, created if needed; None when caching is off or impossible."""
    if _disabled or os.environ.get("IPTLINT_NO_CACHE"):
        return None
    chosen = os.environ.get("IPTLINT_CACHE_DIR")
    if not chosen:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        chosen = os.path.join(base, "iptlint")
    try:
        os.makedirs(chosen, exist_ok=True)
    except OSError:
        return None
    if not os.access(chosen, os.W_OK | os.X_OK):
        return None
    return Path(chosen)


def key(*parts: bytes | str) -> str:
    """A hash of everything an entry is made from, with iptlint's version and the format.

    Two checksums (CRC-32 and Adler-32, 64 bits) of the parts and their lengths: like ruff's
    cache keys, not cryptographic (whoever can write the files hashed here can change
    iptlint anyway), and zlib is loaded with Python already, where hashlib would load
    OpenSSL (milliseconds of a small run).
    """
    crc = adler = 1
    for part in (f"iptlint {__version__} cache {FORMAT}", *parts):
        data = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        framed = len(data).to_bytes(8, "little") + data
        crc = zlib.crc32(framed, crc)
        adler = zlib.adler32(framed, adler)
    return f"{crc:08x}{adler:08x}"


def source_of(module_file: str) -> bytes:
    """The source of a module (what an entry's maker is), or b"" when it is not installed as source."""
    try:
        return Path(module_file).read_bytes()
    except OSError:
        return b""


def path_of(name: str, entry_key: str) -> Path | None:
    found = directory()
    return None if found is None else found / f"{name}-{entry_key}.marshal"


def read(name: str, entry_key: str) -> object | None:
    """The entry `name` made from `entry_key`, or None when missing, unreadable or caching is off."""
    path = path_of(name, entry_key)
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read()
        return marshal.loads(data)  # marshal.load(handle) reads object by object: 5x slower
    except (OSError, EOFError, ValueError, TypeError):
        return None


def write(name: str, entry_key: str, value: object) -> bool:
    """Store an entry atomically, in place of the older entries of that name; False when it cannot be.

    One entry per name: an entry made from older sources is never read again, so it is
    removed (as when the grammar, a policy or a configuration file changes).
    """
    path = path_of(name, entry_key)
    if path is None:
        return False
    try:
        data = marshal.dumps(value)
    except ValueError:  # something marshal cannot hold: not worth caching
        return False
    import tempfile

    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{name}-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        return False
    _remove_older(path.parent, name, path.name)
    return True


def _remove_older(directory: Path, name: str, kept: str) -> None:
    for older in directory.glob(f"{name}-*.marshal"):
        if older.name != kept and older.name[len(name) + 1 : -len(".marshal")].isalnum():
            with contextlib.suppress(OSError):
                older.unlink()
