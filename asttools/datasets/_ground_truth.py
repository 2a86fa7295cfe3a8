"""Ground truth in the forms datasets come in, read into one tidy table.

Every reader returns the same shape of table, one row per clip, that joins onto the rows of
an :class:`~asttools.run.result.EmbeddingResult` by ``path``:

``path``
    The audio file as an absolute, resolved path (:func:`asttools.run.inputs.absolute_path`, as
    the store names it): the join key.
``labels``
    Tuple of the dataset's own label names (``()`` for a clip with none).
``mids``
    Tuple of AudioSet mids where the dataset gives them (AudioSet segment files, or a
    manifest with a ``mids`` column), else ``()``; :func:`asttools.labels.mapping.map_labels`
    maps ``labels`` otherwise.
``fold``
    Where the dataset defines folds (ESC-50; a manifest with a ``fold`` column).
other columns
    Carried through from the manifest.

Formats (see :data:`FORMATS`): a CSV manifest (:func:`read_manifest`), a folder per class
(:func:`read_class_folders`), the ESC-50 layout (:func:`read_esc50`) and AudioSet segment
CSVs (:func:`read_audioset_segments`). :func:`read_ground_truth` detects which.
:func:`label_matrix` turns the table into a 0/1 matrix.
"""

from __future__ import annotations

import csv
import io
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..audio import MEDIA_EXTENSIONS
from ..errors import ASTToolsWarning, ParameterError
from ..labels import audioset_ontology
from ..run.inputs import absolute_path, read_csv
from ..settings import renamed_keyword
from . import action as ad
from ._missing import MISSING

__all__ = [
    "AUDIOSET_PATTERN",
    "FORMATS",
    "label_matrix",
    "primary_labels",
    "read_audioset_segments",
    "read_class_folders",
    "read_esc50",
    "read_ground_truth",
    "read_manifest",
]

#: Formats :func:`read_ground_truth` understands.
FORMATS: tuple[str, ...] = ("auto", "manifest", "folder", "esc50", "audioset", "kinetics",
                            "kinetics-csv", "ucf101", "epic")

#: Default file name of an AudioSet segment under ``audio_dir``. Fields: ``YTID``,
#: ``start`` and ``end`` (seconds, float), ``row`` (line number in the CSV, from 0).
AUDIOSET_PATTERN = "{YTID}_{start:.0f}.wav"

_ESC50_COLUMNS = ("filename", "fold", "target", "category")
_AUDIOSET_COLUMNS = ("YTID", "start_seconds", "end_seconds", "positive_labels")


# ---------------------------------------------------------------------------------------
# helpers


def _check_choice(value: object, name: str, choices: Sequence) -> None:
    if value not in choices:
        raise ParameterError(f"{name}={value!r} is not one of {tuple(choices)}")


def _require_file(path: str | os.PathLike, what: str) -> Path:
    p = Path(os.path.expanduser(str(path)))
    if not p.exists():
        raise ParameterError(f"{p}: {what} does not exist")
    if not p.is_file():
        raise ParameterError(f"{p}: {what} is not a file")
    return p


