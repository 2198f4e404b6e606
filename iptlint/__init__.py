"""iptlint: a static linter and policy checker for iptables-save dumps."""

__version__ = "0.1.0"
