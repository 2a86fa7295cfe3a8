"""The version of asttools, said once (pyproject.toml reads it; importing it loads nothing)."""

__version__ = "0.1.0"