def _split(value: object, separator: str) -> tuple[str, ...]:
    """Split one cell into stripped, non-empty names; NA gives ()."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ()
    parts = str(value).split(separator) if separator else [str(value)]
    return tuple(p.strip() for p in parts if p.strip())


def _handle_missing(table: pd.DataFrame, missing: str, source: object) -> pd.DataFrame:
    _check_choice(missing, "missing", MISSING)
    if missing == "keep" or not len(table):
        return table
    exists = np.array([os.path.exists(p) for p in table["path"]], dtype=bool)
    if exists.all():
        return table
    absent = table.loc[~exists, "path"].tolist()
    head = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
    msg = f"{source}: {len(absent)} of {len(table)} listed audio files do not exist ({head})"
    if missing == "error":
        raise ParameterError(
            msg + "; pass missing='drop' to skip them or missing='keep' to keep the rows"
        )
    if missing == "drop":
        warnings.warn(msg + "; dropped", ASTToolsWarning, stacklevel=3)
        return table.loc[exists].reset_index(drop=True)
    warnings.warn(msg + "; kept", ASTToolsWarning, stacklevel=3)
    return table


def _check_unique(table: pd.DataFrame, source: object) -> None:
    keys = table["path"].astype(str)
    if {"start_s", "end_s"} <= set(table.columns):  # segments: each its own clip
        keys = keys + "#" + table["start_s"].astype(str) + "-" + table["end_s"].astype(str)
    dup = keys.duplicated(keep=False)
    if dup.any():
        paths = list(dict.fromkeys(keys[dup]))
        head = ", ".join(paths[:3]) + (", ..." if len(paths) > 3 else "")
        raise ParameterError(
            f"{source}: {len(paths)} audio files are listed more than once ({head}); "
            "list each clip once, with all its labels separated by the separator"
        )


def _tidy(table: pd.DataFrame) -> pd.DataFrame:
    """Put path, labels, mids, fold first; keep everything else after them."""
    first = [c for c in ("path", "labels", "mids", "fold") if c in table.columns]
    rest = [c for c in table.columns if c not in first]
    out = table[first + rest].reset_index(drop=True)
    out["path"] = out["path"].astype(str)
    return out


def _require_columns(table: pd.DataFrame, columns: Iterable[str], path: Path,
                     what: str, hint: str = "") -> None:
    absent = [c for c in columns if c not in table.columns]
    if absent:
        raise ParameterError(
            f"{path}: {what} has no column {absent[0]!r} (columns: "
            f"{', '.join(map(str, table.columns))}){hint}"
        )


# ---------------------------------------------------------------------------------------
# readers


def read_manifest(
    path: str | os.PathLike,
    *,
    label_column: str = "label",
    path_column: str = "path",
    separator: str = ";",
    missing: str = "error",
) -> pd.DataFrame:
    """Read a CSV manifest: one row per clip, a path column and a label column.

    With ``start_s`` and ``end_s`` columns a row may be a segment of its file (both blank:
    the whole file): a file is then listed once per segment, each with its own labels,
    and evaluation joins predictions to segments by path and span (see
    :mod:`asttools.run.segments`).

    Parameters
    ----------
    path : str or path-like
        The CSV file. Paths in it are relative to the CSV's folder, or absolute.
    label_column : str, default "label"
        The column with the labels: one name, or several separated by ``separator``
        (``"dog;bark"``). An empty cell means no label.
    path_column : str, default "path"
        The column with the audio paths.
    separator : str, default ";"
        What separates several labels in one cell.
    missing : {"error", "warn", "drop", "keep"}, default "error"
        What to do when a listed audio file does not exist (see :data:`MISSING`).

    Returns
    -------
    DataFrame, shape (n_clips, 3 + k)
        ``path`` (absolute), ``labels`` (tuple of str), ``mids`` (tuple of str; from a
        ``mids`` column separated by ``separator`` when there is one, else ``()``),
        ``fold`` when the manifest has one, then the manifest's other columns (the label
        and path columns are consumed).

    Raises
    ------
    ParameterError
        When the file does not exist, is empty or has no rows, lacks ``path_column`` or
        ``label_column``, lists a clip twice, or (``missing="error"``) lists audio files
        that do not exist.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from asttools.datasets import read_manifest
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "manifest.csv").write_text("path,label\\na.wav,dog;bark\\nb.wav,rain\\n")
    >>> read_manifest(d / "manifest.csv", missing="keep")["labels"].tolist()
    [('dog', 'bark'), ('rain',)]
    """
    csv_path = _require_file(path, "manifest")
    table = read_csv(csv_path, what="manifest", path_column=path_column,
                     dtype={path_column: object, label_column: str},
                      keep_default_na=False, na_values=[""])
    _require_columns(table, [path_column], csv_path, "manifest",
                     hint="; pass path_column= to name the column with audio paths")
    _require_columns(table, [label_column], csv_path, "manifest",
                     hint="; pass label_column= to name the column with labels")
    if not len(table):
        raise ParameterError(f"{csv_path}: manifest has a header but no rows")
    if table[path_column].isna().any():
        row = int(np.flatnonzero(table[path_column].isna().to_numpy())[0])
        raise ParameterError(f"{csv_path}: row {row + 2} has an empty {path_column!r} cell")
    base = csv_path.resolve().parent
    out = table.drop(columns=[path_column, label_column])
    if "mids" in out.columns:
        out["mids"] = [_split(v, separator) for v in out["mids"]]
    else:
        out["mids"] = [()] * len(table)
    out["path"] = [absolute_path(p, base=base) for p in table[path_column]]
    out["labels"] = [_split(v, separator) for v in table[label_column]]
    out = _tidy(out)
    _check_unique(out, csv_path)
    return _handle_missing(out, missing, csv_path)


def read_class_folders(
    root: str | os.PathLike,
    *,
    extensions: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Read a folder-per-class tree: ``root/<class>/<file>``.

    Files in sub-folders of a class folder belong to that class. Hidden files and folders
    (names starting with ``.``) and files with other extensions are skipped.

    Parameters
    ----------
    root : str or path-like
        The folder holding one folder per class.
    extensions : iterable of str, optional
        File extensions to take, lower case with the dot. Defaults to
        :data:`asttools.audio.MEDIA_EXTENSIONS` (audio and video).

    Returns
    -------
    DataFrame, shape (n_clips, 3)
        ``path`` (absolute), ``labels`` (a one-element tuple: the class folder's name) and
        ``mids`` (``()``), sorted by class then path.

    Raises
    ------
    ParameterError
        When ``root`` is not a folder or holds no media files in class folders.
    """
    base = Path(os.path.expanduser(str(root)))
    if not base.is_dir():
        raise ParameterError(f"{base}: class-folder root does not exist or is not a folder")
    if extensions is None:
        extensions = MEDIA_EXTENSIONS
    exts = {e.lower() if e.startswith(".") else "." + e.lower() for e in extensions}
    rows = []
    for class_dir in sorted(p for p in base.iterdir() if p.is_dir()):
        if class_dir.name.startswith("."):
            continue
        files = sorted(
            f for f in class_dir.rglob("*")
            if f.is_file() and f.suffix.lower() in exts
            and not any(part.startswith(".") for part in f.relative_to(class_dir).parts)
        )
        rows.extend((absolute_path(f), (class_dir.name,), ()) for f in files)
    if not rows:
        raise ParameterError(
            f"{base}: no media files found in class folders (root/<class>/<file>, "
            f"extensions {', '.join(sorted(exts))})"
        )
    return _tidy(pd.DataFrame(rows, columns=["path", "labels", "mids"]))


