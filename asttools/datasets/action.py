"""Ground truth of the video action datasets: Kinetics, UCF101, EPIC-Kitchens.

The same tidy table as :mod:`asttools.datasets` (``path``, ``labels``, ``mids``, then
the layout's own columns), read by :func:`asttools.read_ground_truth` with
``format="kinetics"``, ``"kinetics-csv"``, ``"ucf101"`` or ``"epic"`` (or detected):

- **Kinetics tree** (:func:`read_kinetics_tree`): ``root/<split>/<class>/<youtube id>_
  <start>_<end>.mp4`` (the layout of the Kinetics download scripts), or ``root/<class>/...``
  without split folders. The split is a column, never the label; the file name gives
  ``youtube_id``, ``time_start`` and ``time_end`` (seconds in the YouTube video).
- **Kinetics CSV** (:func:`read_kinetics_csv`): ``label,youtube_id,time_start,time_end,
  split`` (the annotation files; a test CSV without ``label`` gives ``()``), the videos
  found by their ``<youtube id>_<start:06d>_<end:06d>`` stem anywhere under ``video_dir``.
- **UCF101** (:func:`read_ucf101`): the split lists ``classInd.txt``,
  ``trainlist0N.txt``, ``testlist0N.txt`` (``ucfTrainTestlist/``); ``split`` is
  ``"train"`` or ``"test"`` of split N, ``group`` the actor group (``g08``: keep a group
  on one side), the videos under ``video_dir`` as listed (``Class/v_Class_g08_c01.avi``).
- **EPIC-style annotations** (:func:`read_epic`): ``video_id, start_timestamp,
  stop_timestamp, verb, noun`` (EPIC-KITCHENS-55/100; ``HH:MM:SS.ff`` times) into one
  **segment row** per action, with ``start_s`` and ``end_s`` (seconds in the video), the
  videos found by their ``video_id`` stem under ``video_dir`` (``P01/videos/P01_01.MP4``).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import pandas as pd

from ..audio import VIDEO_EXTENSIONS
from ..errors import ASTToolsWarning, ParameterError
from ..run.inputs import absolute_path, read_csv
from ._missing import MISSING

__all__ = [
    "EPIC_LABELS",
    "KINETICS_SPLITS",
    "parse_kinetics_name",
    "parse_timestamp",
    "read_epic",
    "read_kinetics_csv",
    "read_kinetics_tree",
    "read_ucf101",
]

#: Folder names a Kinetics tree's top level may use for its splits.
KINETICS_SPLITS = ("train", "val", "validate", "validation", "test", "replacement")
#: What an EPIC segment's ``labels`` hold: its verb, its noun, or ``"verb noun"``.
EPIC_LABELS = ("verb", "noun", "action")

_KINETICS_NAME = re.compile(r"^(?P<id>.+)_(?P<start>\d+)_(?P<end>\d+)$")
_TIMESTAMP = re.compile(r"^(?:(?P<h>\d+):)?(?P<m>\d+):(?P<s>\d+(?:\.\d*)?)$")


def parse_kinetics_name(name: str) -> tuple[str, int, int] | None:
    """``(youtube_id, time_start, time_end)`` of a Kinetics file name, else None.

    Examples
    --------
    >>> parse_kinetics_name("-abc_de-1234_000010_000020.mp4")
    ('-abc_de-1234', 10, 20)
    """
    m = _KINETICS_NAME.match(Path(name).stem)
    return (m["id"], int(m["start"]), int(m["end"])) if m else None


def parse_timestamp(value: str) -> float:
    """Seconds of an ``HH:MM:SS.ff`` (or ``MM:SS.ff``) timestamp.

    Raises
    ------
    ParameterError
        Not such a timestamp.

    Examples
    --------
    >>> parse_timestamp("00:00:01.50"), parse_timestamp("01:02:03.25")
    (1.5, 3723.25)
    """
    m = _TIMESTAMP.match(str(value).strip())
    if not m:
        raise ParameterError(f"timestamp {value!r} is not HH:MM:SS.ff")
    return 3600 * int(m["h"] or 0) + 60 * int(m["m"]) + float(m["s"])


def read_kinetics_tree(root: str | os.PathLike) -> pd.DataFrame:
    """Read a Kinetics-style tree: ``root/<split>/<class>/<id>_<start>_<end>.mp4``.

    Parameters
    ----------
    root : path
        Its top-level folders are splits when they are named as in
        :data:`KINETICS_SPLITS`; otherwise they are the classes.

    Returns
    -------
    DataFrame
        ``path``, ``labels`` (the class folder), ``mids`` (``()``), ``split`` (None
        without split folders), ``youtube_id``, ``time_start``, ``time_end`` (None when
        the name is not ``<id>_<start>_<end>``), sorted by split, class, path.

    Raises
    ------
    ParameterError
        ``root`` is not a folder or holds no videos in class folders.
    """
    base = Path(os.path.expanduser(str(root)))
    if not base.is_dir():
        raise ParameterError(f"{base}: Kinetics root does not exist or is not a folder")
    tops = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    split_dirs = [p for p in tops if p.name.lower() in KINETICS_SPLITS]
    roots = [(p.name, p) for p in split_dirs] if split_dirs else [(None, base)]
    rows = []
    for split, folder in roots:
        for class_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
            if class_dir.name.startswith("."):
                continue
            for f in sorted(class_dir.rglob("*")):
                if not f.is_file() or f.suffix.lower() not in VIDEO_EXTENSIONS \
                        or f.name.startswith("."):
                    continue
                parsed = parse_kinetics_name(f.name) or (None, None, None)
                rows.append((absolute_path(f), (class_dir.name,), (), split, *parsed))
    if not rows:
        raise ParameterError(f"{base}: no videos in class folders "
                             "(root/<split>/<class>/<id>_<start>_<end>.mp4)")
    return pd.DataFrame(rows, columns=["path", "labels", "mids", "split", "youtube_id",
                                       "time_start", "time_end"])


def read_kinetics_csv(
    csv_path: str | os.PathLike,
    *,
    video_dir: str | os.PathLike | None = None,
    missing: str = "drop",
) -> pd.DataFrame:
    """Read a Kinetics annotation CSV (``label,youtube_id,time_start,time_end,split``).

    Parameters
    ----------
    csv_path : path
    video_dir : path, optional
        Where the videos are (any depth); default the CSV's folder. A row's video is the
        file whose stem is ``<youtube_id>_<time_start:06d>_<time_end:06d>``.
    missing : {"error", "warn", "drop", "keep"}, default "drop"
        Rows whose video is not found (Kinetics downloads always miss some): as
        :func:`asttools.datasets.read_manifest`; a kept row's path is where the tree
        layout would put it.

    Returns
    -------
    DataFrame
        ``path``, ``labels`` (``(label,)``; ``()`` without a label column), ``mids``,
        ``split``, ``youtube_id``, ``time_start``, ``time_end``, other columns carried.
    """
    if missing not in MISSING:
        raise ParameterError(f"missing={missing!r} is not one of {MISSING}")
    path = Path(os.path.expanduser(str(csv_path)))
    table = read_csv(path, dtype={"youtube_id": str})
    for col in ("youtube_id", "time_start", "time_end"):
        if col not in table.columns:
            raise ParameterError(f"{path}: a Kinetics CSV has no column {col!r} (columns: "
                                 f"{', '.join(map(str, table.columns))})")
    folder = Path(video_dir) if video_dir is not None else path.parent
    index = _videos_by_stem(folder)
    rows, absent = [], []
    for r in table.to_dict("records"):
        start, end = int(r["time_start"]), int(r["time_end"])
        stem = f"{r['youtube_id']}_{start:06d}_{end:06d}"
        label = r.get("label")
        labels = (str(label),) if isinstance(label, str) and label else ()
        found = index.get(stem)
        if found is None:
            absent.append(stem)
            where = [str(r.get("split") or ""), labels[0] if labels else "", stem + ".mp4"]
            found = absolute_path(folder.joinpath(*[w for w in where if w]))
        rows.append({**r, "path": found, "labels": labels, "mids": (),
                     "youtube_id": str(r["youtube_id"]), "time_start": start,
                     "time_end": end})
    out = pd.DataFrame(rows)
    out = out[["path", "labels", "mids"] + [c for c in out.columns
                                            if c not in ("path", "labels", "mids", "label")]]
    return _missing(out, absent, missing, path)


def read_ucf101(
    lists_dir: str | os.PathLike,
    *,
    video_dir: str | os.PathLike | None = None,
    split: int = 1,
    missing: str = "error",
) -> pd.DataFrame:
    """Read UCF101's split lists: ``classInd.txt``, ``trainlist0N.txt``, ``testlist0N.txt``.

    Parameters
    ----------
    lists_dir : path
        The folder of the lists (``ucfTrainTestlist``).
    video_dir : path, optional
        Where ``Class/v_Class_gGG_cCC.avi`` are; default ``lists_dir``'s parent's
        ``UCF-101`` if it exists, else ``lists_dir``'s parent.
    split : {1, 2, 3}, default 1
    missing : {"error", "warn", "drop", "keep"}, default "error"

    Returns
    -------
    DataFrame
        ``path``, ``labels`` (the class name), ``mids``, ``split`` (``"train"`` or
        ``"test"``), ``class_index`` (classInd's 1-based index), ``group`` (the actor
        group, 1-25: keep a group on one side of a split).

    Raises
    ------
    ParameterError
        A list is missing, a line names a class not in classInd.txt, or a train line's
        index disagrees with its folder.
    """
    if missing not in MISSING:
        raise ParameterError(f"missing={missing!r} is not one of {MISSING}")
    if split not in (1, 2, 3):
        raise ParameterError(f"split={split!r} is not one of (1, 2, 3)")
    base = Path(os.path.expanduser(str(lists_dir)))
    files = {k: base / f"{k}list{split:02d}.txt" for k in ("train", "test")}
    for f in (base / "classInd.txt", *files.values()):
        if not f.is_file():
            raise ParameterError(f"{f}: UCF101 split list does not exist")
    classes = {}
    for line in (base / "classInd.txt").read_text().split("\n"):
        if line.strip():
            i, name = line.split()
            classes[name] = int(i)
    if video_dir is None:
        video_dir = base.parent / "UCF-101" if (base.parent / "UCF-101").is_dir() \
            else base.parent
    rows = []
    for which, f in files.items():
        for n, line in enumerate(f.read_text().split("\n"), 1):
            parts = line.split()
            if not parts:
                continue
            rel = parts[0].replace("\\", "/")
            name = rel.split("/")[0]
            if name not in classes:
                raise ParameterError(f"{f}:{n}: class {name!r} is not in classInd.txt")
            if len(parts) > 1 and int(parts[1]) != classes[name]:
                raise ParameterError(f"{f}:{n}: index {parts[1]} is not {name}'s "
                                     f"({classes[name]} in classInd.txt)")
            g = re.search(r"_g(\d+)_c\d+", rel)
            rows.append({"path": absolute_path(Path(video_dir) / rel), "labels": (name,),
                         "mids": (), "split": which, "class_index": classes[name],
                         "group": int(g[1]) if g else None})
    out = pd.DataFrame(rows)
    absent = out.loc[[not os.path.exists(p) for p in out["path"]], "path"].tolist()
    return _missing(out, absent, missing, base)


def read_epic(
    csv_path: str | os.PathLike,
    *,
    video_dir: str | os.PathLike | None = None,
    label: str = "verb",
    missing: str = "drop",
) -> pd.DataFrame:
    """Read EPIC-style action annotations into one segment row per action.

    Parameters
    ----------
    csv_path : path
        Columns ``video_id``, ``start_timestamp``, ``stop_timestamp`` (``HH:MM:SS.ff``)
        and ``verb`` / ``noun`` (others, e.g. ``narration_id``, ``verb_class``, carried).
    video_dir : path, optional
        Where the videos are (any depth, e.g. ``P01/videos/P01_01.MP4``), found by their
        ``video_id`` stem; default the CSV's folder.
    label : {"verb", "noun", "action"}, default "verb"
        What ``labels`` holds; ``"action"`` is ``"verb noun"``.
    missing : {"error", "warn", "drop", "keep"}, default "drop"

    Returns
    -------
    DataFrame
        ``path``, ``labels``, ``mids``, ``id`` (``narration_id`` when given, else
        ``<video_id>_<row>``), ``start_s``, ``end_s`` (seconds in the video), then the
        CSV's columns. A video appears on as many rows as it has actions.

    Raises
    ------
    ParameterError
        A column is missing, a timestamp is malformed, or a segment ends before it starts.
    """
    if missing not in MISSING:
        raise ParameterError(f"missing={missing!r} is not one of {MISSING}")
    if label not in EPIC_LABELS:
        raise ParameterError(f"label={label!r} is not one of {EPIC_LABELS}")
    path = Path(os.path.expanduser(str(csv_path)))
    table = read_csv(path, dtype=str)
    need = ["video_id", "start_timestamp", "stop_timestamp"] + \
        (["verb", "noun"] if label == "action" else [label])
    for col in need:
        if col not in table.columns:
            raise ParameterError(f"{path}: an EPIC annotation CSV has no column {col!r} "
                                 f"(columns: {', '.join(map(str, table.columns))})")
    index = _videos_by_stem(Path(video_dir) if video_dir is not None else path.parent)
    rows, absent = [], []
    for i, r in enumerate(table.to_dict("records")):
        try:
            a, b = parse_timestamp(r["start_timestamp"]), parse_timestamp(r["stop_timestamp"])
        except ParameterError as e:
            raise ParameterError(f"{path}: row {i}: {e}") from None
        if b <= a:
            raise ParameterError(f"{path}: row {i}: stop_timestamp {r['stop_timestamp']} is "
                                 f"not after start_timestamp {r['start_timestamp']}")
        vid = str(r["video_id"])
        found = index.get(vid)
        if found is None:
            absent.append(vid)
            found = absolute_path(Path(video_dir or path.parent) / f"{vid}.MP4")
        name = f"{r['verb']} {r['noun']}" if label == "action" else str(r[label])
        rows.append({"path": found, "labels": (name,), "mids": (),
                     "id": r.get("narration_id") or f"{vid}_{i}", "start_s": a, "end_s": b,
                     **r})
    return _missing(pd.DataFrame(rows), absent, missing, path)


def _videos_by_stem(folder: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    if folder.is_dir():
        for f in sorted(folder.rglob("*")):
            if f.is_file() and f.suffix.lower() in VIDEO_EXTENSIONS:
                out.setdefault(f.stem, absolute_path(f))
    return out


def _missing(table: pd.DataFrame, absent: list[str], missing: str, source) -> pd.DataFrame:
    if not absent or missing == "keep":
        return table.reset_index(drop=True)
    head = ", ".join(absent[:3]) + (", ..." if len(absent) > 3 else "")
    msg = f"{source}: {len(absent)} of {len(table)} listed videos were not found ({head})"
    if missing == "error":
        raise ParameterError(msg + "; pass missing='drop' to skip them")
    if missing == "drop":
        warnings.warn(msg + "; dropped", ASTToolsWarning, stacklevel=3)
        exists = [os.path.exists(p) for p in table["path"]]
        return table.loc[exists].reset_index(drop=True)
    warnings.warn(msg + "; kept", ASTToolsWarning, stacklevel=3)
    return table.reset_index(drop=True)
