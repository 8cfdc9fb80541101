"""Files that one stage writes and another loads: one way to write them, one to read them.

* `atomic_path` / `atomic_file`: a saver writes into a temporary file in the target's folder,
  which is flushed to disk (fsync) and then renamed over the target (`os.replace`). A crash, a
  full disk or a second writer never leaves half a file where a good one was.
* `save_npz` / `load_npz`: the "arrays + JSON meta" `.npz` of latent files, direction sets and
  explorer sessions. The arrays are plain numeric arrays; `meta` is one JSON string that names
  the format and its version (`format`, `format_version`) next to whatever the file describes.
  Loading never unpickles (`allow_pickle=False`), so such a file can never carry code.
* `check_generator_id`: a file made for one generator (latents, directions, networks) refuses
  another generator with one sentence that names both.
"""

from __future__ import annotations

import json
import os
import secrets
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import numpy as np

from latentlab.core.errors import GeneratorMismatch, UserError

__all__ = ["GeneratorMismatch", "check_generator_id", "atomic_path", "atomic_file", "save_npz", "load_npz"]

META_KEY = "meta"
READ_ERRORS = (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def check_generator_id(made_for: str | None, loaded: str | None, what: str, *, made: str = "was made for",
                       remedy: str = "load the generator it was made for") -> None:
    """Refuse `what` (a file or its contents) made for generator `made_for` when `loaded` is in use.

    The message reads "<what> <made> generator <made_for>, but the loaded generator is <loaded>;
    <remedy>". `loaded=None` means nothing to compare against, and passes.
    """
    if loaded is None or made_for == loaded:
        return
    raise GeneratorMismatch(f"{what} {made} generator {made_for}, but the loaded generator is {loaded}; {remedy}",
                            made_for, loaded)


# -- atomic writes --------------------------------------------------------------------------------
def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX only: a folder cannot be opened for fsync on Windows)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """A fresh temporary path next to `path`, for writers that want a file name (safetensors, ffmpeg).

    When the block ends the file is fsynced and renamed over `path`; when it raises, the temporary
    file is removed and `path` keeps its old content. `keep_suffix` ends the temporary name in
    `path`'s suffix, for writers that choose a format by it. Creates `path`'s folder.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    token = f"{os.getpid()}-{secrets.token_hex(4)}"  # unique per writer, also across threads
    tmp = path.with_name(f".{path.stem}.{token}.tmp{path.suffix}" if keep_suffix else f".{path.name}.{token}.tmp")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file object whose content replaces `path` atomically when the block ends."""
    with atomic_path(path) as tmp, open(tmp, "xb") as f:
        yield f


# -- arrays + JSON meta ---------------------------------------------------------------------------
def save_npz(path: str | Path, arrays: Mapping[str, np.ndarray], meta: Mapping, *, fmt: str, version: int,
             compress: bool = False) -> Path:
    """Write numeric `arrays` and `meta` (JSON, stamped with `format` and `format_version`) atomically."""
    path = Path(path)
    if META_KEY in arrays:
        raise ValueError(f"{META_KEY!r} is the metadata's name in an artifact file; rename that array")
    arrays = {k: np.asarray(v) for k, v in arrays.items()}
    pickled = [k for k, v in arrays.items() if v.dtype.hasobject]
    if pickled:
        raise ValueError(f"arrays {pickled} hold Python objects, which only pickle could store")
    text = json.dumps({**meta, "format": fmt, "format_version": version})
    save = np.savez_compressed if compress else np.savez
    with atomic_file(path) as f:
        save(f, **{META_KEY: np.array(text)}, **arrays)
    return path


def damaged(path: str | Path, what: str, error: Exception) -> UserError:
    """The error for a file of the right format whose content does not add up."""
    return UserError(f"{path} is a damaged {what} ({type(error).__name__}: {error})")


def load_npz(path: str | Path, *, fmt: str, version: int, what: str, legacy: bool = False,
             missing: str = "") -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, meta) of a file that `save_npz` wrote with format `fmt`, version <= `version`.

    `what` names the kind of file in errors ("direction set"); `missing` is appended to the
    error for a file that does not exist (what to do instead). `legacy` also accepts files written
    before formats were named, whose meta has no `format` key. A file that is not an `.npz`,
    needs pickle, lacks the JSON meta or names another format is refused with a UserError.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{what} {path} does not exist" + (f"; {missing}" if missing else ""))

    def foreign(reason: object) -> UserError:
        return UserError(f"{path} is not a latentlab {what} ({reason})")

    try:
        data = np.load(path, allow_pickle=False)
    except READ_ERRORS as e:
        raise foreign(e) from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise foreign("a single .npy array, not an .npz archive")
    with data:
        try:
            text = data[META_KEY]
            arrays = {k: data[k] for k in data.files if k != META_KEY}
        except READ_ERRORS as e:
            raise foreign(e) from None
    try:
        meta = json.loads(str(text)) if text.ndim == 0 and text.dtype.kind == "U" else None
    except json.JSONDecodeError as e:
        raise foreign(f"unreadable metadata: {e}") from None
    if not isinstance(meta, dict):
        raise foreign("its metadata is not a JSON object")
    if meta.get("format") != fmt and not (legacy and "format" not in meta):
        raise foreign(f"format {meta.get('format')!r}, expected {fmt!r}")
    try:
        found = int(meta.get("format_version", 0))
    except (TypeError, ValueError):
        raise foreign(f"format version {meta.get('format_version')!r}") from None
    if found > version:
        raise UserError(f"{path} was written by a newer latentlab ({what} format {found} > {version}); "
                        "upgrade latentlab to read it")
    return arrays, meta