def read_esc50(
    root: str | os.PathLike,
    *,
    missing: str = "error",
) -> pd.DataFrame:
    """Read the ESC-50 layout: ``root/meta/esc50.csv`` and the clips in ``root/audio/``.

    Parameters
    ----------
    root : str or path-like
        The dataset folder (the one holding ``meta/`` and ``audio/``).
    missing : {"error", "warn", "drop", "keep"}, default "error"
        What to do when a listed clip is not in ``root/audio/`` (see :data:`MISSING`).

    Returns
    -------
    DataFrame, shape (n_clips, 3 + k)
        ``path``, ``labels`` (``(category,)``), ``mids`` (``()``: ESC-50 names no AudioSet
        classes; :func:`asttools.labels.mapping.map_labels` maps the categories through the
        curated table), ``fold`` (1..5), then ``filename``, ``target``, ``category`` and
        whatever else the CSV has (``esc10``, ``src_file``, ``take``).

    Raises
    ------
    ParameterError
        When ``meta/esc50.csv`` does not exist, lacks one of ``filename, fold, target,
        category``, has no rows, or (``missing="error"``) clips are missing.
    """
    base = Path(os.path.expanduser(str(root)))
    csv_path = _require_file(base / "meta" / "esc50.csv", "ESC-50 metadata")
    table = read_csv(csv_path, what="ESC-50 metadata", path_column="filename")
    _require_columns(table, _ESC50_COLUMNS, csv_path, "ESC-50 metadata")
    if not len(table):
        raise ParameterError(f"{csv_path}: ESC-50 metadata has a header but no rows")
    audio = base.resolve() / "audio"
    out = table.copy()
    out["path"] = [absolute_path(str(f), base=audio) for f in table["filename"]]
    out["labels"] = [(str(c),) for c in table["category"]]
    out["mids"] = [()] * len(table)
    out = _tidy(out)
    _check_unique(out, csv_path)
    return _handle_missing(out, missing, csv_path)


