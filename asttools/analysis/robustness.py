"""How a probe copes when audio goes missing: the field's protocol in one table.

:func:`robustness_curve` sweeps the share of *test* clips whose audio is dropped under
several *training* conditions, for several fills and seeds, with a linear probe
(standardised features, logistic regression, as :func:`asttools.linear_probe`), on audio
alone, audio beside video features, and video alone. The protocol follows the papers of
the field: test missing rates {0, .25, .5, .75, 1} (the missing ratios swept by MiDl and
by MMT-style studies on Epic-Kitchens / Epic-Sounds); training with complete audio, at
the same missing rate as the test, or with modality dropout; relative and effective
robustness as MultiBench defines them (Liang et al., 2021, "MultiBench: Multiscale
Benchmarks for Multimodal Representation Learning", NeurIPS Datasets and Benchmarks
Track; the definitions as its code computes them, ``eval_scripts/robustness.py``).
:func:`robustness_summary` condenses a curve to one row per (features, fill, training).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from ..errors import ParameterError
from .fills import NanFill, as_fill, fill_name, fresh_fill

__all__ = [
    "SPLITS",
    "TRAINING_CONDITIONS",
    "robustness_curve",
    "robustness_drops",
    "robustness_summary",
]

#: How the training clips' audio is treated (see :func:`robustness_curve`).
TRAINING_CONDITIONS = ("complete", "same-rate", "dropout")
#: The values a split column may hold; ``val`` rows are left out of the curve.
SPLITS = ("train", "val", "test")


def robustness_drops(has_audio: np.ndarray, among: np.ndarray, fraction: float, *,
                     seed: int, repeat: int, kind: str = "test") -> np.ndarray:
    """The audio mask after a random share of the clips in ``among`` lose their audio.

    The draw :func:`robustness_curve` makes: ``round(fraction * m)`` of the ``m`` clips in
    ``among`` that have audio, chosen without replacement by a generator seeded with
    ``(seed, repeat, kind, fraction)``: the same draw for every fill, feature set and
    training condition, a new one for each repeat.

    Parameters
    ----------
    has_audio : ndarray of bool, shape (n,)
    among : ndarray of bool, shape (n,)
        The clips that may lose their audio (a test fold, the training clips).
    fraction : float in [0, 1]
    seed, repeat : int
    kind : {"test", "train"}, default "test"

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    mask = np.asarray(has_audio, bool).copy()
    pool = np.flatnonzero(mask & np.asarray(among, bool))
    rng = np.random.default_rng([seed, repeat, ("test", "train").index(kind),
                                 int(round(fraction * 1_000_000))])
    mask[rng.choice(pool, size=int(round(fraction * len(pool))), replace=False)] = False
    return mask


