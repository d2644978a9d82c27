"""One generic plugin registry, with one instance per kind of part.

Parts are found through Python entry points (`importlib.metadata`), in the groups
`pixelzoo.datasets`, `pixelzoo.combiners`, `pixelzoo.decoders`, `pixelzoo.tasks`,
`pixelzoo.masks`, `pixelzoo.models`, `pixelzoo.augmentations` and `pixelzoo.callbacks`.
pixelzoo declares its own built-ins in its pyproject, so built-in and third-party parts take the
same path. Listing names reads metadata only and imports nothing; `get(name)` imports that one
plugin. A plugin that fails to import is reported with its `dist[name]` and cause, and never
breaks the others. Two distributions claiming one name are refused, naming both.

Setting `PIXELZOO_DISABLE_PLUGIN_AUTOLOAD=1` limits discovery to pixelzoo's own parts plus the
distributions allowed with `--plugin NAME` (or `PIXELZOO_PLUGINS=a,b`).
"""

from __future__ import annotations

import difflib
import fnmatch
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Generic, TypeVar

from pixelzoo.errors import DuplicateNameError, PluginLoadError, UnknownNameError

T = TypeVar("T")

CORE_DIST = "pixelzoo"
AUTOLOAD_ENV = "PIXELZOO_DISABLE_PLUGIN_AUTOLOAD"
ALLOWED_ENV = "PIXELZOO_PLUGINS"
_extra_allowed: set[str] = set()


def allow_plugins(*dists: str) -> None:
    """Allow these distributions to load even when plugin autoload is disabled."""
    _extra_allowed.update(_norm(d) for d in dists)


def _norm(dist: str) -> str:
    return dist.lower().replace("_", "-").replace(".", "-")


def _allowed(dist: str) -> bool:
    if os.environ.get(AUTOLOAD_ENV, "").strip() not in ("1", "true", "yes"):
        return True
    allowed = {_norm(d) for d in os.environ.get(ALLOWED_ENV, "").split(",") if d.strip()}
    allowed |= _extra_allowed | {CORE_DIST}
    return _norm(dist) in allowed


@dataclass
class PluginInfo:
    """What is known about one registered name before (and after) it is imported."""

    name: str
    dist: str
    version: str
    target: str  # "module:attr" for entry points, a repr for programmatic registrations
    entry_point: metadata.EntryPoint | None = None
    obj: Any = None
    loaded: bool = False
    error: str | None = None
    duplicates: list[PluginInfo] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.dist}[{self.name}]"


