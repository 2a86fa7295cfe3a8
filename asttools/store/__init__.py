"""The embedding store: extract once, resume after a crash, never pay twice.

An embedding store is a directory of Parquet files that pandas opens in one line (on a
local or shared file system, or on object storage: see "Object storage")::

    STORE/
      part-000000-schema.parquet    zero rows: every column any part has, with its type
      part-000001-1f3a9c2e.parquet  window rows, one file per flush (every 256 inputs
      part-000002-8b0d41aa.parquet  or 2 minutes), written to a temporary name and
      ...                           renamed into place, so a file is never half-written
      _errors/part-000003-....parquet  inputs that failed: path, content_hash, reason
      _meta.json                    settings of each run, the latest run's settings key
      _lock, _claims                empty files that concurrent writers lock
      _corrupt/                     damaged part files, moved aside (see "Faults")

``pd.read_parquet(STORE)`` reads every window row ever written (pyarrow skips names that
start with ``_`` or ``.``). A row is one analysis window of one file: ``path`` (absolute),
``window``, ``start_s``, ``end_s``, ``clip_duration_s``, ``content_hash`` (sha256 of the
file's bytes), ``settings_key`` (hash of model, pooling, layer, window, hop, channel),
``file_size``, ``file_mtime_ns``, the columns carried from a manifest, ``top1_label``,
``top1_prob`` … ``top3_prob``, and two FixedSizeList<float32> vectors: ``embedding``
(hidden wide) and ``probs`` (one per label). Every part file's schema metadata holds the
run's settings, versions, ``random_weights`` and label names (``asttools.meta``).

**One type per column.** The schema part is the first file pyarrow opens, so its types
are the ones ``pd.read_parquet`` reads every part as; writers keep it the union of all
parts' columns. Columns are built from Python values with explicit types (missing values
— None, NaN, ``pd.NA`` — are nulls). A carried column keeps the type it was first stored
with; values of another type in a later run are converted, with a warning naming the
column: ints and floats make it float64, a scalar in a list column becomes a one-element
list, and anything else makes the column text (earlier parts are then read as text too;
lists are written as JSON).

**File names.** ``path`` is text, while a file name on Linux is bytes that need not be
UTF-8 (Python gives such a name with surrogate escapes, ``os.fsdecode``). Such a name is
stored losslessly in two columns: ``path`` holds it readable, with each byte that is not
UTF-8 written ``\\xNN`` (:func:`printable_path`), and ``path_bytes`` holds its exact
bytes (null for every name that is UTF-8; the column exists once a store holds such a
name). :func:`read_store` and :func:`extract` return the exact name, which opens the file.

**Manifest rows.** A file listed on several rows is one input. The columns whose values
differ between its rows hold a tuple of the rows' values, in row order, for every file of
that listing (a multi-label CSV with one label per row gives ``label=("dog", "bark")``,
and ``("cat",)`` for a file listed once); :func:`list_inputs` warns when it merges.

**Concurrent writers.** Several processes may extract into one store on a local or
shared file system at once (a job array on a cluster; on object storage, see below).
Each part is published under an exclusive ``flock`` on ``_lock``: part numbers are
unique and increasing, and the schema part and ``_meta.json`` are updated from what is
on disk at that moment. While a writer computes an input it holds a lock on one byte of
``_claims`` (chosen by settings and content hash); another writer skips that input, does
the rest, then waits for that lock and finds the input's rows in the store, so each
input is computed once. The kernel releases a killed writer's locks. Writers share the
published parts and nothing else: each keeps its own unpublished results (what it loses
if killed), its progress and the rows it returns. :func:`compact_store` holds the lock
for its whole run. Where the file system has no locks (some network file systems)
writers warn and go on: parts never overwrite each other, but an input may be computed
twice; run one writer at a time there.

**Faults.** Nothing is written when nothing needs writing, so a run whose inputs are all
stored works on a read-only store (a shared store on a cluster). On a read-only store a
run that needs to compute raises :class:`~asttools.errors.StoreError` before loading the
model, and failures it cannot record are only reported (with a warning). A write that
fails (a full disk, a read-only store) raises ``StoreError`` naming the file; everything
published before is kept. A damaged part (truncated, not Parquet) is skipped with a
warning naming it and, when the store is writable, moved into ``_corrupt/`` (which
pyarrow skips, so ``pd.read_parquet(STORE)`` works again); the next :func:`extract`
computes its inputs again. A damaged schema part is rebuilt from the parts, and an
unreadable ``_meta.json`` is ignored (what it holds is also in the parts' metadata).
``pd.read_parquet`` alone cannot skip a damaged file: opening the store once with
:func:`read_store`, :func:`extract` or :func:`compact_store` repairs it.

**Object storage.** A store may also be a URI that :func:`pyarrow.fs.FileSystem.from_uri`
opens (``"s3://bucket/prefix"``, ``"gs://bucket/prefix"``; S3 credentials from the usual
``AWS_ACCESS_KEY_ID`` and ``AWS_SECRET_ACCESS_KEY``, or ``~/.aws``; another S3 server
with ``?endpoint_override=HOST:PORT&scheme=http``), or a
``(pyarrow.fs.FileSystem, path)`` pair (``(pyarrow.fs.S3FileSystem(...), "bucket/prefix")``).
:func:`extract` (both engines: the driver writes), :func:`read_store`,
:func:`compact_store` and ``asttools extract --out s3://...`` take either; a ``file://``
URI or a ``LocalFileSystem`` pair is a local store. The files are the same; what differs
is that object storage has no renames and no locks:

- each part is serialized in memory, then written in one upload: on S3 and GCS an
  object appears only once complete, so a reader never sees half a part and a failed
  upload leaves no object (other pyarrow file systems, HDFS say, give their own
  guarantees). ``_meta.json`` and the schema part are overwritten whole (a reader sees
  the old or the new one);
- **one writer per store at a time.** There are no ``_lock`` and ``_claims`` files: two
  writers on one store (a job array) do not see each other's claims, so both may compute
  an input. Nothing is lost or corrupted (part names never collide, and reading returns
  each input's windows once, the newest part's), but the work is done twice, and a
  schema part overwritten by the other writer may lack a new carried column for
  ``pd.read_parquet`` (:func:`read_store` reads every part's columns). For a job array,
  write to a shared file system, or give each job its own store. Do not
  :func:`compact_store` while a writer runs;
- the content-hash cache works as on a local store (it is read from the parts); a store
  you may not write is found at the first part written, not before the model is loaded;
- a damaged part is skipped with a warning and moved into ``_corrupt/`` with the file
  system's move (on S3 a copy, then a delete); when that is refused it stays, as on a
  read-only local store. A part that cannot be downloaded (network, permissions) is a
  :class:`~asttools.errors.StoreError`, never taken for damage: a part is set aside only
  when its bytes, downloaded whole, are not Parquet.

``pd.read_parquet("s3://bucket/prefix")`` needs ``s3fs``;
``pyarrow.parquet.read_table("bucket/prefix", filesystem=fs)`` reads it with pyarrow alone.

A store can hold several settings (another pooling, layer or window) of one model, and
rows superseded by a later run (a file whose content changed). :func:`read_store` returns
the current view: for one settings key (default: the latest run's), for each path, the
rows of the newest part that wrote that path — unless a newer error for that path
supersedes them. :func:`extract` fills a store and returns that view for its inputs:

- inputs already in the store with the same content hash and settings are skipped
  (a file whose size and modification time are unchanged is not even re-read);
- a file whose content changed, or a run with other settings, is recomputed;
- a file whose content is already in the store under another name (a duplicate, a
  renamed or moved file) gets its own rows copied from the stored ones, no model run;
  within a run, duplicates are computed once;
- failed inputs are recorded in ``_errors``; a re-run retries those that could not be
  read (missing, no permission) or whose content changed (a fixed file, a completed
  download), and reports the others from the store without decoding them again
  (``retry_failed=True`` retries them all); a failure already recorded is not recorded
  again;
- the model is loaded only if something needs computing.
"""


import lazy_loader as _lazy

# One list: the names below come from __init__.pyi (for type checkers too), imported on
# first use, so that the command line's help reads the store's choices (``_options``)
# without loading pandas or pyarrow.
__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