def _audioset_rows(csv_path: Path) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of an AudioSet segments CSV, with or without ``#`` lines."""
    text = csv_path.read_text(encoding="utf-8-sig")
    header: list[str] | None = None
    data: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            body = stripped.lstrip("#").strip()
            if body.split(",")[0].strip() == "YTID":
                header = [c.strip() for c in body.split(",")]
            continue
        if header is None and not data and stripped.split(",")[0].strip() == "YTID":
            header = [c.strip() for c in stripped.split(",")]
            continue
        data.append(line)
    if header is None:
        header = list(_AUDIOSET_COLUMNS)
    rows = list(csv.reader(io.StringIO("\n".join(data)), skipinitialspace=True))
    return header, rows


def read_audioset_segments(
    path: str | os.PathLike,
    *,
    audio_dir: str | os.PathLike | None = None,
    filename_pattern: str = AUDIOSET_PATTERN,
    missing: str = "drop",
) -> pd.DataFrame:
    """Read an AudioSet segments CSV (``balanced_train_segments.csv`` and the like).

    The official files start with three comment lines, the third of which is the header::

        # Segments csv created Sun Mar  5 10:54:25 2017
        # num_ytids=20371, num_segs=20371, num_unique_labels=527, num_positive_labels=51804
        # YTID, start_seconds, end_seconds, positive_labels
        --PJHxphWEs, 30.000, 40.000, "/m/09x0r,/t/dd00088"

    A file whose header line has no ``#``, or that has no header at all (then the four
    columns above are assumed), reads the same. Mids in ``positive_labels`` may be
    separated by ``,`` or ``;``.

    Parameters
    ----------
    path : str or path-like
        The segments CSV.
    audio_dir : str or path-like, optional
        Where the downloaded clips are; defaults to the CSV's folder.
    filename_pattern : str, default ``"{YTID}_{start:.0f}.wav"``
        A :meth:`str.format` pattern for a clip's file name under ``audio_dir``, with the
        fields ``YTID`` (str), ``start`` and ``end`` (float seconds) and ``row`` (int, data
        row from 0). Common downloader layouts: ``"{YTID}_{start:.0f}.wav"``,
        ``"Y{YTID}.wav"`` (PANNs), ``"{YTID}_{start:.3f}_{end:.3f}.flac"``; sub-folders
        work too (``"{YTID[0]}/{YTID}.wav"``).
    missing : {"error", "warn", "drop", "keep"}, default "drop"
        What to do with segments whose file is not under ``audio_dir``. The default drops
        them with a warning that counts them: YouTube take-downs make incomplete
        downloads the rule.

    Returns
    -------
    DataFrame, shape (n_segments, 6 + k)
        ``path``, ``labels`` (tuple of AudioSet display names), ``mids`` (tuple of mids,
        in file order), ``YTID``, ``start_seconds``, ``end_seconds`` and any further
        columns.

    Raises
    ------
    ParameterError
        When the file does not exist or has no segments, a row has fewer than four
        fields, a header lacks a required column, or the pattern names an unknown field.
    """

    csv_path = _require_file(path, "AudioSet segments CSV")
    header, rows = _audioset_rows(csv_path)
    absent = [c for c in _AUDIOSET_COLUMNS if c not in header]
    if absent:
        raise ParameterError(
            f"{csv_path}: AudioSet segments CSV has no column {absent[0]!r} "
            f"(columns: {', '.join(header)})"
        )
    if not rows:
        raise ParameterError(f"{csv_path}: AudioSet segments CSV has no segments")
    for i, r in enumerate(rows):
        if len(r) < len(header):
            raise ParameterError(
                f"{csv_path}: segment {i + 1} has {len(r)} fields, expected {len(header)} "
                f"({', '.join(header)}): {r!r}"
            )
    table = pd.DataFrame([r[: len(header)] for r in rows], columns=header)
    try:
        table["start_seconds"] = table["start_seconds"].astype(float)
        table["end_seconds"] = table["end_seconds"].astype(float)
    except ValueError as err:
        raise ParameterError(f"{csv_path}: start_seconds/end_seconds are not numbers ({err})"
                             ) from err

    names = audioset_ontology()["name"].to_dict()
    mids = [tuple(m for m in re.split(r"[;,]", s.strip().strip('"')) if m.strip())
            for s in table["positive_labels"]]
    mids = [tuple(m.strip() for m in ms) for ms in mids]
    unknown = sorted({m for ms in mids for m in ms if m not in names})
    if unknown:
        warnings.warn(
            f"{csv_path}: {len(unknown)} mids are not in the AudioSet ontology "
            f"({', '.join(unknown[:5])}); their label is the mid itself",
            ASTToolsWarning, stacklevel=2,
        )
    base = (Path(os.path.expanduser(str(audio_dir))) if audio_dir is not None
            else csv_path.parent).resolve()
    paths = []
    for i, (ytid, start, end) in enumerate(
        zip(table["YTID"], table["start_seconds"], table["end_seconds"], strict=True)
    ):
        try:
            name = filename_pattern.format(YTID=ytid, start=start, end=end, row=i)
        except (KeyError, IndexError, ValueError) as err:
            raise ParameterError(
                f"filename_pattern={filename_pattern!r} cannot be filled ({err!r}); "
                "its fields are YTID, start, end and row"
            ) from err
        paths.append(absolute_path(name, base=base))

    out = table.drop(columns=["positive_labels"])
    out["path"] = paths
    out["labels"] = [tuple(names.get(m, m) for m in ms) for ms in mids]
    out["mids"] = mids
    out = _tidy(out)
    _check_unique(out, csv_path)
    return _handle_missing(out, missing, csv_path)