class Registry(Generic[T]):
    """Names to parts for one kind (e.g. combiners), discovered from one entry-point group."""

    def __init__(self, kind: str, group: str | None = None, *, singular: str | None = None):
        self.kind = kind
        self.singular = singular or kind.rstrip("s")
        self.group = group or f"pixelzoo.{kind}"
        self._entries: dict[str, PluginInfo] | None = None
        self._local: dict[str, PluginInfo] = {}

    # ------------------------------------------------------------------ discovery
    def _discover(self) -> dict[str, PluginInfo]:
        if self._entries is not None:
            return self._entries
        found: dict[str, PluginInfo] = {}
        seen: set[tuple[str, str, str]] = set()
        for dist in metadata.distributions():
            dist_name = dist.metadata["Name"] or "?"
            if not _allowed(dist_name):
                continue
            for ep in dist.entry_points:
                if ep.group != self.group:
                    continue
                # The same distribution can be visible twice (an editable install plus a source
                # tree on sys.path); that is one plugin, not a clash.
                key = (_norm(dist_name), ep.name, ep.value)
                if key in seen:
                    continue
                seen.add(key)
                info = PluginInfo(ep.name, dist_name, dist.version or "?", ep.value, ep)
                self._add(found, info)
        self._entries = found
        return found

    @staticmethod
    def _add(table: dict[str, PluginInfo], info: PluginInfo) -> None:
        if info.name in table:
            table[info.name].duplicates.append(info)
        else:
            table[info.name] = info

    def refresh(self) -> None:
        """Forget discovered entry points (after installing or removing a distribution)."""
        self._entries = None

    def _all(self) -> dict[str, PluginInfo]:
        table = dict(self._discover())
        for name, info in self._local.items():
            if name in table:
                table[name] = PluginInfo(**{**table[name].__dict__, "duplicates": [
                    *table[name].duplicates, info]})
            else:
                table[name] = info
        return table

    def names(self, pattern: str | None = None) -> list[str]:
        """Sorted names, optionally filtered by a glob pattern. Imports nothing."""
        names = sorted(self._all())
        if pattern:
            names = [n for n in names if fnmatch.fnmatch(n, pattern)]
        return names

    def infos(self, pattern: str | None = None) -> list[PluginInfo]:
        table = self._all()
        return [table[n] for n in self.names(pattern)]

    def __contains__(self, name: object) -> bool:
        return name in self._all()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    # ------------------------------------------------------------------ registration
    def register(
        self, name: str, obj: T | None = None, *, dist: str = "<local>"
    ) -> Callable[[T], T] | T:
        """Register `obj` under `name` without an entry point (tests, notebooks).

        Like torchvision's model registry, a name that is already taken is refused rather than
        silently shadowed. Usable as a decorator: `@COMBINERS.register("mine")`.
        """

        def deco(o: T) -> T:
            table = self._all()
            if name in table:
                other = table[name]
                raise DuplicateNameError(
                    f"{self.singular} '{name}' is already registered by {other.label}; "
                    f"refusing the second registration from {dist}[{name}]"
                )
            target = f"{getattr(o, '__module__', '?')}:{getattr(o, '__qualname__', repr(o))}"
            self._local[name] = PluginInfo(name, dist, "-", target, obj=o, loaded=True)
            return o

        return deco if obj is None else deco(obj)

    def unregister(self, name: str) -> None:
        self._local.pop(name, None)

    # ------------------------------------------------------------------ lookup
    def info(self, name: str) -> PluginInfo:
        table = self._all()
        if name not in table:
            raise UnknownNameError(self.unknown_message(name))
        return table[name]

    def unknown_message(self, name: str) -> str:
        known = self.names()
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.5)
        msg = f"unknown {self.singular} '{name}'"
        msg += f"; did you mean '{close[0]}'?" if close else "."
        msg += f" Known {self.kind}: {', '.join(known) if known else '(none)'}."
        hidden = self._not_allowed(name)
        if hidden:  # installed, but autoload is off: installing again would not help
            dist = hidden[0]
            return (f"unknown {self.singular} '{name}' while {AUTOLOAD_ENV}=1: it is provided "
                    f"by {', '.join(hidden)}, installed but not allowed; allow it with "
                    f"`--plugin {dist}` or {ALLOWED_ENV}={dist}. Known {self.kind} now: "
                    f"{', '.join(known) if known else '(none)'}.")
        msg += f" Or install a package that provides it (entry-point group '{self.group}')."
        return msg

    def _not_allowed(self, name: str) -> list[str]:
        """Installed distributions providing `name` that autoload settings leave out."""
        found = set()
        for dist in metadata.distributions():
            dist_name = dist.metadata["Name"] or "?"
            if not _allowed(dist_name) and any(
                    ep.group == self.group and ep.name == name for ep in dist.entry_points):
                found.add(dist_name)
        return sorted(found)

    def get(self, name: str) -> T:
        """Import (once) and return the part registered as `name`."""
        info = self.info(name)
        if info.duplicates:
            claimants = ", ".join(i.label for i in [info, *info.duplicates])
            raise DuplicateNameError(
                f"{self.singular} '{name}' is provided by more than one distribution: "
                f"{claimants}. Uninstall one of them."
            )
        if info.loaded:
            return info.obj
        if info.error is not None:
            raise PluginLoadError(info.error)
        try:
            obj = info.entry_point.load()  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's, not ours
            cause = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            info.error = (
                f"plugin {info.label} ({self.group} = {info.target}) failed to load: {cause}"
            )
            raise PluginLoadError(info.error) from exc
        info.obj, info.loaded = obj, True
        return obj

    def load_all(self) -> list[tuple[PluginInfo, str]]:
        """Load every plugin; return (info, message) for each that failed. Used by `doctor`."""
        failures = []
        for name in self.names():
            try:
                self.get(name)
            except (PluginLoadError, DuplicateNameError) as exc:
                failures.append((self._all()[name], str(exc)))
        return failures


DATASETS: Registry[Any] = Registry("datasets")
COMBINERS: Registry[Any] = Registry("combiners")
DECODERS: Registry[Any] = Registry("decoders")
TASKS: Registry[Any] = Registry("tasks")
MASKS: Registry[Any] = Registry("masks")
MODELS: Registry[Any] = Registry("models")
AUGMENTATIONS: Registry[Any] = Registry("augmentations")
CALLBACKS: Registry[Any] = Registry("callbacks")

REGISTRIES: dict[str, Registry[Any]] = {
    r.kind: r
    for r in (DATASETS, COMBINERS, DECODERS, TASKS, MASKS, MODELS, AUGMENTATIONS,
              CALLBACKS)
}


def registry_for(kind: str) -> Registry[Any]:
    """Look up a registry by kind, accepting the singular too ('combiner')."""
    for r in REGISTRIES.values():
        if kind in (r.kind, r.singular):
            return r
    close = difflib.get_close_matches(kind, list(REGISTRIES), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise UnknownNameError(
        f"unknown kind of part '{kind}'{hint} Kinds: {', '.join(REGISTRIES)}."
    )
