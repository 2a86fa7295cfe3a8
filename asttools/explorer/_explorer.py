"""``explore``: a 2-D map of embeddings to hover, hear, select and share as one HTML file."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ParameterError
from ._audio import MAX_EMBEDDED_BYTES, MAX_EMBEDDED_POINTS, page_audio
from ._page import build_page, page_html
from ._points import as_result, color_options, map_coordinates, points_table, reducer_text


@dataclass
class Explorer:
    """An interactive map of embeddings; ``save`` writes it as one HTML file.

    Attributes
    ----------
    points : DataFrame, shape (n_points, ...)
        One row per point: ``x``, ``y`` (map coordinates), ``point`` (name shown), ``id``,
        ``path``, ``start_s``, ``end_s`` (the span a click plays, on the input's clock),
        ``audio_offset_s``, ``audio_status``, ``truth`` (when known), ``predicted``
        (top-1 label), ``p_predicted``, ``top5`` (HTML) and the carried columns.
    options : list of str
        The colour options of the page, in order.
    color : str
        The option shown first.
    meta : dict
        The result's provenance (model, pooling, layer, random_weights, ...).
    reducer : dict
        How the map was made (``method``, ``perplexity``, ``pca_components``, ``seed``).
    not_shown : DataFrame
        Inputs without a point (no embeddings: no audio stream, failed): ``id``,
        ``audio_status``, ``reason``.
    """

    points: pd.DataFrame
    options: list[str]
    color: str
    meta: dict[str, Any] = field(default_factory=dict)
    reducer: dict[str, Any] = field(default_factory=dict)
    not_shown: pd.DataFrame = field(default_factory=pd.DataFrame)
    title: str = "asttools explorer"

    def __repr__(self) -> str:
        warn = "  [RANDOM WEIGHTS]" if self.meta.get("random_weights") else ""
        return (f"Explorer({len(self.points)} points, colour options {self.options}, "
                f"model={self.meta.get('model')!r}, {reducer_text(self.reducer, len(self.points))})"
                f"{warn}")

    def header(self, audio_text: str = "") -> str:
        """What the page says it shows (HTML)."""
        m = self.meta
        lines = [f"<h3 style='margin:4px 0'>{html.escape(self.title)}</h3>"]
        if m.get("random_weights"):
            lines.append("<div style='color:#b00020;font-weight:bold'>RANDOM WEIGHTS "
                         f"({html.escape(str(m.get('model')))}): the map shows signal "
                         "statistics passed through a random network, nothing AST learnt."
                         "</div>")
        layer = m.get("layer")
        lines.append(
            f"<div>{len(self.points)} points; model <b>{html.escape(str(m.get('model')))}"
            f"</b>{' (random weights)' if m.get('random_weights') else ''}, pooling "
            f"<b>{html.escape(str(m.get('pooling')))}</b>, layer <b>{layer}</b>"
            + (f", windows aggregated ({html.escape(str(m['aggregate']))} of "
               "probabilities, mean of embeddings)" if m.get("aggregate") else "")
            + f"; map: {html.escape(reducer_text(self.reducer, len(self.points)))}.</div>")
        if audio_text:
            lines.append(f"<div>{html.escape(audio_text)}</div>")
        if len(self.not_shown):
            listed = ", ".join(f"{html.escape(str(i))} ({html.escape(str(s))})" for i, s in
                               zip(self.not_shown["id"], self.not_shown["audio_status"],
                                   strict=True))
            lines.append(f"<div>{len(self.not_shown)} inputs have no embeddings and are not "
                         f"on the map: {listed}</div>")
        return "\n".join(lines)

    def html(self, *, audio: str = "embed", page: str | os.PathLike | None = None,
             max_points: int = MAX_EMBEDDED_POINTS,
             max_bytes: int = MAX_EMBEDDED_BYTES) -> str:
        """The page as one HTML string (see :meth:`save` for the parameters)."""
        sound = page_audio(self.points, mode=audio, page=page, max_points=max_points,
                           max_bytes=max_bytes)
        points = self.points.copy()
        missing = np.asarray([t.startswith("audio file missing") for t in sound.note])
        points.loc[missing, "audio_status"] = "audio file missing"
        n_play = int((sound.index >= 0).sum())
        how = {"embed": "embedded in this page as Ogg Vorbis (16 kHz mono)",
               "files": "Ogg Vorbis files (16 kHz mono) beside this page, linked by relative "
                        "path",
               "none": "not included"}[audio]
        text = (f"Click a point to hear its span ({n_play} of {len(points)} playable); audio "
                f"{how}, {sound.n_bytes / 1e6:.2f} MB.")
        if missing.any():
            text += (f" {int(missing.sum())} points' audio files are missing (moved or "
                     "deleted): drawn with a black outline, not playable.")
        xy = points[["x", "y"]].to_numpy(float)
        layout = build_page(points.drop(columns=["x", "y"]), xy, sound, options=self.options,
                            color=self.color, header=self.header(text), title=self.title)
        return page_html(layout, title=self.title)

    def save(self, path: str | os.PathLike, *, audio: str = "embed",
             max_points: int = MAX_EMBEDDED_POINTS,
             max_bytes: int = MAX_EMBEDDED_BYTES) -> Path:
        """Write the explorer as one HTML file that works offline.

        Parameters
        ----------
        path : str or PathLike
            The HTML file; missing folders are created.
        audio : {"embed", "files", "none"}, default "embed"
            ``"embed"``: each file's audio (the stretch its points cover) as Ogg Vorbis in
            the page, so the one file is all an advisor needs; at most ``max_points``
            points with audio and ``max_bytes`` of compressed audio. ``"files"``: the Ogg
            files go to ``<stem>_audio/`` beside the page and are linked by relative path
            (copy the folder with the page). ``"none"``: no audio.
        max_points, max_bytes : int
            Limits of ``audio="embed"``; defaults :data:`MAX_EMBEDDED_POINTS` (2000) and
            :data:`MAX_EMBEDDED_BYTES` (50 MB).

        Returns
        -------
        Path

        Raises
        ------
        ParameterError
            Over the limits of ``"embed"`` (the message suggests ``audio="files"``), or
            an unknown ``audio``.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = self.html(audio=audio, page=path, max_points=max_points, max_bytes=max_bytes)
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        return path

    def _repr_html_(self) -> str:
        """The page inline in Jupyter, in an iframe (its scripts stay its own)."""
        try:
            page = self.html(audio="embed")
        except ParameterError as err:  # too large to embed: show it without audio
            page = self.html(audio="none").replace(
                "<body>", f"<body><p><b>{html.escape(str(err))}</b></p>", 1)
        return (f'<iframe srcdoc="{html.escape(page, quote=True)}" style="width:100%;'
                'height:880px;border:0" sandbox="allow-scripts allow-downloads"></iframe>')


def explore(
    data: Any,
    *,
    color: str | None = None,
    truth: Any = None,
    columns: list[str] | None = None,
    per: str | None = None,
    settings: str | dict | None = None,
    method: str = "tsne",
    perplexity: float = 30.0,
    pca_components: int | None = 50,
    seed: int = 0,
    xy: np.ndarray | None = None,
    title: str | None = None,
) -> Explorer:
    """An interactive map of embeddings: hover for labels, click to hear, select, share.

    Each point is one row of the result (a clip, a window, a segment, or a time step):
    placed by :func:`asttools.analysis.reduce.embedding_map`, coloured by any of the options (the
    page switches between them), its truth, top-5 labels and audio status on hover, its
    own span played on a click (not the whole file). A box or lasso selection lists the
    selected points and exports them as CSV; the search box highlights points by id or
    label. ``Explorer.save("map.html")`` writes one self-contained HTML file (BokehJS and
    the audio inline, no network needed); in Jupyter the explorer shows itself inline.

    Parameters
    ----------
    data : EmbeddingResult, TimestampResult, or a store (path, URI)
        A store is read with :func:`asttools.read_store` (``settings=`` picks among its
        settings).
    color : str, optional
        The colour option shown first: ``"truth"``, ``"predicted"`` (top-1 label),
        ``"audio_status"`` or any column of the points (manifest columns are carried).
        Default: ``"truth"`` when known, else ``"predicted"``.
    truth : str or DataFrame, optional
        The ground truth: a column of the table (e.g. ``"action"``), or a table from
        :func:`asttools.read_ground_truth` (each point takes its clip's first label).
        Default: the table's ``label`` column when it has one.
    columns : list of str, optional
        More colour options. Default: every carried column with 2 to 20 values.
    per : {"rows", "clip", "window"}, optional
        ``"clip"`` averages a clip's windows into one point (:meth:`EmbeddingResult.clips`);
        ``"window"`` and ``"rows"`` keep the rows. Default: the rows of a result, one
        point per clip for a store.
    settings : str or dict, optional
        For a store holding several settings (see :func:`asttools.read_store`).
    method : {"tsne", "pca", "umap"}, default "tsne"
    perplexity : float, default 30.0
        t-SNE's perplexity, capped at ``(n - 1) / 3`` (the page states the value used).
    pca_components : int or None, default 50
        PCA before t-SNE/UMAP (see :func:`asttools.analysis.reduce.embedding_map`).
    seed : int, default 0
    xy : ndarray, shape (n_points, 2), optional
        Coordinates to use instead of computing a map.
    title : str, optional

    Returns
    -------
    Explorer

    Raises
    ------
    ParameterError
        ``color`` is not a column (the message lists them), ``truth`` is not a column,
        unknown ``method`` or ``per``, no rows, ``xy`` of the wrong shape.
    StoreError
        The store cannot be read.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from asttools.run.result import EmbeddingResult
    >>> table = pd.DataFrame({"item": [0, 1, 2], "path": ["a.wav", "b.wav", "c.wav"],
    ...                       "start_s": 0.0,
    ...                       "end_s": 1.0, "label": ["dog", "cat", "dog"]})
    >>> probs = np.full((3, 527), 0.01, np.float32); probs[:, 0] = 0.9
    >>> res = EmbeddingResult(table, np.eye(3, 8, dtype=np.float32), probs)
    >>> ex = explore(res, method="pca")
    >>> ex.options, ex.points["predicted"].tolist()
    (['truth', 'predicted', 'audio_status'], ['Speech', 'Speech', 'Speech'])
    """
    result = as_result(data, per=per, settings=settings)
    points, emb = points_table(result, truth=truth)
    if color is None:
        color = "truth" if "truth" in points.columns else (
            "predicted" if "predicted" in points.columns else "audio_status")
    options = color_options(points, color=color, columns=columns)
    if xy is not None:
        xy = np.asarray(xy, dtype=float)
        if xy.shape != (len(points), 2):
            raise ParameterError(f"xy must have shape ({len(points)}, 2), given {xy.shape}")
        used = {"method": "given"}
    else:
        xy, used = map_coordinates(emb, method=method, perplexity=perplexity,
                                   pca_components=pca_components, seed=seed)
    points.insert(0, "x", xy[:, 0].astype(float))
    points.insert(1, "y", xy[:, 1].astype(float))
    status = getattr(result, "status", None)
    not_shown = pd.DataFrame({"id": [], "audio_status": [], "reason": []})
    if status is not None and "has_audio" in status.columns:
        ids = set(points["id"])
        gone = status.loc[~status["id"].astype(str).isin(ids)]
        not_shown = gone[["id", "audio_status", "reason"]].reset_index(drop=True)
    meta = dict(result.meta)
    default = f"{meta.get('model')}: [{meta.get('pooling')}] embeddings, layer {meta.get('layer')}"
    return Explorer(points, options, color, meta, used, not_shown, title or default)
