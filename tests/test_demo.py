"""The demo: the notebooks' pipeline end to end on the bundled data, loud about random weights."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

import asttools
from asttools.demo import example_data, load_model_or_fallback, run_demo, weights_banner
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
        report = run_demo(out, model="tiny-random", progress=False, report=lines.append)
    return report, lines


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
    from asttools.cli import EXIT_OK, main

    assert main(["demo", "--help"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "--out" in text and "tiny-random" in text
    assert main(["--help"]) == EXIT_OK
    assert "asttools demo" in capsys.readouterr().out