# ---------------------------------------------------------------------------------------
# dispatcher


def _detect(source: Path) -> str:
    if source.is_dir():
        if (source / "meta" / "esc50.csv").is_file():
            return "esc50"
        if (source / "classInd.txt").is_file():
            return "ucf101"
        return "kinetics" if _looks_like_kinetics(source) else "folder"
    if not source.exists():
        raise ParameterError(f"{source}: ground-truth source does not exist")
    if re.fullmatch(r"(train|test)list0\d\.txt|classInd\.txt", source.name):
        return "ucf101"
    with open(source, encoding="utf-8-sig", errors="replace") as fh:
        head = [fh.readline() for _ in range(5)]
    for line in head:
        stripped = line.strip().lstrip("#").strip()
        if not stripped:
            continue
        first = stripped.split(",")[0].strip()
        if first == "YTID" or "positive_labels" in stripped:
            return "audioset"
        names = {c.strip() for c in stripped.split(",")}
        if {"youtube_id", "time_start", "time_end"} <= names:
            return "kinetics-csv"
        if {"video_id", "start_timestamp", "stop_timestamp"} <= names:
            return "epic"
        if not line.lstrip().startswith("#"):
            break
    return "manifest"


def _looks_like_kinetics(source: Path) -> bool:
    """Split folders at the top (train/, val/, test/), or ``<id>_<start>_<end>`` names."""
    tops = [p for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if tops and all(p.name.lower() in ad.KINETICS_SPLITS for p in tops):
        return True
    names = [f.name for top in tops[:3] for sub in sorted(top.iterdir())[:3]
             for f in ([sub] if sub.is_file() else sorted(sub.iterdir())[:3]) if f.is_file()]
    return bool(names) and all(ad.parse_kinetics_name(n) for n in names)


def read_ground_truth(
    source: str | os.PathLike,
    *,
    format: str = "auto",
    label_column: str = "label",
    path_column: str = "path",
    separator: str = ";",
    audio_dir: str | os.PathLike | None = None,
    filename_pattern: str = AUDIOSET_PATTERN,
    extensions: Iterable[str] | None = None,
    missing: str | None = None,
    video_dir: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Read ground truth from any supported layout into the tidy table.

    Parameters
    ----------
    source : str or path-like
        A folder or a CSV file.
    format : {"auto", "manifest", "folder", "esc50", "audioset"}, default "auto"
        ``"auto"`` decides from ``source``: a folder with ``meta/esc50.csv`` → ``"esc50"``;
        another folder → ``"folder"`` (one folder per class); a CSV whose header names
        ``YTID`` or ``positive_labels`` (with or without the leading ``#``) →
        ``"audioset"``; another CSV → ``"manifest"``. The video action layouts
        (:mod:`asttools.datasets.action`): a folder whose top-level folders are splits
        (``train/``, ``val/``, ``test/``) or whose files are named ``<id>_<start>_<end>``
        → ``"kinetics"``; a CSV with ``youtube_id,time_start,time_end`` →
        ``"kinetics-csv"``; a folder with ``classInd.txt``, or a ``trainlist0N.txt`` /
        ``testlist0N.txt`` → ``"ucf101"`` (split N); a CSV with ``video_id,
        start_timestamp,stop_timestamp`` → ``"epic"`` (segment rows, ``start_s``/``end_s``;
        ``label_column`` "verb" (default for EPIC), "noun" or "action").
    label_column, path_column, separator
        For manifests, see :func:`read_manifest`.
    audio_dir, filename_pattern
        For AudioSet segment files, see :func:`read_audioset_segments`.
    extensions
        For class folders, see :func:`read_class_folders`.
    missing : {"error", "warn", "drop", "keep"}, optional
        What to do with listed files that do not exist; defaults to the reader's own
        (``"error"`` for manifests and ESC-50, ``"drop"`` for AudioSet).
    video_dir : str or path-like, optional
        Where the videos of a Kinetics CSV, UCF101 lists or EPIC annotations are.

    Returns
    -------
    DataFrame, shape (n_clips, 3 + k)
        ``path``, ``labels``, ``mids`` (tuples), ``fold`` when present, then carried
        columns; ``attrs["format"]`` says which reader ran.

    Raises
    ------
    ParameterError
        For an unknown format, a source that does not exist, or anything the reader
        raises (missing columns, empty files, missing audio).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from asttools.datasets import read_ground_truth
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> (d / "dog").mkdir(); _ = (d / "dog" / "a.wav").write_bytes(b"")
    >>> truth = read_ground_truth(d)
    >>> truth.attrs["format"], truth["labels"].tolist()
    ('folder', [('dog',)])
    """
    _check_choice(format, "format", FORMATS)
    if missing is not None:
        _check_choice(missing, "missing", MISSING)
    src = Path(os.path.expanduser(str(source)))
    if not src.exists():
        raise ParameterError(f"{src}: ground-truth source does not exist")
    fmt = _detect(src) if format == "auto" else format
    kw = {} if missing is None else {"missing": missing}
    if fmt == "manifest":
        table = read_manifest(src, label_column=label_column, path_column=path_column,
                              separator=separator, **kw)
    elif fmt == "folder":
        table = read_class_folders(src, extensions=extensions)
    elif fmt == "esc50":
        table = read_esc50(src, **kw)
    elif fmt in ("kinetics", "kinetics-csv", "ucf101", "epic"):
        table = _read_action(src, fmt, video_dir=video_dir, label_column=label_column, **kw)
    else:
        table = read_audioset_segments(src, audio_dir=audio_dir,
                                       filename_pattern=filename_pattern, **kw)
    table.attrs["format"] = fmt
    return table


def _read_action(src: Path, fmt: str, *, video_dir, label_column: str,
                 **kw) -> pd.DataFrame:
    if fmt == "kinetics":
        return ad.read_kinetics_tree(src)
    if fmt == "kinetics-csv":
        return ad.read_kinetics_csv(src, video_dir=video_dir, **kw)
    if fmt == "epic":
        label = label_column if label_column in ad.EPIC_LABELS else "verb"
        return ad.read_epic(src, video_dir=video_dir, label=label, **kw)
    split = re.search(r"list0(\d)\.txt$", src.name)
    return ad.read_ucf101(src if src.is_dir() else src.parent, video_dir=video_dir,
                          split=int(split[1]) if split else 1, **kw)


# ---------------------------------------------------------------------------------------
# matrix


def label_matrix(
    truth: pd.DataFrame | Iterable[Iterable[str]],
    *,
    classes: Sequence[str] | None = None,
    column: str = "labels",
) -> tuple[np.ndarray, list[str]]:
    """Turn the tidy table's label tuples into a 0/1 matrix.

    Parameters
    ----------
    truth : DataFrame or iterable of iterables of str, length n_clips
        The tidy ground-truth table (its ``column`` is used), or the label tuples.
    classes : sequence of str, optional
        The columns, in order. Defaults to every label that occurs, sorted. Labels not in
        ``classes`` are left out, with a warning that counts them.
    column : str, default "labels"
        The table column to read (``"mids"`` gives a matrix over AudioSet mids).

    Returns
    -------
    matrix : ndarray, uint8, shape (n_clips, n_classes)
        ``matrix[i, j] == 1`` when clip ``i`` has label ``classes[j]``.
    classes : list of str, length n_classes

    Raises
    ------
    ParameterError
        When ``column`` is not in the table, or ``classes`` repeats a name.

    Examples
    --------
    >>> from asttools.datasets import label_matrix
    >>> y, names = label_matrix([("dog", "bark"), ("rain",)])
    >>> names, y.tolist()
    (['bark', 'dog', 'rain'], [[1, 1, 0], [0, 0, 1]])
    """
    if isinstance(truth, pd.DataFrame):
        if column not in truth.columns:
            raise ParameterError(
                f"the truth table has no column {column!r} (columns: "
                f"{', '.join(map(str, truth.columns))})"
            )
        rows = list(truth[column])
    else:
        rows = list(truth)
    rows = [(r,) if isinstance(r, str) else tuple(r) for r in rows]
    if classes is None:
        classes = sorted({name for r in rows for name in r})
    classes = [str(c) for c in classes]
    if len(set(classes)) != len(classes):
        dups = sorted({c for c in classes if classes.count(c) > 1})
        raise ParameterError(f"classes lists {dups[0]!r} more than once")
    col = {c: j for j, c in enumerate(classes)}
    matrix = np.zeros((len(rows), len(classes)), dtype=np.uint8)
    left_out: dict[str, int] = {}
    for i, r in enumerate(rows):
        for name in r:
            j = col.get(name)
            if j is None:
                left_out[name] = left_out.get(name, 0) + 1
            else:
                matrix[i, j] = 1
    if left_out:
        names = ", ".join(repr(n) for n in list(left_out)[:5])
        warnings.warn(
            f"{sum(left_out.values())} labels of {len(left_out)} names are not in classes "
            f"and were left out ({names}{', ...' if len(left_out) > 5 else ''})",
            ASTToolsWarning, stacklevel=2,
        )
    return matrix, classes


def primary_labels(truth: pd.DataFrame, paths: Iterable[str], *, default: str = "?",
                   missing: str | None = None) -> list[str]:
    """The first label of each clip in ``paths`` (for colouring a map by class).

    Parameters
    ----------
    truth : DataFrame
        From :func:`read_ground_truth` (``path``, ``labels``).
    paths : iterable of str
        The clips, e.g. ``result.clips().table["path"]``.
    default : str, default "?"
        For a clip without truth or without labels.
    missing : str, optional
        The old name of ``default`` (a DeprecationWarning; goes in the next release):
        ``missing`` is what a reader does with missing files everywhere else.

    Returns
    -------
    list of str
        One per path, in order.

    Examples
    --------
    >>> truth = pd.DataFrame({"path": ["a", "b"], "labels": [("dog", "bark"), ()]})
    >>> primary_labels(truth, ["b", "a", "c"])
    ['?', 'dog', '?']
    """
    first = {p: labels[0] for p, labels in zip(truth["path"], truth["labels"], strict=True)
             if isinstance(labels, (tuple, list)) and labels}
    default = renamed_keyword(default, missing, new="default", old="missing",
                              where="primary_labels", default="?",
                              why="'missing' says what to do with missing files elsewhere")
    return [first.get(p, default) for p in paths]
