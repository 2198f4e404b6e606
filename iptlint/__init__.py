"""iptlint: a static linter and policy checker for iptables-save dumps."""

__version__ = "0.1.0"

# After __version__ (the cache keys read it), before any module that defines a dataclass.
from iptlint import classcode

classcode.install()
