"""Every module of asttools uses the others' doors only, and shows its imports at the top.

A module may import another module's private names (a leading underscore) only from a
private module of its own subpackage (``plots/_util.py`` for the plot modules,
``store/_layout.py`` for the store's), and imports asttools' own modules, and every
library it needs but the optional ones, at its top, where a reader sees the graph. The
package root imports nothing heavy: ``import asttools`` and ``asttools --version`` do not
load torch.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "asttools"
CHECKED = sorted(PACKAGE.rglob("*.py"))
#: Imports that may stay inside a function: optional extras; tqdm.auto in the command
#: line (importing it costs --help 0.2 s; it is only needed once a command runs); and the
#: store's one door to torch, ``_extract._torch_side`` importing ``_compute`` (the model,
#: its run, Ray) only once something must be computed, so that a fully cached extract
#: loads neither torch nor transformers (issue 19; test_store checks it).
DEFERRED_OK = {("reduce", "openTSNE"), ("reduce", "umap"), ("_commands", "tqdm.auto"),
               ("_ray", "ray"), ("precision", "torchao"), ("_extract", "_compute")}


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
        allowed = ((leaf.startswith("_") and source_package == own_package)
                   or source == own_package)  # `from . import _sibling`: a module of its own
        if private and not allowed:
            bad.append(f"line {node.lineno}: {private} from {source}")
    assert not bad, f"{importer} imports private names: {bad}"


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_are_at_the_top(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set()
    for node in tree.body:  # `if TYPE_CHECKING:` and `try: import fcntl` count as the top
        top.update(map(id, ast.walk(node)) if isinstance(node, (ast.If, ast.Try)) else
                   [id(node)])
    leaf = path.stem if path.name != "__init__.py" else path.parent.name
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in top:
            module = (node.module or node.names[0].name) if isinstance(node, ast.ImportFrom) \
                else node.names[0].name  # `from . import x`: x
            if (leaf, module) not in DEFERRED_OK and (leaf, module.split(".")[0]) \
                    not in DEFERRED_OK:
                bad.append(f"line {node.lineno}: {'.' * getattr(node, 'level', 0)}{module}")
    assert not bad, f"{_module_name(path)} imports inside functions: {bad}"


HEAVY = ("torch", "pandas", "numpy", "pyarrow", "transformers")


def test_the_root_and_the_command_line_help_do_not_load_torch():
    code = ("import sys, asttools, asttools.apps.cli; asttools.apps.cli.build_parser(); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_every_help_loads_neither_torch_nor_pandas():
    """``asttools --help``, ``asttools COMMAND --help`` for every command (through ``main``,
    the console script's entry point) and ``python -m asttools --help`` (through
    ``__main__``) import none of the heavy libraries: help is instant on a loaded machine."""
    code = f"""
import runpy, sys
from asttools.apps.cli import COMMANDS, main
codes = [main(argv) for argv in [["--help"], ["--version"]] + [[c, "--help"] for c in COMMANDS]]
sys.argv = ["asttools", "--help"]
try:
    runpy.run_module("asttools", run_name="__main__")
except SystemExit as exit_:
    codes.append(exit_.code)
