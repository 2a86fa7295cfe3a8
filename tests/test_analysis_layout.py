"""The analysis layer's modules (plots, metrics, reduce, mapping) use each other's doors only.

A module may import another module's private names (a leading underscore) only from a
private module of its own subpackage (``plots/_util.py`` for the plot modules), and imports
asttools' own modules at its top, where a reader sees the graph.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "asttools"
CHECKED = sorted(
    [*PACKAGE.glob("plots/*.py"), *PACKAGE.glob("metrics/*.py"), PACKAGE / "reduce.py",
     PACKAGE / "mapping.py"]
)
# Deferred until the package has a version module: asttools/__init__.py imports these
# modules before it defines __version__.
DEFERRED_OK = {"__version__"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _source(importer: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute name of the module an ``ImportFrom`` reads from."""
    if not node.level:
        return node.module or ""
    base = importer.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def _own_imports(path: Path):
    """(node, source module, names, at top level) for each import of an asttools module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    importer = _module_name(path)
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _source(importer, node, path.name == "__init__.py")
            if source == "asttools" or source.startswith("asttools."):
                yield node, source, [a.name for a in node.names], id(node) in top
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.split(".")[0] == "asttools"]
            if names:
                yield node, names[0], [], id(node) in top


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_private_names_from_other_modules(path):
    importer = _module_name(path)
    own_package = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
    bad = []
    for node, source, names, _ in _own_imports(path):
        private = [n for n in names if n.startswith("_") and not n.endswith("__")]
        source_package, _, leaf = source.rpartition(".")
        allowed = leaf.startswith("_") and source_package == own_package
        if private and not allowed:
            bad.append(f"line {node.lineno}: {private} from {source}")
    assert not bad, f"{importer} imports private names: {bad}"


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_own_modules_are_imported_at_the_top(path):
    bad = [f"line {node.lineno}: {source}"
           for node, source, names, top in _own_imports(path)
           if not top and not set(names) <= DEFERRED_OK]
    assert not bad, f"{_module_name(path)} imports asttools modules inside functions: {bad}"