def robustness_curve(
    labels: Sequence,
    embeddings: np.ndarray,
    *,
    has_audio: np.ndarray,
    folds: Sequence | None = None,
    split: Sequence | None = None,
    video: np.ndarray | None = None,
    silence: np.ndarray | None = None,
    fractions: Sequence[float] = (0.0, 0.25, 0.5, 0.75, 1.0),
    fills: Sequence | Mapping = ("zeros", "mean", "silence"),
    training: Sequence[str] = ("complete",),
    dropout: float = 0.5,
    n_repeats: int = 10,
    baseline: tuple[str, str] | None = None,
    C: float = 1.0,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """A linear probe's accuracy as more test clips lose their audio, under the field's protocol.

    For each held-out fold (or the ``test`` part of a fixed split) a probe is trained on
    the training clips and tested with ``fraction`` of the test clips that have audio made
    audio-less on purpose (:func:`robustness_drops`; the same draw for every fill and
    training condition). Every fill is **fitted once per fold on the training clips' real
    audio** (all the audio they have, before any drop: a generator is trained on the
    paired data there is) and fills the test rows without audio and the training rows
    that have none in the data. A training clip whose audio a *condition* drops is filled
    by the same fill **cross-fitted**: fitted on the other four fifths of the training
    clips, so that it never gets its own audio back (a ridge or nearest-neighbour fill
    fitted on a clip reproduces that clip's audio). What the probe trains on is the
    training condition:

    ``"complete"``
        The training clips keep all the audio they have.
    ``"same-rate"``
        The same share ``fraction`` of the training clips with audio lose it (a new draw
        per repeat): the probe is trained at the rate it is tested at.
    ``"dropout"``
        Modality dropout: each training clip with audio loses it with probability
        ``dropout``, independently (a new draw per repeat), whatever the test rate.

    Each repeat (seed) draws new test and training drops; the probe is deterministic.

    Parameters
    ----------
    labels : sequence, length n
        One class per clip.
    embeddings : ndarray, shape (n, d)
        Audio embeddings in clip order; rows without audio may hold anything (NaN from
        ``aligned_embeddings(..., fill="nan")``).
    has_audio : ndarray of bool, shape (n,)
        Which clips have their own audio; a row marked True must be finite.
    folds : sequence, length n, optional
        Fold of each clip; each fold is held out once. Give ``folds`` or ``split``.
    split : sequence of {"train", "val", "test"}, length n, optional
        A fixed split: trained on ``train``, tested on ``test``; ``val`` is not used.
    video : ndarray, shape (n, k), optional
        Video features of the same clips: adds ``features="audio+video"`` (concatenated)
        and the ``"video"`` baseline that no drop of audio affects; learned fills
        (``"ridge"``, ``"nearest"``, a generator) need it.
    silence : ndarray, shape (d,), optional
        The model's embedding of silence, for ``"silence"``.
    fractions : sequence of float, default (0, 0.25, 0.5, 0.75, 1)
        Test missing rates: shares of the test clips with audio whose audio is dropped.
    fills : sequence or mapping, default ("zeros", "mean", "silence")
        Names (:data:`asttools.analysis.fills.FILL_NAMES` but ``"nan"``), fill objects or
        generators (:func:`asttools.analysis.fills.as_fill`); a mapping gives their names.
    training : sequence of str, default ("complete",)
        Training conditions, some of :data:`TRAINING_CONDITIONS`.
    dropout : float in (0, 1), default 0.5
        The drop probability of the ``"dropout"`` condition.
    n_repeats : int >= 1, default 10
        Seeds: random draws of the drops per (fraction, condition).
    baseline : (training, fill), optional
        The reference curve of effective robustness, with the same features: default
        ``("complete", first fill)`` (the first condition of ``training`` without
        ``"complete"``).
    C : float, default 1.0
        Inverse L2 regularisation of the probe.
    n_boot : int, default 1000
    ci : float, default 0.95
    seed : int, default 0
    n_jobs : int, default 1
        Folds run at once, in threads (each fit on one BLAS thread); the result does not
        depend on it.

    Returns
    -------
    DataFrame
        Tidy, one row per (``features``, ``fill``, ``training``, ``fraction``):

        - ``accuracy``: mean correctness over repeats and test clips;
        - ``ci_low``, ``ci_high``: percentile bootstrap interval resampling clips and
          repeats (seeds) independently (two-way bootstrap);
        - ``relative_robustness``: ``accuracy / accuracy at fraction 0`` of the same
          (features, fill, training): the share of clean accuracy kept (NaN without a
          0 fraction);
        - ``effective_robustness``: MultiBench's effective robustness at this rate,
          ``acc(r) - (base(r) + acc(0) - base(0))``: accuracy above the baseline curve
          shifted to the same clean accuracy (Liang et al., 2021, after Taori et al.,
          2020, "Measuring Robustness to Natural Distribution Shifts"); 0 for the
          baseline itself; summed over rates in :func:`robustness_summary`;
        - ``n_clips`` (test clips per repeat), ``n_repeats``.

        ``fill`` and ``training`` are ``"-"`` for the video baseline. ``attrs`` records
        the settings.

    Raises
    ------
    ParameterError
        Called the old way round (embeddings first); mismatched lengths; neither or both
        of ``folds`` and ``split``; a split without a train or test part or with other
        values; an unknown fill or training condition; ``"nan"`` as a fill; a fill that
        cannot be fitted (no audio among the training clips, no video for a learned
        fill); a row marked as having audio that holds NaN; a fraction outside [0, 1];
        ``n_repeats < 1``; a training part with one class.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 20); x = rng.normal(size=(40, 4)) + y[:, None]
    >>> curve = robustness_curve(y, x, has_audio=np.ones(40, bool), folds=np.arange(40) % 4,
    ...                          fills=("zeros", "mean"), n_repeats=2, n_boot=100)
    >>> sorted(curve.columns)[:3]
    ['accuracy', 'ci_high', 'ci_low']
    """
    if np.ndim(labels) == 2:
        raise ParameterError("robustness_curve takes the truth first, as evaluate does: call "
                             "robustness_curve(labels, embeddings, has_audio=..., folds=...)")
    x = np.asarray(embeddings, dtype=np.float64)
    y = np.asarray(labels)
    mask = np.asarray(has_audio, dtype=bool)
    n = len(y)
    groups, test_groups = _groups(folds, split, n)
    if not (len(x) == len(mask) == n) or (video is not None and len(video) != n):
        raise ParameterError("embeddings, labels, has_audio, folds/split (and video) must "
                             f"have one row per clip; got {len(x)}, {n}, {len(mask)}, "
                             f"{len(groups)}" + ("" if video is None else f", {len(video)}"))
    named = _named_fills(fills, silence)
    unknown = [t for t in training if t not in TRAINING_CONDITIONS]
    if unknown or not len(training):
        raise ParameterError(f"training={list(training)!r}: each must be one of "
                             f"{TRAINING_CONDITIONS}")
    for p in fractions:
        if not 0.0 <= float(p) <= 1.0:
            raise ParameterError(f"fraction {p!r} must lie in [0, 1]")
    if not (isinstance(n_repeats, (int, np.integer)) and n_repeats >= 1):
        raise ParameterError(f"n_repeats={n_repeats!r} must be an int >= 1 (the number of "
                             "seeds: random draws of the dropped clips)")
    if not 0.0 < float(dropout) < 1.0:
        raise ParameterError(f"dropout={dropout!r} must lie in (0, 1)")
    v = None if video is None else np.asarray(video, np.float64)
    fractions = [float(p) for p in fractions]
    feature_sets = ["audio"] + (["audio+video"] if v is not None else [])
    tested = np.isin(groups, test_groups)
    jobs = []
    for g in test_groups:
        test = groups == g
        train = groups != g if split is None else groups == "train"
        if len(np.unique(y[train])) < 2:
            raise ParameterError(f"holding out {g!r} leaves one class to train on")
        jobs.append((train, test))
    if not (isinstance(n_jobs, (int, np.integer)) and n_jobs >= 1):
        raise ParameterError(f"n_jobs={n_jobs!r} must be an int >= 1")

    def one(train, test) -> dict:
        out: dict = {}
        _one_fold(out, x, y, v, mask, train, test, named, feature_sets, training, fractions,
                  n_repeats, dropout, C, seed)
        return out

    with threadpool_limits(limits=1):  # many small fits: BLAS threads only fight
        if n_jobs == 1 or len(jobs) == 1:
            parts = [one(*job) for job in jobs]
        else:  # threads: the fits spend their time in numpy, which releases the GIL
            parts = Parallel(n_jobs=min(n_jobs, len(jobs)), backend="threading")(
                delayed(one)(*job) for job in jobs)
    hits: dict = {}
    for part in parts:
        for key, per in part.items():
            for r, found in per.items():
                hits.setdefault(key, {}).setdefault(r, []).extend(found)
    rows = []
    for key, per in hits.items():
        matrix = np.zeros((len(per), n))
        for r, (_, h) in enumerate(sorted(per.items())):
            for idx, value in h:
                matrix[r, idx] = value
        rows.append(_row(key, matrix[:, tested], n_boot, ci, seed))
    out = pd.DataFrame(rows)
    out = _add_robustness(out, baseline or (
        "complete" if "complete" in training else training[0], next(iter(named))))
    out.attrs.update(ci=ci, n_boot=n_boot, n_repeats=n_repeats, C=C, seed=seed,
                     dropout=dropout, protocol="folds" if split is None else "split")
    return out


def robustness_summary(curve: pd.DataFrame) -> pd.DataFrame:
    """One row per (features, fill, training): MultiBench's two robustness numbers.

    Parameters
    ----------
    curve : DataFrame
        From :func:`robustness_curve`.

    Returns
    -------
    DataFrame
        ``features``, ``fill``, ``training``, ``clean_accuracy`` (at fraction 0),
        ``relative_robustness``: MultiBench's relative robustness, the area under accuracy
        against the missing rate (trapezoids over the rates given; 1.0 for a perfect
        probe over rates 0 to 1), and ``effective_robustness``: MultiBench's effective
        robustness, ``sum_r [acc(r) - (base(r) + acc(0) - base(0))]`` over the rates, with
        the baseline of :func:`robustness_curve` (Liang et al., 2021,
        ``eval_scripts/robustness.py``: ``relative_robustness_helper`` and
        ``effective_robustness_helper``; MultiBench then min-max normalises both across
        the methods of a task, which is left to you).
    """
    rows = []
    for key, group in curve.groupby(["features", "fill", "training"], sort=False):
        group = group.sort_values("fraction")
        r, a = group["fraction"].to_numpy(float), group["accuracy"].to_numpy(float)
        clean = a[r == 0.0][0] if (r == 0.0).any() else np.nan
        area = float(np.sum((a[1:] + a[:-1]) * np.diff(r) / 2)) if len(r) > 1 else np.nan
        rows.append({"features": key[0], "fill": key[1], "training": key[2],
                     "clean_accuracy": float(clean), "relative_robustness": area,
                     "effective_robustness": float(group["effective_robustness"].sum())})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- internals


def _groups(folds, split, n):
    """The group of every clip and the groups held out as tests."""
    if (folds is None) == (split is None):
        raise ParameterError("give folds=... (cross-validation) or split=... (a column of "
                             f"{SPLITS}), one of the two")
    if folds is not None:
        groups = np.asarray(folds)
        return groups, list(np.unique(groups))
    groups = np.asarray([str(s).strip().lower() for s in split], dtype=object)
    other = sorted(set(groups) - set(SPLITS))
    if other:
        raise ParameterError(f"split has {other[0]!r}; a split column holds {SPLITS}")
    for part in ("train", "test"):
        if not (groups == part).any():
            raise ParameterError(f"split has no {part!r} rows: the curve trains on 'train' "
                                 "and tests on 'test'")
    return groups, ["test"]


def _named_fills(fills, silence) -> dict:
    items = fills.items() if isinstance(fills, Mapping) else \
        [(fill_name(f), f) for f in fills]
    named = {}
    for name, f in items:
        obj = as_fill(f, silence=silence)
        if isinstance(obj, NanFill):
            raise ParameterError("fill 'nan' cannot feed a probe; use zeros, mean, silence, "
                                 "ridge, nearest or a fill object")
        if name in named:
            raise ParameterError(f"fills name {name!r} twice; pass a mapping of names")
        named[str(name)] = obj
    if not named:
        raise ParameterError("fills is empty")
    return named


def _one_fold(hits, x, y, v, mask, train, test, named, feature_sets, training, fractions,
              n_repeats, dropout, C, seed) -> None:
    """Add this fold's per-clip correctness to ``hits``:
    key -> {(repeat): [(clip indices, correctness), ...]}."""
    tr, te = np.flatnonzero(train), np.flatnonzero(test)
    vt = None if v is None else v[tr]
    ve = None if v is None else v[te]
    test_masks = {(r, p): robustness_drops(mask, test, p, seed=seed, repeat=r)[te]
                  for r in range(n_repeats) for p in fractions}
    train_masks = {}
    for r in range(n_repeats):
        for p in fractions:
            train_masks[("same-rate", r, p)] = robustness_drops(mask, train, p, seed=seed,
                                                                repeat=r, kind="train")[tr]
        rng = np.random.default_rng([seed, r, 2])
        train_masks[("dropout", r)] = mask[tr] & (rng.random(len(tr)) >= dropout)
    if v is not None:  # video alone: no audio, no fill, one fit
        pred = _fit(v[tr], y[tr], C).predict(v[te]) == y[te]
        for r in range(n_repeats):
            for p in fractions:
                hits.setdefault(("video", "-", "-", p), {}).setdefault(r, []).append(
                    (te, pred))
    for name, fill in named.items():
        f = fresh_fill(fill)
        f.fit(x[tr], vt, mask[tr])  # the training clips' real audio
        filled_test = {k: f.transform(x[te], ve, m) for k, m in test_masks.items()}
        filled_train = f.transform(x[tr], vt, mask[tr])
        crossed = _cross_filled(fill, x[tr], vt, mask[tr], seed) \
            if any(t != "complete" for t in training) else None
        for features in feature_sets:
            with_video = features == "audio+video"
            probes = _Probes(filled_train, crossed, mask[tr], vt, y[tr], C,
                             with_video=with_video)
            for condition in training:
                for r in range(n_repeats):
                    for p in fractions:
                        if condition == "complete":
                            model = probes.get(mask[tr])
                        elif condition == "same-rate":
                            model = probes.get(train_masks[("same-rate", r, p)])
                        else:
                            model = probes.get(train_masks[("dropout", r)])
                        a = filled_test[(r, p)]
                        a = np.hstack([a, ve]) if with_video else a
                        hits.setdefault((features, name, condition, p), {}).setdefault(
                            r, []).append((te, model.predict(a) == y[te]))


def _cross_filled(fill, x, video, has, seed, parts: int = 5) -> np.ndarray:
    """Every training row as the fill generates it without having seen that row's audio:
    the fill fitted on the other parts of the training clips (cross-fitting), so that a
    training clip whose audio a condition drops is not filled with its own audio."""
    n = len(x)
    order = np.random.default_rng([seed, 11]).permutation(n)
    part = np.empty(n, int)
    part[order] = np.arange(n) % parts
    out = np.empty((n, x.shape[1]), np.float32)
    for k in range(parts):
        rows = part == k
        f = fresh_fill(fill)
        f.fit(x[~rows], None if video is None else video[~rows], has[~rows])
        out[rows] = f.transform(x[rows], None if video is None else video[rows],
                                np.zeros(rows.sum(), bool))
    return out


class _Probes:
    """The probes of one fold, fill and feature set, one per training mask (fitted once;
    after the first, warm-started from it)."""

    def __init__(self, filled, crossed, has, video, y, C, *, with_video):
        self.filled, self.crossed, self.has = filled, crossed, has
        self.video, self.y, self.C = video, y, C
        self.with_video = with_video
        self.cache: dict = {}
        self.first = None

    def get(self, train_mask: np.ndarray):
        key = np.asarray(train_mask, bool).tobytes()
        if key not in self.cache:
            a = self.filled
            dropped = self.has & ~train_mask  # audio the condition takes away
            if dropped.any():
                a = a.copy()
                a[dropped] = self.crossed[dropped]
            a = np.hstack([a, self.video]) if self.with_video else a
            self.cache[key] = _fit(a, self.y, self.C, warm=self.first)
            self.first = self.first or self.cache[key]
        return self.cache[key]


class _Probe:
    """Standardise, then logistic regression: ``linear_probe``'s model, warm-startable."""

    def __init__(self, scaler, model):
        self.scaler, self.model = scaler, model

    def predict(self, a):
        return self.model.predict(self.scaler.transform(a))


def _fit(a, y, C, warm: _Probe | None = None) -> _Probe:
    scaler = StandardScaler().fit(a)
    model = LogisticRegression(C=C, max_iter=5000)
    if warm is not None:  # start from a probe of the same fold, fill and features
        model.set_params(warm_start=True)
        model.coef_ = warm.model.coef_.copy()
        model.intercept_ = warm.model.intercept_.copy()
    model.fit(scaler.transform(a), y)
    return _Probe(scaler, model)


def _row(key, matrix, n_boot, ci, seed) -> dict:
    """Accuracy and a two-way (repeats x clips) percentile bootstrap interval."""
    features, fill, condition, p = key
    n_rep, n = matrix.shape
    rng = np.random.default_rng([seed, 7])
    seeds = rng.multinomial(n_rep, np.full(n_rep, 1 / n_rep), size=n_boot)
    clips = rng.multinomial(n, np.full(n, 1 / n), size=n_boot)
    boot = np.einsum("br,rn,bn->b", seeds.astype(float), matrix, clips.astype(float)) \
        / (n_rep * n)
    alpha = (1 - ci) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return {"features": features, "fill": fill, "training": condition, "fraction": p,
            "accuracy": float(matrix.mean()), "ci_low": float(low), "ci_high": float(high),
            "n_clips": n, "n_repeats": n_rep}


def _add_robustness(out, baseline) -> pd.DataFrame:
    """``relative_robustness`` and ``effective_robustness`` per row."""
    keys = ["features", "fill", "training"]
    clean = out[out["fraction"] == 0.0].set_index(keys)["accuracy"]
    at0 = pd.Series([clean.get(tuple(k), np.nan) for k in out[keys].itertuples(index=False)],
                    index=out.index)
    out["relative_robustness"] = out["accuracy"] / at0.where(at0 > 0)
    base_training, base_fill = baseline
    base = out[(out["training"] == base_training) & (out["fill"] == base_fill)]
    if base.empty:
        raise ParameterError(f"baseline={baseline!r} is not among the curves: give "
                             "(training, fill) of one of them")
    base = base.set_index(["features", "fraction"])["accuracy"]
    eff = []
    for row, a0 in zip(out.itertuples(index=False), at0, strict=True):
        if row.features == "video":
            b, b0 = row.accuracy, row.accuracy  # its own baseline
        else:
            b = base.get((row.features, row.fraction), np.nan)
            b0 = base.get((row.features, 0.0), np.nan)
        eff.append(row.accuracy - (b + a0 - b0))
    out["effective_robustness"] = eff
    return out
