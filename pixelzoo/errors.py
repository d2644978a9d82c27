"""User-facing error types, and the one policy that turns any failure into an exit status.

Every problem a user can fix (a bad recipe, a missing file, a broken plugin) is raised as a
`PixelzooError`. `guard`, which every command runs under, applies the policy once for all:

- a `PixelzooError`, or an operating-system error naming a file (permission denied, not a
  folder, disk full), is one message on stderr naming the file, key or argument: exit status 2;
- anything else is a bug in pixelzoo: one line says so and where its traceback was written (a
  log file in the run folder when a run has one, else in the temp folder), exit status 1. The
  traceback is not put on screen unless `PIXELZOO_DEBUG=1`;
- Ctrl-C is exit status 130, and a closed pipe (`pixelzoo list | head`) a quiet 0.

This module imports nothing heavy (rich only when printing), so `import pixelzoo` stays cheap.
It is not the place for validation itself: code raises `PixelzooError`s where it knows what is
wrong, and `guard` only decides how they are shown.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path


class PixelzooError(Exception):
    """An error the user can act on; printed without a traceback, exit status 2."""

    exit_code = 2


class PluginError(PixelzooError):
    """A plugin could not be found, loaded or registered."""


class UnknownNameError(PluginError, KeyError):
    """A name that no installed distribution provides."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class DuplicateNameError(PluginError):
    """Two distributions claim the same name in one registry."""


class PluginLoadError(PluginError):
    """A plugin's entry point failed to import or is not a valid part."""


class RecipeError(PixelzooError):
    """A recipe failed validation; carries every problem found, each with its dotted path."""

    def __init__(self, problems: Iterable[str], source: str | None = None):
        self.problems = list(problems)
        self.source = source
        head = f"{source}: " if source else ""
        if len(self.problems) == 1:
            msg = head + self.problems[0]
        else:
            msg = head + f"{len(self.problems)} problems in the recipe:\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(msg)


class DataError(PixelzooError):
    """A dataset file or folder is missing or malformed."""


class CheckpointError(PixelzooError):
    """A checkpoint is missing, corrupt, or belongs to a different architecture."""


# ------------------------------------------------------------------------------ the policy
DEBUG_ENV = "PIXELZOO_DEBUG"
_run_dir: Path | None = None  # the run folder of the command under way, once it has one


def note_run_dir(path: str | Path | None) -> None:
    """Tell the policy which run folder the current command writes, so a bug's traceback is
    logged there (beside the run it broke) instead of in the temp folder."""
    global _run_dir
    _run_dir = Path(path) if path is not None else None


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_ENV, "").strip().lower() in ("1", "true", "yes")


def _say(text: str) -> None:
    """One message on stderr; `dist[name]` labels are escaped so rich does not eat them."""
    try:
        from rich.console import Console
        from rich.markup import escape
    except ImportError:  # pragma: no cover - rich is a dependency
        print(text, file=sys.stderr)
        return
    head, _, rest = text.partition(" ")
    Console(stderr=True, highlight=False).print(
        f"[bold red]{escape(head)}[/bold red] {escape(rest)}", soft_wrap=True)


def os_error_message(exc: OSError) -> str | None:
    """`path: reason` for an OS error about a file the user named or owns; None otherwise."""
    if exc.filename is None:
        return None
    names = f"{exc.filename}" + (f" -> {exc.filename2}" if exc.filename2 is not None else "")
    reason = exc.strerror or type(exc).__name__
    return f"{names}: {reason}"


def write_crash_log(exc: BaseException, argv: Sequence[str] | None) -> Path | None:
    """Write the traceback to a log file (run folder, else temp folder); its path or None."""
    from importlib import metadata

    try:  # from the installed metadata: importing the package here would be a circle
        version = metadata.version("pixelzoo")
    except metadata.PackageNotFoundError:
        version = "?"
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = f"pixelzoo-error-{stamp}-{os.getpid()}.log"
    text = (f"pixelzoo {version}, Python {sys.version.split()[0]}\n"
            f"command: pixelzoo {' '.join(argv if argv is not None else sys.argv[1:])}\n\n"
            + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    for folder in (_run_dir, Path(tempfile.gettempdir())):
        if folder is None:
            continue
        try:
            path = folder / name
            path.write_text(text, encoding="utf-8")
            return path
        except OSError:
            continue
    return None


def guard(command: Callable[[], int | None], argv: Sequence[str] | None = None) -> int:
    """Run `command` under the policy above and return its exit status."""
    note_run_dir(None)  # a fresh command (tests call `main` many times in one process)
    try:
        return int(command() or 0)
    except PixelzooError as exc:
        if debug_enabled():
            traceback.print_exc()
        _say(f"error: {exc}")
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pixelzoo list | head`: the reader left; nothing is wrong
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):  # stdout is not a real file (captured in tests)
            pass
        return 0
    except OSError as exc:
        msg = os_error_message(exc)
        if msg is None:
            return _bug(exc, argv)
        if debug_enabled():
            traceback.print_exc()
        _say(f"error: {msg}")
        return 2
    except Exception as exc:  # noqa: BLE001 - the policy: anything unanticipated is a bug
        return _bug(exc, argv)


def _bug(exc: BaseException, argv: Sequence[str] | None) -> int:
    if debug_enabled():
        traceback.print_exc()
    log = write_crash_log(exc, argv)
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    what = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    if log is None:  # nowhere to write it: the traceback is the only record, so show it
        if not debug_enabled():
            traceback.print_exc()
        _say(f"bug: pixelzoo failed unexpectedly ({what}); please report it with the "
             "traceback above.")
    else:
        hint = "" if debug_enabled() else f"; {DEBUG_ENV}=1 shows it here"
        _say(f"bug: pixelzoo failed unexpectedly ({what}). This is a bug in pixelzoo, not in "
             f"your input; the traceback is in {log}{hint}. Please report it with that file.")
    return 1
