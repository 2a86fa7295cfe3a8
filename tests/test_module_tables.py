"""The module tables of README.md and docs/design.md name every module of the package.

README's "What is inside" names each public module and package (``asttools.store``,
``asttools.audio.frames``);
docs/design.md's "Modules and their public names" names every file, the private modules
of a subpackage too (``store/_layout.py``, or ``_colors.py`` in a row about ``plots/``).
A module added without a row fails here, naming it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "asttools"


def _section(path: Path, heading: str) -> str:
    text = path.read_text(encoding="utf-8")
    assert heading in text, f"{path.name} has no section {heading!r}"
    body = text.split(heading, 1)[1]
    return re.split(r"\n## ", body, maxsplit=1)[0]


def _table_rows(section: str) -> list[str]:
    return [line for line in section.splitlines() if line.startswith("|")]


def _public_modules() -> set[str]:
    """Every module and package whose dotted path has no private part."""
    names = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if len(parts) > 1 and not any(p.startswith("_") for p in parts):
            names.add(".".join(parts))
    return names


def test_readme_names_every_public_module():
    rows = "\n".join(_table_rows(_section(ROOT / "README.md", "## What is inside")))
    public = sorted(_public_modules())
    assert len(public) > 30  # the listing itself works
    missing = [name for name in public if f"`{name}`" not in rows]
    assert not missing, f"README's module table lacks {missing}"


def _in_design(path: Path, rows: list[str]) -> bool:
    rel = path.relative_to(PACKAGE)
    if len(rel.parts) == 1:
        return any(f"`{rel.name}`" in row for row in rows)
    package = "/".join(rel.parts[:-1])
    if rel.name == "__init__.py":
        return any(f"`{package}/`" in row for row in rows)
    return any(f"`{package}/{rel.name}`" in row
               or (f"`{package}/" in row and f"`{rel.name}`" in row) for row in rows)


def test_design_notes_name_every_module():
    rows = _table_rows(_section(ROOT / "docs" / "design.md",
                                "## Modules and their public names"))
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 40
    missing = [str(p.relative_to(PACKAGE)) for p in files if not _in_design(p, rows)]
    assert not missing, f"docs/design.md's module table lacks {missing}"


def test_the_check_sees_a_missing_row():
    rows = ["| `audio.py` | decode |", "| · `plots/_theme.py`, `_colors.py` | theme |"]
    assert _in_design(PACKAGE / "audio.py", rows)
    assert _in_design(PACKAGE / "plots" / "_colors.py", rows)
    assert not _in_design(PACKAGE / "plots" / "_check.py", rows)
    assert not _in_design(PACKAGE / "precision.py", rows)
