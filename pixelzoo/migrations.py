"""Old recipe spellings, rewritten to the current ones so that old recipes and runs keep loading.

Each entry of `MOVED` is a key that moved: the infill task's evaluation settings used to sit in
the core `eval` section (`eval.masks`, `eval.decoding`, `eval.baselines`, `eval.samples`) and now
belong to the task (`task.eval.masks`, `task.eval.decodings`, ...), validated by its own
`Config`. `upgrade` rewrites one recipe document (a file before it is merged with its base, a
saved `config.yaml`, an in-memory dict) and returns one note naming the new spelling, which the
caller shows the way dataset notes are shown (`pixelzoo run` prints it once, on rank 0);
`upgrade_overrides` does the same for `--set` keys. A value equal to the old resolver's default
(`[]`, or 8 samples), which every `config.yaml` of the time wrote out whatever the task, is
dropped rather than moved: it meant "the task's default" then and means it now.

Not here: validation (`pixelzoo.recipe`); this module only renames keys.
"""

from __future__ import annotations

import copy
from typing import Any

Key = tuple[str, ...]

#: old path -> new path
MOVED: dict[Key, Key] = {
    ("eval", "masks"): ("task", "eval", "masks"),
    ("eval", "decoding"): ("task", "eval", "decodings"),
    ("eval", "baselines"): ("task", "eval", "baselines"),
    ("eval", "samples"): ("task", "eval", "samples"),
}
#: what the old resolver wrote for each when the recipe said nothing
_OLD_DEFAULTS: dict[Key, Any] = {
    ("eval", "masks"): [], ("eval", "decoding"): [], ("eval", "baselines"): [],
    ("eval", "samples"): 8,
}


def _dotted(key: Key) -> str:
    return ".".join(key)


def note_for(moved: list[tuple[Key, Key]]) -> str:
    """The one-line note for keys moved from their old spelling."""
    pairs = ", ".join(f"{_dotted(old)} -> {_dotted(new)}" for old, new in moved)
    return (f"old recipe spelling, read as the new one: {pairs} (write it so to silence "
            "this note)")


def upgrade(data: dict[str, Any]) -> tuple[dict[str, Any], list[str], dict[Key, Key]]:
    """Rewrite the old spellings in one recipe document.

    Returns the rewritten copy (the input is left alone), the notes (none when nothing moved),
    and new path -> old path for every moved key, so that errors can still point at the line
    where the value is written.
    """
    section = data.get("eval")
    if not isinstance(section, dict) or not any(old[1] in section for old in MOVED):
        return data, [], {}
    out = copy.deepcopy(data)
    ev = out["eval"]
    moved: list[tuple[Key, Key]] = []
    where: dict[Key, Key] = {}
    for old, new in MOVED.items():
        if old[1] not in ev:
            continue
        value = ev.pop(old[1])
        if value == _OLD_DEFAULTS[old]:
            continue
        task = out.get("task")
        if isinstance(task, str):  # `task: infill` shorthand
            task = {"type": task}
        if not isinstance(task, dict):
            task = {}
        out["task"] = task
        target = task.setdefault(new[1], {})
        if not isinstance(target, dict):  # a malformed `task.eval`: validation reports it
            continue
        target.setdefault(new[2], value)  # the new spelling wins where both are written
        moved.append((old, new))
        where[new] = old
    if not ev:
        del out["eval"]
    return out, ([note_for(moved)] if moved else []), where


def upgrade_overrides(overrides: list[str]) -> tuple[list[str], list[str]]:
    """`--set eval.masks=...` -> `--set task.eval.masks=...`; returns (overrides, notes)."""
    out, moved = [], []
    for item in overrides:
        key, sep, value = item.partition("=")
        parts = tuple(key.strip().split("."))
        for old, new in MOVED.items():
            if parts[:len(old)] == old:
                key = _dotted(new + parts[len(old):])
                if (old, new) not in moved:
                    moved.append((old, new))
                break
        out.append(f"{key}{sep}{value}" if sep else item)
    return out, ([f"--set: {note_for(moved)}"] if moved else [])


def relocate_lines(lines: dict[tuple[Any, ...], int], where: dict[Key, Key]
                   ) -> dict[tuple[Any, ...], int]:
    """A YAML line map with each moved key's lines also under its new path."""
    if not where:
        return lines
    out = dict(lines)
    for new, old in where.items():
        for path, line in lines.items():
            if path[:len(old)] == old:
                out.setdefault(new + path[len(old):], line)
    return out
