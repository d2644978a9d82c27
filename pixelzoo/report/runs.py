"""Finished run folders, read back for comparison, and the check that they are comparable.

A run folder (`runs/<recipe>/<timestamp>/`) holds the resolved `config.yaml`, `metrics.csv` and
`summary.json`; `read_run` loads all three into a `RunRecord`. Two runs are only comparable if they
were scored on the same images and the same holes, so `eval_set_differences` compares what decides
that: the resolved `dataset` section (source, size, limit, split seed), the `eval` keys that pick
the evaluation images (split, final split, limit, eval seed), the keys of the task's own section
that the task declares as deciding its evaluation set (`Task.eval_set_keys`: for infill,
`task.eval.masks`), the extra evaluation datasets (`eval.datasets`), and, when the task recorded
them, the per-mask-set `eval_fingerprint` hashes in `summary.json` (the extra datasets' too). The
training seed (top-level `seed`) is deliberately not part of it: it changes the model, not the
test. A run's `config.yaml` is read as the current code reads a recipe (old spellings rewritten,
defaults filled in where it still validates), so runs written before a key moved compare with new
ones.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pixelzoo.errors import PixelzooError

#: Core `eval` keys that decide which images a run is scored on (tasks add their own keys);
#: `datasets` (the extra evaluation datasets) too: runs are compared on the same ones.
EVAL_SET_KEYS = ("split", "final_split", "limit", "seed", "datasets")


@dataclass
class RunRecord:
    """One finished run: where it is and what it recorded."""

    path: Path
    config: dict[str, Any]
    summary: dict[str, Any]
    metrics: list[dict[str, Any]] = field(default_factory=list)
    label: str = ""

    def __post_init__(self) -> None:
        if not self.label:
            self.label = str(self.summary.get("recipe") or self.config.get("name")
                             or self.path.parent.name)

    @property
    def task(self) -> str:
        return str(self.summary.get("task") or self.config.get("task", {}).get("type", "?"))


def _is_run(path: Path) -> bool:
    return (path / "config.yaml").is_file()


def resolve_run_dir(path: str | Path) -> Path:
    """A run folder, or a recipe's folder of runs (its newest finished run is taken)."""
    p = Path(path)
    if not p.exists():
        raise PixelzooError(f"{p}: not found (expected a recipe .yaml file or a run folder)")
    if not p.is_dir():
        raise PixelzooError(f"{p}: not a run folder")
    if _is_run(p):
        return p
    finished = sorted(c for c in p.iterdir() if c.is_dir() and (c / "summary.json").is_file())
    if finished:
        return finished[-1]
    raise PixelzooError(f"{p}: not a run folder (no config.yaml) and holds no finished runs")


