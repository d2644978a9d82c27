"""User-facing error types.

Every problem a user can fix (a bad recipe, a missing file, a broken plugin) is raised as a
`PixelzooError`. The command line turns it into one clear report and exit status 2, with no
traceback; anything else is a bug in pixelzoo and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable


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
