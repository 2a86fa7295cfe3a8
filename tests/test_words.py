"""One meaning per word: a public parameter name means the same thing in every function.

docs/design.md ("Words") states the rule and the meanings. The checks read the source
(no imports, so no torch): every function and method whose name is public, in any module
of the package, and the numpydoc entry that documents each of its parameters. A word that
was renamed where it meant something else keeps its old keyword for one release beside
the new one, defaulting to None and documented as "The old name of ``new``"; the
behaviour of those old keywords is checked at the end.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "asttools"

#: Where ``precision=`` (the model's numeric precision: fp32, bf16, fp16, int8, auto) may
#: be a parameter: the packages that run a model, and the root's settings checks.
PRECISION_HOMES = ("model", "run", "timestamps", "store", "apps", "settings")

#: What each word means, as the numpydoc entry of a parameter so named must show it: a
#: pattern its type and description must match. An entry that says "The old name of
#: ``x``" is a deprecated alias and is checked by test_old_names_stand_beside_new_ones.
MEANINGS = {
    # the model's numeric precision, never precision as in precision/recall
    "precision": (r"fp32", "the model's numeric precision (fp32, bf16, ...)"),
    "precisions": (r"fp32", "numeric precisions to compare"),
    # a strategy for missing audio (a name, a fill object or a callable), never a number
    "fill": (r"\bfill object\b|\"zeros\"", "a strategy for missing audio"),
    # an interval's coverage, a float like 0.95
    "ci": (r"^float\b", "a confidence interval's coverage (0.95)"),
    # an array of probabilities, never a way of combining them
    "probs": (r"^(ndarray|EmbeddingResult)", "an array of probabilities"),
    # what a reader does with listed files that are missing
    "missing": (r"\"error\", \"warn\", \"drop\", \"keep\"", "the missing-files policy"),
    # video features (an array, or the VideoFeatures of a store), never a switch
    "video": (r"ndarray|VideoFeatures|video features", "video features"),
    # how many of the most probable labels or classes (top-k)
    "k": (r"\btop\b|\blabels?\b|\bclass(es)?\b", "how many top labels"),
}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, ast.parse(path.read_text(encoding="utf-8"))


def _functions(tree: ast.Module):
    """(qualified name, function node, class docstring or None) of each public function
    and method (``__init__`` counts: its parameters are the class's)."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if not node.name.startswith("_"):
                yield node.name, node, None
        elif isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                        not item.name.startswith("_") or item.name == "__init__"):
                    yield f"{node.name}.{item.name}", item, ast.get_docstring(node)


def _parameters(fn) -> list[ast.arg]:
    a = fn.args
    return [p for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]


def _entries(doc: str | None) -> dict[str, str]:
    """Each parameter's numpydoc entry (type line and description) in a docstring."""
    if not doc:
        return {}
    text = textwrap.dedent(doc)
    match = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[\w ]*\n-+\n|\Z)", text, re.M | re.S)
    if not match:
        return {}
    out, names, body = {}, [], []
    for line in match.group(1).splitlines():
        head = re.match(r"^(\*{0,2}\w+(?:, *\*{0,2}\w+)*)(?: : (.*))?$", line)
        if head and not line.startswith(" "):
            for name in names:
                out[name] = "\n".join(body).strip()
            names = [n.strip().lstrip("*") for n in head.group(1).split(",")]
            body = [head.group(2) or ""]
        elif names:
            body.append(line.strip())
    for name in names:
        out[name] = "\n".join(body).strip()
    return out


def _uses(modules):
    """(module, function, parameter node, its doc entry or None, the function's node)."""
    for module, tree in modules:
        for qualname, fn, class_doc in _functions(tree):
            entries = _entries(ast.get_docstring(fn))
            if fn.name == "__init__":
                entries = {**_entries(class_doc), **entries}
            for p in _parameters(fn):
                yield module, qualname, p, entries.get(p.arg), fn


def _precision_outside_its_homes(modules) -> list[str]:
    return [f"{module}.{qualname}({p.arg}=)"
            for module, qualname, p, _, _ in _uses(modules)
            if p.arg in ("precision", "precisions")
            and (module.split(".") + [""])[1] not in PRECISION_HOMES]


