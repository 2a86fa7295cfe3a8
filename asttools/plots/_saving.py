"""Saving a figure as a thesis needs it: vector PDF and 300-dpi PNG, TrueType fonts."""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import matplotlib as mpl

from ..errors import ASTToolsError, ASTToolsWarning, ParameterError
from ._check import check_figure
from ._theme import FIGURE_WIDTHS


def save_figure(
    fig,
    path_stem: str | Path,
    *,
    width: str | float | None = None,
    height: float | None = None,
    formats: Sequence[str] = ("pdf", "png"),
    dpi: int = 300,
    check: str | None = None,
) -> list[Path]:
    """Write a figure as vector PDF and 300-dpi PNG for a thesis.

    Fonts are embedded as TrueType (``pdf.fonttype`` 42, editable in Illustrator/Inkscape),
    the file is exactly the size asked (no tight bounding box growing or cropping it: what
    the check passed is what is written; a PNG of another size raises), and the PDF
    carries no creation date, so an unchanged figure rewrites to the same bytes. Resizing
    applies to the files only: the figure returns to its size afterwards.

    Parameters
    ----------
    fig : matplotlib Figure or Axes
        The figure (an Axes stands for its figure, so a helper's return value can be
        passed directly).
    path_stem : str or Path
        Path without suffix, e.g. ``"figures/top_k"``; missing folders are created. A
        suffix naming one of ``formats`` (``"top_k.pdf"``) is dropped.
    width : {"full", "half", "column", "double"} or float, optional
        Resize to the thesis text width (6.3 in), half of it (3.1 in), one column
        (3.5 in) or two columns (7.16 in) of a paper, or a width in inches; None keeps the
        width. The figure is laid out again at that width (fonts keep their size; the check
        says when the layout no longer fits). The height stays (the helpers size it to their
        content, e.g. 0.3 in per bar) unless ``height`` is given.
    height : float, optional
        Height in inches; None keeps the height.
    formats : sequence of str
        File formats, each one matplotlib can write (pdf, png, svg, eps, ...).
    dpi : int
        Resolution of raster formats.
    check : {"warn", "raise", "off"}, optional
        Put the figure, at the size it is saved, through :func:`check_figure` (overlapping
        or clipped text, categorical colours too alike, text too small to read) first:
        ``"warn"`` issues an :class:`~asttools.errors.ASTToolsWarning` listing the
        problems, ``"raise"`` raises :class:`~asttools.errors.ASTToolsError` and writes
        nothing. Default: the environment variable ``ASTTOOLS_CHECK_FIGURES`` (the tests
        set ``raise`` for every figure the demo and the notebooks save), else ``"warn"``.
        The check costs about a fifth of the time a save takes.

    Returns
    -------
    list of Path
        The files written, one per format, in the order of ``formats``.

    Raises
    ------
    ParameterError
        Unknown ``width``, format or ``check``.
    ASTToolsError
        With ``check="raise"``, the figure has a defect (the message lists them).

    Examples
    --------
    >>> import numpy as np
    >>> from asttools.plots import plot_waveform
    >>> ax = plot_waveform(np.zeros(16000))
    >>> paths = save_figure(ax, "/tmp/asttools-doc/waveform", width="half")
    >>> [p.suffix for p in paths]
    ['.pdf', '.png']
    """

    if hasattr(fig, "get_figure") and not hasattr(fig, "savefig"):
        fig = fig.get_figure()
    if not hasattr(fig, "savefig"):
        raise ParameterError(f"fig must be a matplotlib Figure or Axes, given {type(fig).__name__}")
    while getattr(fig, "figure", fig) is not fig:  # a SubFigure: save its root figure
        fig = fig.figure
    supported = fig.canvas.get_supported_filetypes()
    formats = [str(fmt).lower().lstrip(".") for fmt in formats]
    unknown = [fmt for fmt in formats if fmt not in supported]
    if unknown or not formats:
        raise ParameterError(
            f"cannot write the formats {unknown or formats}; choose from {sorted(supported)}"
        )
    if isinstance(width, str):
        if width not in FIGURE_WIDTHS:
            raise ParameterError(
                f"width must be one of {tuple(FIGURE_WIDTHS)} or inches, given width={width!r}"
            )
        width = FIGURE_WIDTHS[width]
    if width is not None and not (isinstance(width, (int, float)) and width > 0):
        raise ParameterError(f"width must be positive, given width={width!r}")
    if height is not None and not height > 0:
        raise ParameterError(f"height must be positive, given height={height!r}")

    if check is None:
        check = os.environ.get("ASTTOOLS_CHECK_FIGURES", "warn") or "warn"
    if check not in ("warn", "raise", "off"):
        raise ParameterError(f"check must be 'warn', 'raise' or 'off', given check={check!r}")

    stem = Path(path_stem)
    if stem.suffix.lower().lstrip(".") in formats:
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)

    old_size = tuple(fig.get_size_inches())
    new_w = float(width) if width is not None else old_size[0]
    if height is not None:
        new_h = float(height)
    else:
        new_h = old_size[1]
    rc = {"pdf.fonttype": 42, "ps.fonttype": 42, "svg.fonttype": "none"}
    paths = []
    try:
        if (new_w, new_h) != old_size:
            fig.set_size_inches(new_w, new_h)
        if check != "off":
            problems = check_figure(fig)
            if problems:
                text = (f"{stem.name}: " + "; ".join(problems))
                if check == "raise":
                    raise ASTToolsError(text)
                warnings.warn(text, ASTToolsWarning, stacklevel=2)
        with mpl.rc_context(rc):
            for fmt in formats:
                path = Path(f"{stem}.{fmt}")
                metadata = {"CreationDate": None} if fmt == "pdf" else None
                # the canvas as asked: a tight bounding box would grow or shrink it
                fig.savefig(path, format=fmt, dpi=dpi, metadata=metadata)
                paths.append(path)
                if fmt == "png":
                    _check_png_size(path, (new_w, new_h), dpi)
    finally:
        if tuple(fig.get_size_inches()) != old_size:
            fig.set_size_inches(*old_size)
    return paths


def _check_png_size(path: Path, size: tuple[float, float], dpi: int) -> None:
    """Raise unless the PNG at ``path`` is ``size`` inches at ``dpi``."""
    with open(path, "rb") as f:  # the PNG header: signature, then IHDR's width and height
        head = f.read(24)
    got = (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big"))
    want = (round(size[0] * dpi), round(size[1] * dpi))
    if abs(got[0] - want[0]) > 1 or abs(got[1] - want[1]) > 1:
        raise ASTToolsError(
            f"{path}: written {got[0]} x {got[1]} px, not the {size[0]:g} x {size[1]:g} in "
            f"({want[0]} x {want[1]} px) asked; save without bbox_inches='tight'")
