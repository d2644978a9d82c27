"""Atomic file writes: write a temporary file in the same folder, then `os.replace` it.

A crash, a kill -9 or a full disk mid-write leaves the previous file intact: readers see either
the old complete file or the new complete file, never a torn one. `atomic_write_many` writes a
group of files (a checkpoint's weights and training state) so that every byte of every file is on
disk before the first rename, which shrinks the window in which a kill can leave the group mixed
to the few microseconds between two renames; checkpoints also record a hash that pairs the files,
so even that window is detected on load. Any `OSError` (no space left, read-only folder,
permission denied) becomes a `WriteError` naming the file, and the temporary file is removed.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from pixelzoo.errors import PixelzooError

TMP_SUFFIX = ".tmp"


class WriteError(PixelzooError):
    """A file could not be written (full disk, read-only folder, ...); the old file is intact."""

    def __init__(self, path: str | Path, cause: BaseException | None = None):
        if cause is None:  # a ready message: `type(exc)(msg)` and unpickling rebuild it so
            super().__init__(str(path))
            self.path, self.cause = None, None
            return
        self.path = Path(path)
        self.cause = cause
        reason = (getattr(cause, "strerror", None) or str(cause) or type(cause).__name__)
        code = getattr(cause, "errno", None)
        hint = {errno.ENOSPC: " (the disk is full)", errno.EROFS: " (read-only file system)",
                errno.EACCES: " (permission denied)", errno.EDQUOT: " (disk quota exceeded)"}
        super().__init__(f"cannot write {self.path}: {reason}{hint.get(code, '')}")


_UMASK: int | None = None


def _file_mode() -> int:
    """The mode `open()` would give a new file (mkstemp's 0600 would hide runs from a group)."""
    global _UMASK
    if _UMASK is None:
        _UMASK = os.umask(0o022)
        os.umask(_UMASK)
    return 0o666 & ~_UMASK


def _mkstemp(path: Path) -> tuple[int, str]:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TMP_SUFFIX, dir=path.parent)
    try:
        os.chmod(tmp, _file_mode())
    except OSError:  # e.g. a file system without modes; the file is still ours
        pass
    return fd, tmp


def _write_fd(fd: int, data: bytes | bytearray | memoryview) -> None:
    view = memoryview(data)
    while len(view):
        n = os.write(fd, view)
        view = view[n:]


def _unlink_quietly(path: str | Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def fsync_dir(folder: str | Path) -> None:
    """Make renames in `folder` durable (POSIX); a no-op where folders cannot be fsynced."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # Windows cannot open folders; nothing to do there
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        # some file systems refuse fsync on a folder; that is not a failed write
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


class _Staged:
    """Temporary files waiting to replace their targets, as a context manager: on any failure
    the ones not yet moved in are removed, and an `OSError` becomes a `WriteError` naming the
    file (`current`) being worked on when it happened."""

    def __init__(self) -> None:
        self.pending: list[tuple[str | Path, Path]] = []
        self.current: Path | None = None

    def add(self, tmp: str | Path, target: Path) -> None:
        self.pending.append((tmp, target))

    def move_in(self) -> None:
        """Rename every staged file over its target, in order."""
        while self.pending:
            tmp, self.current = self.pending[0]
            os.replace(tmp, self.current)
            self.pending.pop(0)

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            return False
        for tmp, _ in self.pending:
            _unlink_quietly(tmp)
        if isinstance(exc, OSError):
            raise WriteError(self.current or "?", exc) from exc
        return False


def atomic_write_many(items: Sequence[tuple[str | Path, bytes]]) -> None:
    """Write each `(path, bytes)`; all temporary files are complete before any rename."""
    with _Staged() as staged:
        for path, data in items:
            target = staged.current = Path(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _mkstemp(target)
            staged.add(tmp, target)
            try:
                _write_fd(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        staged.move_in()
        for folder in {Path(p).parent for p, _ in items}:
            staged.current = folder
            fsync_dir(folder)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write_many([(path, data)])


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call `write(tmp_path)` to produce the file (any writer: PIL, cv2, ...), then move it in."""
    path = Path(path)
    with _Staged() as staged:
        staged.current = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _mkstemp(path)
        os.close(fd)
        staged.add(tmp, path)
        write(tmp)
        with open(tmp, "rb+") as fh:  # make the bytes durable before the rename
            os.fsync(fh.fileno())
        staged.move_in()
        fsync_dir(path.parent)


def atomic_link_many(pairs: Iterable[tuple[str | Path, str | Path]]) -> None:
    """Make each `dst` a copy of `src` (a hard link where possible), replacing `dst` atomically.

    Used to promote `last` to `best` and to the history without rewriting the bytes; `last` is
    later replaced by a new file (a new inode), so the links keep the old content.
    """
    with _Staged() as staged:
        for src, dst in pairs:
            target = staged.current = Path(dst)
            tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
            staged.add(tmp, target)
            try:
                os.link(src, tmp)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK,
                                     getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)):
                    raise
                shutil.copyfile(src, tmp)  # no hard links here: copy instead
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
        staged.move_in()
        if staged.current is not None:
            fsync_dir(staged.current.parent)


def stale_temp_files(folder: str | Path) -> list[Path]:
    """Temporary files a killed writer left behind in `folder` (never read as checkpoints)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir()
                  if p.name.startswith(".") and p.name.endswith(TMP_SUFFIX) and p.is_file())


def remove_stale_temp_files(folder: str | Path) -> list[Path]:
    """Delete what `stale_temp_files` finds; call only while holding the run folder's lock."""
    removed = []
    for p in stale_temp_files(folder):
        try:
            p.unlink()
            removed.append(p)
        except OSError:
            pass
    return removed


def atomic_write_image(path: str | Path, image: Any) -> None:
    """Write a uint8 (H, W, 3) RGB or (H, W) / (H, W, 1) gray array as an image file, atomically.

    The one place pixels become a file (pictures, grids, `pixelzoo infill`'s output). The format
    follows the suffix (.png, .bmp, .tif, ...; PNG when there is none); PNGs are compressed at the
    highest level, since flat cartoon colours shrink about 20x for a few ms more.
    """
    import cv2
    import numpy as np

    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise ValueError(f"expected a uint8 (H, W, 3) or (H, W) image, got {array.dtype} "
                         f"{array.shape}")
    if array.ndim == 3 and array.shape[2] == 3:
        array = array[:, :, ::-1]  # OpenCV encodes BGR
    ext = Path(path).suffix.lower() or ".png"
    params = [cv2.IMWRITE_PNG_COMPRESSION, 9] if ext == ".png" else []
    try:
        ok, data = cv2.imencode(ext, np.ascontiguousarray(array), params)
    except cv2.error:
        ok = False
    if not ok:
        raise WriteError(f"cannot write {path}: the image could not be encoded as {ext}")
    atomic_write_bytes(path, data.tobytes())