def _other_meanings(modules) -> list[str]:
    bad = []
    for module, qualname, p, entry, _ in _uses(modules):
        if p.arg in MEANINGS and entry is not None and not re.search(
                r"old (name|keyword)", entry, re.I) and not re.match(  # a rename's: below
                r"As (in|for) :(func|meth):", entry):  # that function's entry is checked
            pattern, meaning = MEANINGS[p.arg]
            if not re.search(pattern, entry, re.M | re.I):
                bad.append(f"{module}.{qualname}({p.arg}=): {entry.splitlines()[0]!r} is not "
                           f"{meaning}")
    return bad


def _old_names_alone(modules) -> list[str]:
    bad = []
    for module, qualname, p, entry, fn in _uses(modules):
        if entry is None or "The old name of" not in entry:
            continue
        new = re.search(r"The old name of ``(\w+)``", entry).group(1)
        names = {q.arg for q in _parameters(fn)}
        defaults = dict(zip([q.arg for q in fn.args.kwonlyargs],
                            fn.args.kw_defaults, strict=True))
        positional = fn.args.posonlyargs + fn.args.args
        defaults.update(zip([q.arg for q in positional[len(positional) -
                                                       len(fn.args.defaults):]],
                            fn.args.defaults, strict=True))
        default = defaults.get(p.arg)
        if new not in names:
            bad.append(f"{module}.{qualname}({p.arg}=): no {new}= beside it")
        elif not (isinstance(default, ast.Constant) and default.value is None):
            bad.append(f"{module}.{qualname}({p.arg}=): an old name must default to None")
    return bad


MODULES = list(_modules())


def test_the_checks_read_the_package():
    uses = list(_uses(MODULES))
    assert len(MODULES) > 60 and len(uses) > 800
    documented = [u for u in uses if u[1] == "embed" and u[2].arg == "precision"]
    assert documented and "fp32" in documented[0][3]  # the entries are found


def test_precision_is_a_parameter_only_where_a_model_runs():
    """Precision as in precision/recall is a column name (``per_class_metrics``,
    ``evaluate``'s ``precision_macro``, ``pr_curves``), never a parameter."""
    assert not _precision_outside_its_homes(MODULES)


def test_each_word_means_one_thing():
    assert not _other_meanings(MODULES), "\n".join(_other_meanings(MODULES))


def test_old_names_stand_beside_new_ones():
    assert not _old_names_alone(MODULES), "\n".join(_old_names_alone(MODULES))


SLIPS = '''
def pr_at(scores, *, precision: float = 0.9):
    """Threshold reaching a precision.

    Parameters
    ----------
    scores : ndarray
    precision : float, default 0.9
        The precision (as in precision/recall) to reach.
    """

def combine(result, *, probs: str = "mean", ci: bool = True, k: int = 1):
    """Combine.

    Parameters
    ----------
    result : EmbeddingResult
    probs : {"mean", "max"}
        How probabilities combine.
    ci : bool
        Draw intervals.
    k : int
        Neighbours averaged.
    """

def renamed(x, *, window: float = 1.0, fill=0.0):
    """Renamed.

    Parameters
    ----------
    x : ndarray
    fill : float, optional
        The old name of ``fill_value``.
    """
'''


def test_the_checks_catch_a_slip():
    """Each check fails on a function that breaks its rule (a check that cannot fail is
    no check)."""
    fake = [("asttools.analysis.fake", ast.parse(SLIPS))]
    assert _precision_outside_its_homes(fake) == ["asttools.analysis.fake.pr_at(precision=)"]
    slips = {line.split(":")[0] for line in _other_meanings(fake)}
    assert slips == {f"asttools.analysis.fake.{f}" for f in
                     ("pr_at(precision=)", "combine(probs=)", "combine(ci=)", "combine(k=)")}
    assert _old_names_alone(fake) == [
        "asttools.analysis.fake.renamed(fill=): no fill_value= beside it"]


# ----------------------------------------------------------------------------------------
# The old keywords: the same result as the new ones, with a DeprecationWarning


def _result():
    from asttools.run.result import EmbeddingResult

    table = pd.DataFrame({"item": [0, 0, 1], "id": ["a", "a", "b"], "path": ["a", "a", "b"],
                          "window": [0, 1, 0], "start_s": [0.0, 10.24, 0.0],
                          "end_s": [10.24, 15.0, 3.0], "clip_duration_s": [15.0, 15.0, 3.0]})
    probs = np.array([[0.2, 0.9], [0.6, 0.1], [0.5, 0.5]], np.float32)
    return EmbeddingResult.from_rows(table, np.ones((3, 4), np.float32), probs,
                                     pd.DataFrame(), {})


