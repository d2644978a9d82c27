"""What an infill comparison adds to the table: the OpenCV baseline rows and the picture grid.

Baseline rows come from the first run's `summary.json` (`infill_table`, written by the infill
task on the final split, the same images and holes the runs' metrics use). A run from before that
table existed gets them computed here instead, with `pixelzoo.baselines.inpaint` and the same
`pixelzoo.metrics.hole_metrics` on the task's own evaluation sets. A baseline has no decoding, so
its numbers stand under every decoding's column of a mask set (`demo_hole/psnr` and
`demo_hole/mean/psnr` alike), and it has no NLL.

The grid loads each run's best weights (its last when no best was kept), rebuilt from the run's
own `config.yaml`, and fills the same first images of every evaluation set greedily with every
run, beside TELEA and NS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pixelzoo.baselines import METHODS as BASELINES

BASELINE_SUFFIX = " (OpenCV)"


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
        """Rows {mask_set, method, kind: baseline, metrics...}, recorded or computed."""
        for r in self.records:
            rows = [row for row in r.summary.get("infill_table") or []
                    if row.get("kind") == "baseline"]
            if rows:
                return rows
        return self._computed_baselines()

    def _computed_baselines(self) -> list[dict[str, Any]]:
        from pixelzoo.baselines import inpaint
        from pixelzoo.metrics import hole_metrics

        rows = []
        for name, (images, masks) in self.task().eval_sets(self.final_split()).items():
            for method, label in BASELINES.items():
                m = hole_metrics(images, inpaint(images, masks, method), masks)
                rows.append({"mask_set": name, "method": label, "kind": "baseline", **m})
        return rows

    def baseline_rows(self, metric_names: list[str]) -> list[dict[str, Any]]:
        """One comparison row per baseline, its values under each matching metric column."""
        by_method: dict[str, dict[str, Any]] = {}
        for row in self.baseline_table():
            method = str(row["method"])
            out = by_method.setdefault(method, {"recipe": method + BASELINE_SUFFIX,
                                                "kind": "baseline"})
            for key in metric_names:
                mask_set, metric = split_metric(key)
                value = row.get(metric)
                if mask_set == row.get("mask_set") and value is not None:
                    out[key] = value
        return list(by_method.values())

    # ------------------------------------------------------------------ picture grid
    def grid(self, path: Path, per_set: int = 2) -> Path | None:
        """Fill the first `per_set` images of each eval set with every run and baseline."""
        import torch

        from pixelzoo.baselines import inpaint
        from pixelzoo.engine.build import architecture, build_model
        from pixelzoo.engine.checkpoint import load_weights
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
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        from pixelzoo.models.wavefront import use_fastest_impl

        methods = []
        for record in self.records:
            recipe = self._recipe(record)
            model = build_model(recipe, task)
            ck = record.path / "checkpoints"
            weights = ck / "best.safetensors"
            if not weights.exists():
                weights = ck / "last.safetensors"
            load_weights(weights, model, architecture(recipe, model))
            model.to(device).eval()
            use_fastest_impl(model)
            methods.append((record.label, task.fill(model, originals, holes, device, "greedy")))
        for method, label in BASELINES.items():
            methods.append((label, inpaint(originals, holes, method)))
        return infill_grid(originals, holes, methods, path, row_labels=labels,
                           title=f"the same holes ({self.final_split()} split), filled by each "
                                 "recipe (greedy) and by OpenCV")

