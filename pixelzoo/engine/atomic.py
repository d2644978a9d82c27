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


def atomic_write_many(items: Sequence[tuple[str | Path, bytes]]) -> None:
    """Write each `(path, bytes)`; all temporary files are complete before any rename."""
    prepared: list[tuple[str, Path]] = []
    current: Path | None = None
    try:
        for path, data in items:
            current = Path(path)
            current.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = _mkstemp(current)
            prepared.append((tmp, current))
            try:
                _write_fd(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        while prepared:
            tmp, current = prepared[0]
            os.replace(tmp, current)
            prepared.pop(0)
        for folder in {Path(p).parent for p, _ in items}:
            current = folder
            fsync_dir(folder)
    except OSError as exc:
        for tmp, _ in prepared:
            _unlink_quietly(tmp)
        raise WriteError(current or "?", exc) from exc
    except BaseException:
        for tmp, _ in prepared:
            _unlink_quietly(tmp)
        raise


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    atomic_write_many([(path, data)])


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write(path: str | Path, write: Callable[[str], None]) -> None:
    """Call `write(tmp_path)` to produce the file (any writer: PIL, cv2, ...), then move it in."""
    path = Path(path)
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _mkstemp(path)
        os.close(fd)
        write(tmp)
        with open(tmp, "rb+") as fh:  # make the bytes durable before the rename
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        tmp = None
        fsync_dir(path.parent)
    except OSError as exc:
        if tmp is not None:
            _unlink_quietly(tmp)
        raise WriteError(path, exc) from exc
    except BaseException:
        if tmp is not None:
            _unlink_quietly(tmp)
        raise


def atomic_link_many(pairs: Iterable[tuple[str | Path, str | Path]]) -> None:
    """Make each `dst` a copy of `src` (a hard link where possible), replacing `dst` atomically.

    Used to promote `last` to `best` and to the history without rewriting the bytes; `last` is
    later replaced by a new file (a new inode), so the links keep the old content.
    """
    prepared: list[tuple[Path, Path]] = []
    current: Path | None = None
    try:
        for src, dst in pairs:
            src, current = Path(src), Path(dst)
            tmp = current.with_name(f".{current.name}.{secrets.token_hex(4)}{TMP_SUFFIX}")
            prepared.append((tmp, current))
            try:
                os.link(src, tmp)
            except OSError as exc:
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK,
                                     getattr(errno, "EOPNOTSUPP", errno.ENOTSUP)):
                    raise
                shutil.copyfile(src, tmp)  # no hard links here: copy instead
                with open(tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
        while prepared:
            tmp, current = prepared[0]
            os.replace(tmp, current)
            prepared.pop(0)
        if current is not None:
            fsync_dir(current.parent)
    except OSError as exc:
        for tmp, _ in prepared:
            _unlink_quietly(tmp)
        raise WriteError(current or "?", exc) from exc
    except BaseException:
        for tmp, _ in prepared:
            _unlink_quietly(tmp)
        raise


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
