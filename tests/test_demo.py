"""The demo: the notebooks' pipeline end to end on the bundled data, loud about random weights."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from audio_fixtures import write_tone

import asttools
from asttools import plots
from asttools.apps.cli import EXIT_OK, main
from asttools.apps.demo import example_data, load_model_or_fallback, run_demo, weights_banner
from asttools.errors import ASTToolsWarning


def test_example_data_is_found():
    manifest = example_data()
    assert manifest.name == "manifest.csv" and manifest.is_file()


def test_fallback_to_tiny_random_says_why(tmp_path):
    model, reason = load_model_or_fallback(str(tmp_path / "no-such-model"))
    assert asttools.model_info(model)["random_weights"] is True
    assert "no-such-model" in reason


def test_no_fallback_for_a_model_that_loads(tiny_model_dir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        model, reason = load_model_or_fallback(str(tiny_model_dir))
    assert reason is None


def test_banner_is_loud_for_random_weights(tiny_model):
    assert "RANDOM WEIGHTS" in weights_banner(tiny_model)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    lines: list[str] = []
    out = tmp_path_factory.mktemp("demo")
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore", ASTToolsWarning)
        # every figure the demo saves goes through plots.check_figure, or the demo fails
        mp.setenv("ASTTOOLS_CHECK_FIGURES", "raise")
        save = plots.save_figure

        def recording(fig, stem, **options):  # each label's colour in each saved figure
            COLORS[Path(stem).name] = _label_colors(fig)
            return save(fig, stem, **options)

        mp.setattr(plots, "save_figure", recording)
        report = run_demo(out, model="tiny-random", progress=False, report=lines.append)
    return report, lines


COLORS: dict[str, dict[str, str]] = {}


def _label_colors(fig) -> dict[str, str]:
    """{label: colour} of the artists the plot helpers tag with their label (gid)."""
    from matplotlib.colors import to_hex

    fig = getattr(fig, "figure", fig)
    out = {}
    for artist in fig.findobj(lambda a: bool(getattr(a, "get_gid", lambda: None)())):
        if hasattr(artist, "get_xydata"):  # a line
            color = artist.get_color()
        else:  # a bar or a scatter group
            faces = artist.get_facecolor()
            color = faces[0] if np.ndim(faces) == 2 else faces
        out[artist.get_gid()] = to_hex(color)
    return out


@pytest.mark.slow
def test_a_label_has_one_colour_in_every_demo_figure(demo):
    """Issue 21: Siren was purple in the t-SNE and vermilion in the PR curves."""
    figures = {stem: colors for stem, colors in COLORS.items()
               if stem.startswith(("03_", "04_", "05_", "07_"))}
    assert {"04_label_timeline", "05_tsne", "07_pr_curves"} <= set(figures), sorted(COLORS)
    assert any(stem.startswith("03_") for stem in figures)  # the top-k bars
    seen: dict[str, set[str]] = {}
    for colors in figures.values():
        for label, color in colors.items():
            seen.setdefault(label, set()).add(color)
    shared = [label for label in seen if sum(label in c for c in figures.values()) > 1]
    assert shared  # labels that appear in several figures ...
    assert all(len(seen[label]) == 1 for label in seen), seen  # ... have one colour
    assert all(seen[label] == {plots.label_colors([label])[label]} for label in seen)


@pytest.mark.slow
def test_demo_writes_figures_and_tables(demo):
    report, lines = demo
    stems = {p.stem for p in report.figures}
    for expected in ("01_waveform_fbank", "02_attention_rollout", "04_label_timeline",
                     "05_tsne", "06_per_class_ap", "07_pr_curves", "08_probe_confusion",
                     "09_metrics"):
        assert expected in stems
    assert {p.suffix for p in report.figures} == {".pdf", ".png"}
    assert all(p.stat().st_size > 1000 for p in report.figures)
    assert {p.stem for p in report.tables} >= {"metrics", "per_class", "top5_per_clip",
                                               "label_mapping", "linear_probe"}
    assert report.n_clips == 28 and report.n_errors == 0
    assert (report.out_dir / "embeddings.parquet").exists()
    assert report.explorer == report.out_dir / "explorer.html"  # asttools.explore's map
    page = report.explorer.read_text()
    assert "RANDOM WEIGHTS" in page and page.count("data:audio/ogg;base64,") == 28


@pytest.mark.slow
def test_demo_marks_random_weights_everywhere(demo):
    report, lines = demo
    assert report.random_weights
    banners = [i for i, line in enumerate(lines) if "RANDOM WEIGHTS" in line]
    assert banners and banners[0] < 2 and banners[-1] == len(lines) - 1  # start and end
    for path in report.tables:
        table = pd.read_csv(path)
        assert table["random_weights"].all(), path
        assert table["model"].str.contains("random weights").all(), path
    metrics = report.metrics.set_index("metric")
    assert "mAP" in metrics.index


def test_demo_subcommand_is_documented(capsys):

    assert main(["demo", "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "--out" in text and "tiny-random" in text
    assert main(["--help"]) == EXIT_OK
    assert "asttools demo" in capsys.readouterr().out


# --- the demo on a tiny dataset -------------------------------------------------------------


@pytest.mark.slow  # over 15 s on the loaded 2-core machine (about 5 s quiet)
def test_demo_on_two_clips_of_one_class_skips_the_probe_with_a_note(tmp_path, tiny_model):
    data = tmp_path / "clips.csv"
    for i in range(2):
        write_tone(tmp_path / f"c{i}.wav", 1.0, freq=440.0 * (i + 1), amp=0.3)
    pd.DataFrame({"path": ["c0.wav", "c1.wav"], "category": ["dog", "dog"]}).to_csv(
        data, index=False)
    lines: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ASTToolsWarning)
        report = asttools.apps.demo.run_demo(tmp_path / "out", data=data, model=tiny_model,
                                        label_column="category", progress=False,
                                        report=lines.append)
    assert report.n_clips == 2
    assert any("linear probe skipped" in n and "two classes" in n for n in report.notes)
    assert any(line.startswith("note: linear probe skipped") for line in lines)
    stems = {p.stem for p in report.tables}
    assert "linear_probe" not in stems and "metrics" in stems
    assert "08_probe_confusion" not in {p.stem for p in report.figures}
    assert "01_waveform_fbank" in {p.stem for p in report.figures}
