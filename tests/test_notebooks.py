"""The notebooks: committed clean, laid out by the template, and running top to bottom.

Two kinds of tests, for every ``notebooks/0*.ipynb`` there is:

- **clean and well-formed** (fast, no kernel): no outputs, no execution counts, no volatile
  metadata (``nbstripout --verify`` when nbstripout is installed); cell 1 a markdown title
  with Overview and Prerequisites, cell 2 the ``parameters`` cell (papermill), cell 3 the
  imports, the last cell ``%watermark``; none of the anti-patterns of the project's style
  guide (``sys.path`` edits, ``!git clone``, absolute author paths, functions or classes
  defined in cells, imports after cell 3, a hard-coded GPU).
- **runs** (about 12-40 s each on 2 cores, much of it the kernel importing torch): a copy of
  the notebooks folder in a temporary directory is executed with nbclient, offline, with the
  random ``tiny-random`` model, so the figures and embedding stores the notebooks write
  land in the temporary directory, not in the repository's ``notebooks/outputs/``. The
  bundled example data is still found: ``asttools.apps.demo.example_data()`` finds it inside
  the package (``asttools/data/example``). Each must finish without an error, within
  ``NOTEBOOK_TIMEOUT_S``, and show the random-weights banner.
"""

from __future__ import annotations