def read_run(path: str | Path) -> RunRecord:
    """Load a finished run; a run without `summary.json` did not finish and is refused."""
    from pixelzoo.engine.metrics_log import read_metrics

    p = resolve_run_dir(path)
    try:
        config = yaml.safe_load((p / "config.yaml").read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PixelzooError(f"{p / 'config.yaml'}: not valid YAML: {exc}") from None
    summary_path = p / "summary.json"
    if not summary_path.is_file():
        raise PixelzooError(f"{p}: the run has no summary.json, so it did not finish; resume it "
                            f"with `pixelzoo run RECIPE --resume {p}` or leave it out")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PixelzooError(f"{summary_path}: not valid JSON ({exc.msg}, line {exc.lineno})"
                            ) from None
    if not isinstance(config, dict) or not isinstance(summary, dict):
        raise PixelzooError(f"{p}: config.yaml and summary.json must each hold a mapping")
    return RunRecord(p, current_config(config), summary, read_metrics(p / "metrics.csv"))


def current_config(config: dict[str, Any]) -> dict[str, Any]:
    """A saved `config.yaml` as a recipe of today resolves it; as written (old spellings
    rewritten) when it no longer validates, e.g. a part's plugin is not installed here."""
    from pixelzoo.migrations import upgrade
    from pixelzoo.recipe import recipe_from_dict

    try:
        return recipe_from_dict(config, name="run").data
    except PixelzooError:
        return upgrade(config)[0]


# ------------------------------------------------------------------------------ comparability
def _flatten(node: Any, prefix: str) -> dict[str, Any]:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for k, v in node.items():
            out.update(_flatten(v, f"{prefix}.{k}"))
        return out
    return {prefix: node}


def eval_set_keys(config: dict[str, Any]) -> dict[str, Any]:
    """The dotted keys of a resolved recipe that decide its evaluation set, with their values."""
    from pixelzoo.tasks.base import task_class

    out = _flatten(config.get("dataset") or {}, "dataset")
    ev = config.get("eval") or {}
    for key in EVAL_SET_KEYS:
        out[f"eval.{key}"] = ev.get(key)
    out["eval.datasets"] = ev.get("datasets") or []  # a run from before the key: none
    task = config.get("task")
    if isinstance(task, dict) and isinstance(task.get("type"), str):
        for dotted in task_class(task["type"]).eval_set_keys:
            node: Any = task
            for part in dotted.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            out[f"task.{dotted}"] = node
    return out


def config_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """'key: A vs B' for each evaluation-set key on which two resolved recipes differ."""
    ka, kb = eval_set_keys(a), eval_set_keys(b)
    diffs = []
    for key in sorted(set(ka) | set(kb)):
        va, vb = ka.get(key, "(unset)"), kb.get(key, "(unset)")
        if va != vb:
            diffs.append(f"{key}: {_short(va)} vs {_short(vb)}")
    return diffs


def final_metrics(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary's final metrics: the own split's (`final_metrics`), then each extra evaluation
    dataset's (`datasets.<label>.metrics`) keyed `LABEL:METRIC` (`lineart:demo_hole/psnr`)."""
    from pixelzoo.schema import DATASET_SEP

    out = dict(summary.get("final_metrics") or {})
    for label, entry in (summary.get("datasets") or {}).items():
        for key, value in ((entry or {}).get("metrics") or {}).items():
            out[f"{label}{DATASET_SEP}{key}"] = value
    return out


def _fingerprints(summary: dict[str, Any]) -> Any:
    """`eval_fingerprint`, with each extra dataset's sets added as `LABEL:SET`."""
    from pixelzoo.schema import DATASET_SEP

    own = summary.get("eval_fingerprint")
    if not isinstance(own, dict):
        return own
    out = dict(own)
    for label, entry in (summary.get("datasets") or {}).items():
        for name, value in ((entry or {}).get("eval_fingerprint") or {}).items():
            out[f"{label}{DATASET_SEP}{name}"] = value
    return out


def fingerprint_differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Differences between two summaries' `eval_fingerprint`s (empty when either lacks one),
    the extra evaluation datasets' included."""
    fa, fb = _fingerprints(a), _fingerprints(b)
    if not fa or not fb:
        return []
    if not isinstance(fa, dict) or not isinstance(fb, dict):
        return [] if fa == fb else [f"eval_fingerprint: {_short(fa)} vs {_short(fb)}"]
    diffs = []
    for name in sorted(set(fa) | set(fb)):
        if name not in fa or name not in fb:
            where = "first" if name in fa else "second"
            diffs.append(f"eval set '{name}' exists only in the {where} run")
        elif fa[name] != fb[name]:
            diffs.append(f"eval set '{name}': fingerprint {_short(fa[name])} vs "
                         f"{_short(fb[name])}")
    return diffs


def _short(v: Any) -> str:
    text = json.dumps(v, sort_keys=True, default=str) if not isinstance(v, str) else v
    return text if len(text) <= 80 else text[:77] + "..."


def check_same_task(labels: list[str], tasks: list[str]) -> str:
    """The one task all items share; a clear error naming each item's task otherwise."""
    if len(set(tasks)) > 1:
        listing = ", ".join(f"{n} ({t})" for n, t in zip(labels, tasks, strict=True))
        raise PixelzooError("cannot compare different tasks in one table: " + listing
                            + "; compare each task's recipes separately")
    return tasks[0]


def check_comparable(labels: list[str], configs: list[dict[str, Any]],
                     summaries: list[dict[str, Any]] | None = None) -> None:
    """Refuse items whose evaluation sets differ, naming every differing key."""
    problems = []
    for i in range(1, len(configs)):
        diffs = config_differences(configs[0], configs[i])
        if summaries is not None:
            diffs += fingerprint_differences(summaries[0], summaries[i])
        if diffs:
            problems.append(f"{labels[0]} vs {labels[i]}:\n" + "\n".join(f"    {d}" for d in diffs))
    if problems:
        raise PixelzooError("these were not evaluated on the same images and holes, so their "
                            "metrics are not comparable:\n  " + "\n  ".join(problems))
