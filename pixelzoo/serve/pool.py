"""The models a `pixelzoo serve` may load, their cards, and the bounded pool that does the work.

`ModelPool` is fixed when the server starts: it maps a key (a shipped weights name, or a run
folder as it was given) to the source behind it, and a request can only name a key. Nothing a
request sends is ever turned into a path, so no URL reaches the file system. Models load on
first use (once, even when two requests ask at the same time) and stay loaded. `Workers` runs the
model calls on a few threads (torch releases the GIL while it computes) and refuses work beyond a
set number of jobs at once, so a burst of requests gets a quick "busy" answer instead of a
growing queue. Not for HTTP (`pixelzoo.serve.app`) or model calls themselves
(`pixelzoo.serve.adapter`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pixelzoo.errors import PixelzooError
from pixelzoo.serve import adapter

T = TypeVar("T")


class UnknownModel(PixelzooError):
    """A request named a model this server was not started with."""


class Busy(PixelzooError):
    """Every work slot is taken."""


@dataclass
class Entry:
    key: str
    source: str          # what `adapter.load` is given
    kind: str            # "shipped weights" or "run folder"
    folder: Path
    card: dict[str, Any] = field(default_factory=dict)


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _brief(spec: Any) -> Any:
    """A part spec for the card: `{type: linear_add, bias: true}` -> 'linear_add'."""
    return spec.get("type", spec) if isinstance(spec, dict) else spec


def _first_decoding(cfg: dict[str, Any]) -> str | None:
    """The decoding a run's `<set>/<metric>` keys stand for: the first one it evaluated."""
    task_eval = (cfg.get("task") or {}).get("eval") or {}
    names = task_eval.get("decodings") or (cfg.get("eval") or {}).get("decoding") or []
    return str(names[0]) if isinstance(names, list) and names else None


def _hole_metrics(values: dict[str, Any], first: str | None = None) -> dict[str, float]:
    """The PSNR and SSIM entries of a flat metrics dict, rounded for display, each keyed
    `<set>/<decoding>/<metric>` where the decoding is known."""
    out = {}
    for k, v in values.items():
        parts = k.split("/")
        if isinstance(v, (int, float)) and parts[-1] in ("psnr", "ssim"):
            if len(parts) == 2 and first:
                k = f"{parts[0]}/{first}/{parts[1]}"
            out.setdefault(k, round(float(v), 3))
    return out


def read_card(folder: Path, kind: str) -> dict[str, Any]:
    """What the page shows about a model, from its files only (no torch, nothing loaded):
    architecture, training data and metrics, and the shipped card's text where there is one."""
    cfg = _read_yaml(folder / "config.yaml")
    model = cfg.get("model") or {}
    dataset = cfg.get("dataset") or {}
    architecture = {k: _brief(v) for k, v in model.items() if not isinstance(v, list)}
    details = [f"{k} {dataset[k]}" for k in ("count", "size", "crop", "root")
               if dataset.get(k) is not None]
    if dataset.get("type") == "mixture":  # its parts, e.g. "mixture of toon, toon (varied)"
        parts = [str(_brief(d)) + (f" ({d['style']})" if isinstance(d, dict) and d.get("style")
                                   and d["style"] != "classic" else "")
                 for d in dataset.get("datasets") or []]
        details = [f"of {', '.join(parts)}"] if parts else []
        training: dict[str, Any] = {"dataset": " ".join(["mixture", *details])}
    else:
        training = {"dataset": str(_brief(dataset) or "?") + (
            f" ({', '.join(details)})" if details else "")}
    if cfg.get("mask"):
        training["holes"] = _brief(cfg["mask"])
    metrics: dict[str, float] = {}
    metrics_note = ""
    text = ""
    meta = _read_json(folder / "meta.json")
    summary = _read_json(folder / "summary.json")
    if meta:
        for k, v in (meta.get("training") or {}).items():
            if k != "dataset" and isinstance(v, (str, int, float)):
                training[k.replace("_", " ")] = v
        m = meta.get("metrics") or {}
        metrics = _hole_metrics(m.get("values") or {})
        if m:
            metrics_note = f"{m.get('images', '?')} {m.get('split', '')} images"
    if summary:
        for key in ("steps", "images_seen", "train_seconds", "epochs_completed"):
            if isinstance(summary.get(key), (int, float)):
                training[key.replace("_", " ")] = round(summary[key], 1)
        metrics = metrics or _hole_metrics(summary.get("final_metrics") or {},
                                            _first_decoding(cfg))
        if metrics and not metrics_note:
            metrics_note = f"final {summary.get('final_split', '')} split"
    card_md = folder / "card.md"
    if card_md.is_file():
        try:
            text = card_md.read_text(encoding="utf-8")[:20_000]
        except (OSError, UnicodeDecodeError):
            text = ""
    return {"architecture": architecture, "training": training, "metrics": metrics,
            "metrics_note": metrics_note, "text": text,
            "task": str((cfg.get("task") or {}).get("type", ""))}