import ast
import asyncio
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("0*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]

NOTEBOOK_TIMEOUT_S = 300  # a whole notebook; with tiny-random each takes 12-40 s on 2 cores
CELL_TIMEOUT_S = 240
ENV = {
    "ASTTOOLS_MODEL": "tiny-random",
    "ASTTOOLS_VIDEO_MODEL": "tiny-random-image",  # notebook 05's video features
    "MPLBACKEND": "Agg",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    # every figure a notebook saves goes through asttools.plots.check_figure, or it fails
    "ASTTOOLS_CHECK_FIGURES": "raise",
}
BANNER = "RANDOM WEIGHTS"  # asttools.apps.demo.weights_banner() for a random model

# Figures that each notebook promises to write (stems, under its OUT_DIR).
EXPECTED_FIGURES = {
    "01_ast_architecture": ["waveform_fbank", "patch_grid", "position_similarity", "top_k",
                            "cls_attention_layers", "attention_rollout"],
    "02_extract_embeddings": ["label_timeline", "pca_explained_variance"],
    "03_tsne": ["tsne", "tsne_perplexity_seed", "pca_vs_tsne", "tsne_pooling_layer"],
    "04_label_prediction": ["top5_examples", "label_timeline", "per_class_ap", "pr_curves",
                            "probe_confusion"],
    "05_video_missing_audio": ["timestamp_embeddings", "robustness"],
}

# Anti-patterns (STYLE: "Notebooks narrate; the package computes") looked for in code cells.
FORBIDDEN = {
    r"\bsys\.path\b": "edits sys.path (install the package instead)",
    r"^\s*!\s*git\s+clone": "clones a repository",
    r"^\s*!\s*(pip|conda)\s+install": "installs packages from a cell",
    r"""["'](/home/|/Users/|/data/|/scratch/|/mnt/|[A-Za-z]:\\)""": "an absolute author path",
    r"\.cuda\(\)|map_location\s*=\s*['\"]cuda|device\s*=\s*['\"]cuda": "assumes a GPU",
}


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _code_without_magics(source: str) -> str:
    """Cell source as Python: IPython magics and shell escapes blanked out."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks/0*.ipynb under {NOTEBOOK_DIR}"


# ---------------------------------------------------------------------------------------
# clean and well-formed
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_is_committed_clean(path):
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {i + 1}"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{where} has outputs: run nbstripout on it"
            assert cell.execution_count is None, f"{where} has an execution count"
        assert set(cell.metadata) <= {"tags"}, (
            f"{where} has volatile metadata {sorted(set(cell.metadata) - {'tags'})}")
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3", (
        f"{path.name}: metadata.kernelspec.name must be python3")
    assert "widgets" not in nb.metadata, f"{path.name}: widget state is committed"


@pytest.fixture(scope="module")
def nbstripout_would_strip() -> str:
    """``nbstripout --verify`` over all notebooks at once (one process: ~1.4 s to start)."""
    pytest.importorskip("nbstripout")
    proc = subprocess.run([sys.executable, "-m", "nbstripout", "--verify", *map(str, NOTEBOOKS)],
                          capture_output=True, text=True)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_passes_nbstripout_verify(path, nbstripout_would_strip):
    flagged = {line.rpartition("would have stripped ")[2]
               for line in nbstripout_would_strip.splitlines()}
    assert str(path) not in flagged, (
        f"nbstripout would change {path.name}: run `nbstripout {path.relative_to(REPO)}` "
        "(or install the pre-commit hook: `pre-commit install`)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_follows_the_template(path):
    cells = _read(path).cells
    assert len(cells) >= 5, f"{path.name} has only {len(cells)} cells"

    first = cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# "), (
        f"{path.name}: cell 1 must be a markdown cell with the title")
    for heading in ("Overview", "Prerequisites"):
        assert re.search(rf"^#+\s*{heading}", first.source, re.M), (
            f"{path.name}: cell 1 has no '{heading}' section")

    params = cells[1]
    assert params.cell_type == "code" and "parameters" in params.metadata.get("tags", []), (
        f"{path.name}: cell 2 must be the code cell tagged 'parameters' (papermill)")
    assigned = {t.id for node in ast.parse(params.source).body if isinstance(node, ast.Assign)
                for t in node.targets if isinstance(t, ast.Name)}
    missing = {"MODEL", "DATA", "OUT_DIR", "SUBSET"} - assigned
    assert not missing, f"{path.name}: the parameters cell does not set {sorted(missing)}"
    out_dir = next(node.value for node in ast.parse(params.source).body
                   if isinstance(node, ast.Assign)
                   and any(isinstance(t, ast.Name) and t.id == "OUT_DIR" for t in node.targets))
    assert isinstance(out_dir, ast.Constant) and not Path(out_dir.value).is_absolute(), (
        f"{path.name}: OUT_DIR must be a relative path")

    imports = cells[2]
    assert imports.cell_type == "code" and "import asttools" in imports.source, (
        f"{path.name}: cell 3 must hold the imports (import asttools ...)")
    assert "%load_ext watermark" in imports.source, f"{path.name}: cell 3 must load watermark"

    last = cells[-1]
    assert last.cell_type == "code" and last.source.lstrip().startswith("%watermark"), (
        f"{path.name}: the last cell must print the versions with %watermark")

    summary = [c for c in cells if c.cell_type == "markdown"
               and re.search(r"^#+\s*Summary", c.source, re.M)]
    assert summary, f"{path.name} has no 'Summary' section"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_cells_narrate_and_call_the_package(path):
    """No functions or classes defined in cells, no imports after cell 3, no anti-patterns."""
    for i, cell in enumerate(_read(path).cells):
        if cell.cell_type != "code":
            continue
        where = f"{path.name}, cell {i + 1}"
        for pattern, why in FORBIDDEN.items():
            assert not re.search(pattern, cell.source, re.M), f"{where} {why}"
        tree = ast.parse(_code_without_magics(cell.source))
        for node in ast.walk(tree):
            assert not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef), (
                f"{where} defines {node.name!r}: move it into asttools/ with a test")
            if i > 2:
                assert not isinstance(node, ast.Import | ast.ImportFrom), (
                    f"{where} imports; keep all imports in cell 3")


def test_example_data_is_found_from_another_directory(tmp_path, monkeypatch):
    """The run tests below execute copies in a temp dir: the data must still be found."""
    import asttools.apps.demo

    monkeypatch.chdir(tmp_path)
    manifest = asttools.apps.demo.example_data()
    assert manifest.is_file() and manifest.parent.name == "example"


# ---------------------------------------------------------------------------------------
# runs top to bottom
# ---------------------------------------------------------------------------------------


def _execute(nb, cwd: Path) -> float:
    """Run a notebook in a fresh kernel in ``cwd``; raise on a cell error or the timeout."""
    from nbclient import NotebookClient

    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(cwd)}})
    start = time.perf_counter()
    try:
        asyncio.run(asyncio.wait_for(client.async_execute(), NOTEBOOK_TIMEOUT_S))
    except Exception:
        # on the timeout, nbclient's clean-up shuts the kernel down and may report that
        # (DeadKernelError) instead of the TimeoutError
        if time.perf_counter() - start >= NOTEBOOK_TIMEOUT_S:
            pytest.fail(f"did not finish within {NOTEBOOK_TIMEOUT_S} s", pytrace=False)
        raise
    return time.perf_counter() - start


def _output_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts.append(out.get("text", ""))
            for value in out.get("data", {}).values():
                parts.append(value if isinstance(value, str) else "")
    return "\n".join(parts)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
@pytest.mark.slow
def test_notebook_runs_offline_with_random_weights(path, tmp_path, monkeypatch):
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this process's environment
    work = tmp_path / "notebooks"
    work.mkdir()
    for nb_file in NOTEBOOK_DIR.glob("*.ipynb"):  # siblings too, for links between them
        shutil.copy2(nb_file, work / nb_file.name)

    nb = _read(work / path.name)
    seconds = _execute(nb, work)
    print(f"{path.name}: executed in {seconds:.1f} s")

    errors = [out for cell in nb.cells for out in cell.get("outputs", [])
              if out.get("output_type") == "error"]
    assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    for i, cell in enumerate(nb.cells):  # %load_ext asttools.apps.notebook: once per cell
        shown = [line for out in cell.get("outputs", []) if out.get("name") == "stderr"
                 for line in out.get("text", "").splitlines() if "Warning: " in line]
        repeated = sorted({line for line in shown if shown.count(line) > 1})
        assert not repeated, f"{path.name}, cell {i + 1} repeats a warning: {repeated[0]}"
    assert BANNER in _output_text(nb), (
        f"{path.name} ran with tiny-random but never showed the '{BANNER}' banner "
        "(display(Markdown(asttools.apps.demo.weights_banner(model))))")

    for stem in EXPECTED_FIGURES.get(path.stem, []):
        written = list((work / "outputs").rglob(f"{stem}.p*"))
        assert sorted(p.suffix for p in written) == [".pdf", ".png"], (
            f"{path.name} did not write {stem}.pdf and {stem}.png under outputs/: {written}")
