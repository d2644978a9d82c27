"""What an infill comparison adds to the table: the classic baseline rows and the picture grid.

Baseline rows come from the first run's `summary.json` (`infill_table`, written by the infill
task on the final split, the same images and holes the runs' metrics use). A run from before that
table existed gets them computed here instead, with `pixelzoo.baselines.inpaint` and the same
`pixelzoo.metrics.hole_metrics` on the task's own evaluation sets. A baseline has no decoding, so
its numbers stand under every decoding's column of a mask set (`demo_hole/psnr` and
`demo_hole/mean/psnr` alike), and it has no NLL. Each row names the library behind the method
(TELEA and NS are OpenCV's, biharmonic scikit-image's). Runs with extra evaluation datasets
(`eval.datasets`) recorded their baselines on those too: those rows fill the `LABEL:SET/...`
columns.

The grid loads each run's best weights (its last when no best was kept; the shipped weights a
run only evaluated) through `pixelzoo.engine.build.create_model`, and fills the same first
images of every evaluation set (of the own split) greedily with every run, beside the baselines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.baselines import LIBRARIES
from pixelzoo.baselines import METHODS as BASELINES


def baseline_label(method: str) -> str:
    """A baseline's row label with the library it comes from: 'TELEA (OpenCV)',
    'biharmonic (scikit-image)'; `method` is its table label (or its recipe name)."""
    key = next((k for k, label in BASELINES.items() if method in (label, k)), None)
    return f"{method} ({LIBRARIES[key]})" if key in LIBRARIES else method


def split_metric(key: str) -> tuple[str, str]:
    """'demo_hole/mean/psnr' -> ('demo_hole', 'psnr')."""
    parts = key.split("/")
    return parts[0], parts[-1]


class InfillExtras:
    """Baseline rows and the grid for a list of finished infill runs (see module docs)."""

    def __init__(self, records: list[Any], console: Any = None):
        self.records = records
        self.console = console
        self._parts: tuple[Any, Any] | None = None

    # ------------------------------------------------------------------ shared set-up
    def _recipe(self, record: Any) -> Any:
        from pixelzoo.recipe import recipe_from_dict

        return recipe_from_dict(record.config, name=record.label)

    def task(self) -> Any:
        """The first run's task on its data (the runs share data and eval sets)."""
        if self._parts is None:
            from pixelzoo.engine.build import build_data, build_mask, build_task

            recipe = self._recipe(self.records[0])
            data = build_data(recipe)
            task = build_task(recipe, data, build_mask(recipe.data.get("mask"), data))
            self._parts = (recipe, task)
        return self._parts[1]

    def final_split(self) -> str:
        return str(self.records[0].summary.get("final_split") or "test")

    # ------------------------------------------------------------------ baseline rows
    def baseline_table(self) -> list[dict[str, Any]]:
        """Rows {mask_set, method, kind: baseline, metrics...}, recorded or computed; then the
        extra evaluation datasets' recorded rows, their mask sets named `LABEL:SET`."""
        from pixelzoo.schema import DATASET_SEP

        rows = []
        for r in self.records:
            rows = [row for row in r.summary.get("infill_table") or []
                    if row.get("kind") == "baseline"]
            if rows:
                break
        rows = rows or self._computed_baselines()
        for r in self.records[:1]:  # the runs share their datasets (compare checks it)
            for label, entry in (r.summary.get("datasets") or {}).items():
                rows += [{**row, "mask_set": f"{label}{DATASET_SEP}{row.get('mask_set')}"}
                         for row in (entry or {}).get("infill_table") or []
                         if row.get("kind") == "baseline"]
        return rows

    def _computed_baselines(self) -> list[dict[str, Any]]:
        from pixelzoo.baselines import inpaint
        from pixelzoo.metrics import hole_metrics

        rows = []
        task = self.task()
        for name, (images, masks) in task.eval_sets(self.final_split()).items():
            for method in task.baselines:  # the run's own choice of baselines
                label = BASELINES[method]
                m = hole_metrics(images, inpaint(images, masks, method), masks)
                rows.append({"mask_set": name, "method": label, "kind": "baseline", **m})
        return rows

    def baseline_rows(self, metric_names: list[str]) -> list[dict[str, Any]]:
        """One comparison row per baseline, its values under each matching metric column."""
        by_method: dict[str, dict[str, Any]] = {}
        for row in self.baseline_table():
            method = str(row["method"])
            out = by_method.setdefault(method, {"recipe": baseline_label(method),
                                                "kind": "baseline"})
            for key in metric_names:
                mask_set, metric = split_metric(key)
                value = row.get(metric)
                if mask_set == row.get("mask_set") and value is not None:
                    out[key] = value
        return list(by_method.values())

    # ------------------------------------------------------------------ what compare asks for
    def rows(self, metric_names: list[str]) -> list[dict[str, Any]]:
        """The extra table rows (`Task.compare_extras`): one per baseline."""
        return self.baseline_rows(metric_names)

    def pictures(self, out_dir: Path, records: list[Any], per_set: int = 2) -> dict[str, Path]:
        """The extra files (`Task.compare_extras`): the infill grid of `records` (one per run
        folder), unless `per_set` is 0."""
        if per_set <= 0:
            return {}
        self.records = records
        grid = self.grid(Path(out_dir) / "infill_grid.png", per_set=per_set)
        return {} if grid is None else {"grid": grid}

    # ------------------------------------------------------------------ picture grid
    def grid(self, path: Path, per_set: int = 2) -> Path | None:
        """Fill the first `per_set` images of each eval set with every run and baseline."""
        from pixelzoo.baselines import inpaint
        from pixelzoo.engine.build import create_model
        from pixelzoo.engine.device import pick_device
        from pixelzoo.report.grid import infill_grid

        task = self.task()
        sets = task.eval_sets(self.final_split())
        images, masks, labels = [], [], []
        for name, (imgs, holes) in sets.items():
            k = min(per_set, len(imgs))
            images.append(imgs[:k])
            masks.append(holes[:k])
            labels += [name] * k
        if not labels:
            return None
        originals, holes = np.concatenate(images), np.concatenate(masks)
        device = pick_device("auto")
        methods = []
        for record in self.records:
            # the one builder: the run's best weights (else its last; a run that only evaluated
            # shipped weights stands for those), on the fastest scan, in eval mode
            model = create_model(weights=record.path, device=device)
            methods.append((record.label, task.fill(model, originals, holes, device, "greedy")))
        for method in task.baselines:
            methods.append((BASELINES[method], inpaint(originals, holes, method)))
        return infill_grid(originals, holes, methods, path, row_labels=labels,
                           title=f"the same holes ({self.final_split()} split), filled by each "
                                 "recipe (greedy) and by the classic baselines")