def _is_infill_run(folder: Path) -> tuple[bool, str]:
    cfg = _read_yaml(folder / "config.yaml")
    task = str((cfg.get("task") or {}).get("type", ""))
    if task != "infill":
        return False, f"trained for task '{task or '?'}', not infill"
    from pixelzoo.engine.build import find_weights

    try:
        find_weights(folder)  # the builder's own rule for which weights a folder stands for
    except PixelzooError:
        return False, "no weights yet"
    return True, ""


def discover_runs(root: Path) -> tuple[list[Path], list[str]]:
    """Infill run folders under `root` (`root/<recipe>/<timestamp>/`), newest first, and a note
    for each folder passed over."""
    found: list[Path] = []
    notes: list[str] = []
    if not root.is_dir():
        return found, notes
    for cfg in sorted(root.glob("*/*/config.yaml"), reverse=True):
        ok, why = _is_infill_run(cfg.parent)
        if ok:
            found.append(cfg.parent)
        else:
            notes.append(f"{cfg.parent}: skipped ({why})")
    return found, notes


def resolve_sources(sources: Iterable[str]) -> list[Entry]:
    """Check each SOURCE (shipped weights name, run folder or weights file) now, before the
    server starts; a bad one, or one not trained for infill, is a `PixelzooError` naming it."""
    from pixelzoo.engine.build import resolve_weights

    entries: list[Entry] = []
    seen: set[str] = set()
    for source in sources:
        found = resolve_weights(source, task="infill")
        path = Path(source)
        if path.is_dir():
            key, kind, folder = path.as_posix().rstrip("/"), "run folder", path
        elif path.is_file():  # a weights file: its card comes from the run folder around it
            key, kind = path.as_posix(), "weights file"
            folder = next((d for d in (path.parent, path.parent.parent)
                           if (d / "config.yaml").is_file()), path.parent)
        else:
            key, kind, folder = str(found.tag or source), "shipped weights", found.file.parent
        if key in seen:
            continue
        seen.add(key)
        entries.append(Entry(key, source, kind, folder, read_card(folder, kind)))
    return entries


class ModelPool:
    """The models this server may load, by key; loads each once, on first use."""

    def __init__(self, entries: list[Entry], device: str = "cpu",
                 loader: Callable[[str, str], adapter.ServedModel] = adapter.load):
        self.entries = {e.key: e for e in entries}
        self.device = device
        self._loader = loader
        self._loaded: dict[str, adapter.ServedModel] = {}
        self._locks = {key: threading.Lock() for key in self.entries}

    def keys(self) -> list[str]:
        return list(self.entries)

    def entry(self, key: str) -> Entry:
        """The entry for `key`; any other string is an `UnknownModel` (never a path)."""
        if not isinstance(key, str) or key not in self.entries:
            raise UnknownModel(f"this server does not serve a model named {key!r}; it serves "
                               f"{', '.join(self.entries) or 'nothing'}")
        return self.entries[key]

    def is_loaded(self, key: str) -> bool:
        return key in self._loaded

    def get(self, key: str) -> adapter.ServedModel:
        """The loaded model for `key` (loading it now if needed: call from a worker)."""
        entry = self.entry(key)
        served = self._loaded.get(key)
        if served is not None:
            return served
        with self._locks[key]:  # two first requests load the model once
            served = self._loaded.get(key)
            if served is None:
                served = self._loader(entry.source, self.device)
                self._loaded[key] = served
        return served


class Workers:
    """A thread pool with a cap on jobs at once (running plus waiting)."""

    def __init__(self, threads: int = 2, max_jobs: int = 4):
        self.threads = max(1, threads)
        self.max_jobs = max(self.threads, max_jobs)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="pixelzoo-serve")
        self._slots = threading.BoundedSemaphore(self.max_jobs)
        self._lock = threading.Lock()
        self.active = 0
        self.stopping = threading.Event()  # set on shutdown: long jobs check it and stop

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        """Run `fn` on a worker; `Busy` at once if every slot is taken. The slot is freed when
        `fn` ends, even if whoever waits for it has gone."""
        if self.stopping.is_set():
            raise Busy("the server is shutting down")
        if not self._slots.acquire(blocking=False):
            raise Busy(f"the server is busy ({self.max_jobs} fills at once); try again in a "
                       "moment")
        with self._lock:
            self.active += 1

        def run() -> T:
            try:
                return fn()
            finally:
                with self._lock:
                    self.active -= 1
                self._slots.release()

        try:
            return self._pool.submit(run)
        except RuntimeError:  # the pool was shut down between the check and here
            with self._lock:
                self.active -= 1
            self._slots.release()
            raise Busy("the server is shutting down") from None

    def shutdown(self) -> None:
        self.stopping.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