def test_clips_probs_is_now_aggregate():
    from asttools.errors import ParameterError

    res = _result()
    new = res.clips(aggregate="max")
    np.testing.assert_array_equal(new.probs, np.float32([[0.6, 0.9], [0.5, 0.5]]))  # by hand
    assert new.meta["aggregate"] == "max"
    with pytest.warns(DeprecationWarning, match=r"clips\(probs=\.\.\.\) is now .*aggregate"):
        old = res.clips(probs="max")
    np.testing.assert_array_equal(old.probs, new.probs)
    np.testing.assert_allclose(res.clips().probs, [[0.4, 0.5], [0.5, 0.5]])  # mean
    with pytest.raises(ParameterError, match="give aggregate= only"):
        res.clips(aggregate="max", probs="mean")
    with pytest.raises(ParameterError, match=r"aggregate='median' is not one of"):
        res.clips(aggregate="median")


def test_nearest_neighbour_fill_k_is_now_n_neighbors():
    from sklearn.base import clone

    from asttools.analysis.fills import NearestNeighbourFill

    rng = np.random.default_rng(0)
    audio, video = rng.standard_normal((20, 3)), rng.standard_normal((20, 5))
    has = np.ones(20, bool)
    has[:4] = False
    new = NearestNeighbourFill(n_neighbors=3)
    with pytest.warns(DeprecationWarning, match=r"NearestNeighbourFill\(k=\.\.\.\) is now"):
        old = NearestNeighbourFill(k=3)
    assert old.n_neighbors == 3 and repr(old) == repr(new)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cloning an old-style fill warns no more
        copy = clone(old)
    a = new.fit(audio, video, has).transform(audio, video, has)
    b = copy.fit(audio, video, has).transform(audio, video, has)
    np.testing.assert_array_equal(a, b)
    # by hand: row 0 (no audio) gets the mean audio of its 3 most cosine-similar rows
    unit = video / np.linalg.norm(video, axis=1, keepdims=True)
    sim = unit[has] @ unit[0]
    np.testing.assert_allclose(a[0], audio[has][np.argsort(-sim)[:3]].mean(0), rtol=1e-5)


def test_primary_labels_missing_is_now_default():
    from asttools.datasets import primary_labels

    truth = pd.DataFrame({"path": ["a", "b"], "labels": [("dog", "bark"), ()]})
    assert primary_labels(truth, ["b", "a", "c"], default="-") == ["-", "dog", "-"]
    with pytest.warns(DeprecationWarning, match=r"primary_labels\(missing=\.\.\.\) is now"):
        assert primary_labels(truth, ["b", "a"], missing="-") == ["-", "dog"]


def test_plot_robustness_ci_is_now_intervals():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from asttools.plots import plot_robustness

    curve = pd.DataFrame({
        "features": ["audio", "audio"], "fill": ["zeros", "zeros"], "fraction": [0.0, 1.0],
        "accuracy": [0.9, 0.25], "ci_low": [0.8, 0.1], "ci_high": [1.0, 0.4]})
    try:
        with_bars = len(plot_robustness(curve).collections)
        without = len(plot_robustness(curve, intervals=False).collections)
        with pytest.warns(DeprecationWarning, match=r"plot_robustness\(ci=\.\.\.\) is now"):
            old = len(plot_robustness(curve, ci=False).collections)
    finally:
        plt.close("all")
    assert (with_bars, without, old) == (1, 0, 0)


def test_check_frame_rate_video_is_now_allow_video():
    from asttools.errors import ParameterError
    from asttools.timestamps import check_frame_rate

    assert check_frame_rate("video", allow_video=True) == "video"
    with pytest.raises(ParameterError, match=r"\(or 'video'\), got 'videos'"):
        check_frame_rate("videos", allow_video=True)
    with pytest.raises(ParameterError, match=r"at most 1000, got 'video'"):
        check_frame_rate("video")
    with pytest.warns(DeprecationWarning, match=r"check_frame_rate\(video=\.\.\.\) is now"):
        assert check_frame_rate("video", video=True) == "video"