print("RESULT", codes, len(COMMANDS), sorted(m for m in {HEAVY!r} if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "usage: asttools extract" in out and "usage: asttools [-h]" in out
    result = out.strip().splitlines()[-1]
    assert result == f"RESULT {[0] * 12} 9 []", result


def _exports(path: Path) -> tuple[list[str], set[str], dict[str, str]]:
    """A module's ``__all__``, the names it defines itself, and where each name it
    imports comes from (``"._extract"``, ``"..constants"``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    listed, defined, imported = [], set(), {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {t.id for t in targets if isinstance(t, ast.Name)}
            if "__all__" in names:
                listed = list(ast.literal_eval(node.value))
            defined |= names
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                imported[alias.asname or alias.name] = "." * node.level + (node.module or "")
    return listed, defined, imported


#: The one deliberate second door: the package root's lazy table (``import asttools;
#: asttools.embed``), whose names each have their home module as the first.
ROOT_INIT = PACKAGE / "__init__.py"


def _second_doors(paths) -> list[str]:
    bad = []
    for path in paths:
        if path == ROOT_INIT or (path.stem.startswith("_") and path.name != "__init__.py"):
            continue  # a private module's __all__ is its subpackage's business
        listed, defined, imported = _exports(path)
        for name in listed:
            if name in defined or name == "__version__":
                continue
            source = imported.get(name, "?")
            # a subpackage's __init__ is the door of its private modules' names
            if path.name == "__init__.py" and source.startswith("._"):
                continue
            where = path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name
            bad.append(f"{where}: {name} (from {source})")
    return bad


def test_one_door_per_public_name():
    """A module's ``__all__`` names what it defines: a name imported from another module
    is that module's (one door per name; the root's lazy table and a subpackage's
    ``__init__`` over its private modules are the documented exceptions)."""
    bad = _second_doors(CHECKED)
    assert not bad, "names exported by a module that does not define them:\n" + "\n".join(bad)


def test_the_door_check_sees_a_second_door(tmp_path):
    (tmp_path / "mod.py").write_text('from .constants import X\n__all__ = ["X", "f"]\n'
                                     "def f():\n    pass\n")
    (tmp_path / "__init__.py").write_text('from ._impl import g\n__all__ = ["g"]\n')
    bad = _second_doors([tmp_path / "mod.py", tmp_path / "__init__.py"])
    assert len(bad) == 1 and "X (from .constants)" in bad[0]


def test_the_model_runs_default_batch_size_is_said_once():
    """``batch_size`` of every AST run defaults to ``run.BATCH_SIZE`` by name, not a
    literal 8 (the video model's frame batches are their own setting); it is defined once,
    in run/, and constants.py (AST's geometry) no longer has it."""
    literal = []
    for path in CHECKED:
        if path.stem in {"video_model", "video_features", "frames"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args.args + node.args.kwonlyargs
                defaults = ([None] * (len(node.args.args) - len(node.args.defaults))
                            + node.args.defaults + node.args.kw_defaults)
                literal += [f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"
                            for a, d in zip(args, defaults, strict=True)
                            if a.arg == "batch_size" and isinstance(d, ast.Constant)]
    assert not literal, f"batch_size defaults written as a number: {literal}"
    import asttools.constants
    import asttools.run
    assert not hasattr(asttools.constants, "BATCH_SIZE")
    assert asttools.run.BATCH_SIZE == 8
    defined = [f"{p.relative_to(PACKAGE)}" for p in CHECKED
               for node in ast.parse(p.read_text(encoding="utf-8")).body
               if isinstance(node, ast.Assign)
               and any(getattr(t, "id", None) == "BATCH_SIZE" for t in node.targets)]
    assert defined == ["run/_defaults.py"], defined
    cli = (PACKAGE / "apps" / "_parser.py").read_text(encoding="utf-8")  # the CLI's options
    assert "default=8" not in cli and cli.count("default=BATCH_SIZE") == 4


STUBBED = sorted(PACKAGE.rglob("__init__.pyi"))


@pytest.mark.parametrize("stub", STUBBED, ids=lambda p: str(p.parent.relative_to(PACKAGE.parent)))
def test_each_lazy_package_has_one_list(stub):
    """A lazy package's names are listed once, in its ``__init__.pyi``: ``__init__.py`` loads
    them from there (``lazy_loader.attach_stub``), so ``__all__``, ``dir()`` and what type
    checkers read cannot disagree; each name comes from the module that defines it (or, for
    a subpackage's private modules, from that module's ``__all__``)."""
    import importlib

    package = ".".join(stub.parent.relative_to(PACKAGE.parent).parts)
    assert "attach_stub(__name__, __file__)" in (stub.parent / "__init__.py").read_text()
    mod = importlib.import_module(package)
    listed = []
    for node in ast.parse(stub.read_text(encoding="utf-8")).body:
        assert isinstance(node, ast.ImportFrom) and node.level == 1, ast.dump(node)
        for a in node.names:
            assert a.asname in (None, a.name), f"{a.name} renamed in {stub}"
            listed.append(a.name)
            if node.module is None:  # a submodule
                assert getattr(mod, a.name).__name__ == f"{package}.{a.name}"
                continue
            home = importlib.import_module(f"{package}.{node.module}")
            exported = getattr(home, "__all__", None)
            assert (a.name in exported) if exported is not None else hasattr(home, a.name), \
                f"{package}.{node.module} does not export {a.name}"
    eager = {"__version__", "ASTToolsError", "ASTToolsWarning", "AudioError",
             "ModelLoadError", "ParameterError", "StoreError"}
    assert sorted(set(mod.__all__)) == sorted(set(listed)), "__all__ is not the stub's list"
    assert len(listed) == len(set(listed)), "a name listed twice"
    assert set(mod.__all__) >= (eager if package == "asttools" else set())


#: The layers of the package, bottom up: a module imports only from its own layer or
#: below (README, "The package"). Within one layer, the import graph has no cycles.
LAYERS = [
    {"errors", "constants", "columns", "settings", "concurrency", "_version"},
    {"labels"},
    {"audio"},
    {"model"},
    {"run"},
    {"timestamps"},
    {"datasets"},
    {"analysis"},
    {"store"},
    {"plots"},
    {"explorer"},
    {"apps", "__main__"},
]


def _layer(module: str) -> int:
    top = module.split(".")[1] if module.count(".") else ""
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"{module} is in no layer: add its folder to LAYERS")


def test_every_import_points_down():
    """No module imports from a layer above its own (audio never imports the model, the
    run never imports the store, only the front ends in apps/ see everything)."""
    up = []
    for path in CHECKED:
        importer = _module_name(path)
        if importer == "asttools":
            continue  # the root lists every layer's public names (lazily)
        for node, source, names, _ in _own_imports(path):
            targets = [source] if source != "asttools" else [f"asttools.{n}" for n in names]
            for t in targets:
                if _layer(t) > _layer(importer):
                    up.append(f"{importer}:{node.lineno} imports {t}")
    assert not up, "imports that point up:\n" + "\n".join(up)


def test_the_layer_check_sees_an_arrow_up():
    assert _layer("asttools.audio._decode") < _layer("asttools.model._load")
    assert _layer("asttools.apps.cli") == len(LAYERS) - 1
    with pytest.raises(AssertionError, match="no layer"):
        _layer("asttools.nowhere.x")


#: Public names two modules define on purpose: the HEAR API asks every module for a
#: ``load_model`` (hear.py), beside the package's own (model.py).
SAME_NAME_OK = {"load_model"}


def test_one_meaning_per_public_name():
    """Two modules do not export different things under one name (``check_pooling`` was a
    run's pooling in settings and a segment's in segments)."""
    homes: dict[str, list[str]] = {}
    for path in CHECKED:
        if path == ROOT_INIT or (path.stem.startswith("_") and path.name != "__init__.py"):
            continue
        listed, defined, _ = _exports(path)
        for name in set(listed) & defined:
            homes.setdefault(name, []).append(str(path.relative_to(PACKAGE)))
    twice = {n: m for n, m in homes.items() if len(m) > 1 and n not in SAME_NAME_OK}
    assert not twice, f"names defined and exported by two modules: {twice}"



#: What ``constants.py`` may define: AST's geometry (issue 19: a run's choices live in
#: ``settings``, the store's in ``store``, a reader's ``MISSING`` in ``datasets``).
GEOMETRY = {
    "SAMPLE_RATE", "FRAME_LENGTH", "FRAME_SHIFT", "FRAME_SHIFT_S", "NUM_MEL_BINS",
    "MAX_LENGTH", "WINDOW_S", "PATCH_SIZE", "FREQUENCY_STRIDE", "TIME_STRIDE", "N_CLASSES",
    "AUDIOSET_MEAN", "AUDIOSET_STD", "PATCH_GRID", "patch_grid", "grid_size",
}


def test_constants_holds_only_asts_geometry():
    """A new setting cannot creep back into ``constants.py``: every name it defines (and
    lists in ``__all__``) is one of the geometry names above."""
    listed, defined, imported = _exports(PACKAGE / "constants.py")
    public = {n for n in defined if not n.startswith("_")}
    assert public <= GEOMETRY, f"constants.py defines more than geometry: {public - GEOMETRY}"
    assert set(listed) <= GEOMETRY, f"constants.__all__ lists {set(listed) - GEOMETRY}"
    assert set(listed) == public, "constants.__all__ and what it defines differ"
    assert not imported.keys() - {"annotations"}, f"constants imports {imported}"


def _changelog_moves() -> dict[str, str]:
    """CHANGELOG.md's "Moved modules" table: old module -> the first name in its row."""
    text = (PACKAGE.parent / "CHANGELOG.md").read_text(encoding="utf-8")
    section = text.split("### Moved modules", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `asttools.")]
    return {r.split("`")[1].removeprefix("asttools."): r.split("`")[3].removeprefix("asttools.")
            for r in rows}


def test_a_moved_module_says_where_it_went():
    """``asttools.attention`` raises an AttributeError naming its new home (the old name is
    no second door: it still raises), and an unknown name keeps lazy_loader's error."""
    import asttools

    moved = asttools._MOVED
    assert len(moved) == 28 and not set(moved) & set(asttools.__all__)
    for old, new in moved.items():
        with pytest.raises(AttributeError, match=rf"asttools\.{old} moved to asttools\.{new} "
                                                 r".*issue 19.*CHANGELOG\.md"):
            getattr(asttools, old)
        assert not hasattr(asttools, old) and old not in dir(asttools)
        home = PACKAGE.joinpath(*new.split("."))
        assert home.with_suffix(".py").is_file() or (home / "__init__.py").is_file(), new
        assert not (PACKAGE / f"{old}.py").exists() and not (PACKAGE / old).is_dir(), old
    with pytest.raises(AttributeError, match="No asttools attribute no_such_name"):
        _ = asttools.no_such_name
    assert asttools.DEFAULT_MODEL == asttools.settings.DEFAULT_MODEL  # lazy names still load


def test_an_old_module_path_is_not_importable_and_the_changelog_lists_it():
    """``import asttools.inference`` fails with Python's own error (no import hook), and
    CHANGELOG.md's table names every one of the 33 moved modules: the 28 the root's table
    words errors for, each with the same new home, and the 5 whose path still resolves
    (now packages)."""
    import asttools

    run = subprocess.run([sys.executable, "-c", "import asttools.inference"],
                         capture_output=True, text=True)
    assert run.returncode == 1 and "ModuleNotFoundError: No module named " \
        "'asttools.inference'" in run.stderr, run.stderr
    listed = _changelog_moves()
    assert len(listed) == 33
    assert {old: listed[old] for old in asttools._MOVED} == asttools._MOVED
    for old in set(listed) - set(asttools._MOVED):
        assert listed[old] == old and (PACKAGE / old / "__init__.py").is_file(), old
