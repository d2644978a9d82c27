"""A task from outside pixelzoo: one module plus its entry point, and no edit to the core.

The task below is defined only here. The test writes it into a throwaway distribution (a
`.dist-info` with a `pixelzoo.tasks` entry point, as `pip install` would leave it), puts that on
`sys.path`, and then drives it the way a user would: the conformance kit, `pixelzoo run` and
`pixelzoo compare` (through `pixelzoo.cli.main`, in this process). What the core needs to know
about the task (its sizes, its metrics, which way each is better, which one picks `best`, which
ones `compare` charts) it learns from the class.
"""

from __future__ import annotations

import csv
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from pixelzoo.cli import main
from pixelzoo.registry import registry_for

TASK_SOURCE = '''
"""`brightness`: is the image brighter than a threshold? A two-class task that needs no labels."""

from typing import Any

import torch
import torch.nn.functional as F
from pydantic import Field

from pixelzoo.tasks.base import Metric, Task, TaskConfig
from pixelzoo.tokens import add_start_tokens


class BrightnessConfig(TaskConfig):
    threshold: float = Field(127.5, ge=0, le=255, description="mean intensity that is bright")


class BrightnessTask(Task):
    """Two classes: dark (0) or bright (1), by the image's mean intensity."""

    Config = BrightnessConfig
    metrics = (
        Metric("error_rate", higher_is_better=False, primary=True, headline=True),
        Metric("nll", higher_is_better=False, description="cross-entropy in nats"),
    )

    @classmethod
    def sizes(cls, geometry, config):
        return {**super().sizes(geometry, config), "num_classes": 2}

    def _targets(self, images):
        return (images.float().mean(dim=(1, 2, 3)) > self.config.threshold).long()

    def capture_inputs(self, images, labels, rng):
        return add_start_tokens(images), self._targets(images)

    def capture_loss(self, model, *inputs):
        tokens, targets = inputs
        return F.cross_entropy(model(tokens).float(), targets)

    @torch.no_grad()
    def evaluate(self, model, split, device, batch_size=64) -> dict[str, Any]:
        wrong, nll, total = 0, 0.0, 0
        for start in range(0, len(split), batch_size):
            self.check_interrupt()
            images = torch.from_numpy(split.images[start:start + batch_size]).to(device)
            targets = self._targets(images)
            logits = model(add_start_tokens(images)).float()
            wrong += int((logits.argmax(-1) != targets).sum())
            nll += float(F.cross_entropy(logits, targets, reduction="sum"))
            total += len(targets)
        return {"error_rate": wrong / max(total, 1), "nll": nll / max(total, 1)}
'''

RECIPE = """\
dataset: {type: digits, limit: 64}
model: {type: rowrnn, embed: 4, hidden: 8, combiner: {type: linear_add}}
task: {type: brightness, threshold: 40}
train: {epochs: 2, batch_size: 16, num_threads: 1}
eval: {limit: 16}
"""


@pytest.fixture
def brightness(tmp_path: Path) -> Iterator[Path]:
    """An installed-looking distribution `pz-brightness` providing the task `brightness`."""
    site = tmp_path / "site"
    info = site / "pz_brightness-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pz-brightness\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[pixelzoo.tasks]\nbrightness = pz_brightness:BrightnessTask\n")
    (site / "pz_brightness.py").write_text(textwrap.dedent(TASK_SOURCE))
    tasks = registry_for("tasks")
    sys.path.insert(0, str(site))
    tasks.refresh()
    try:
        yield site
    finally:
        sys.path.remove(str(site))
        sys.modules.pop("pz_brightness", None)
        tasks.refresh()


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_a_task_from_a_plugin_runs_compares_and_conforms(brightness: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    from pixelzoo.testing import check_task

    assert registry_for("tasks").info("brightness").dist == "pz-brightness"
    check_task("brightness", {"threshold": 120})

    recipe = tmp_path / "bright.yaml"
    recipe.write_text(RECIPE)
    # the task's metric names are checked before anything runs
    assert main(["validate", str(recipe), "--set", "eval.metric=eror_rate"]) == 2
    err = capsys.readouterr().err
    assert "eval.metric: unknown metric 'eror_rate'; did you mean 'error_rate'?" in err
    assert "metrics of task 'brightness': error_rate, nll" in err

    runs = tmp_path / "runs"
    assert main(["run", str(recipe), "--out", str(runs), "-q"]) == 0
    (run,) = (runs / "bright").iterdir()
    summary = json.loads((run / "summary.json").read_text())
    # the primary metric and its direction come from the class's declaration
    assert summary["best_metric"]["name"] == "error_rate"
    assert summary["best_metric"]["mode"] == "min"
    assert (run / "checkpoints" / "best.safetensors").is_file()
    assert set(summary["final_metrics"]) == {"error_rate", "nll"}

    # compare a finished run beside a recipe trained here
    (tmp_path / "cat.yaml").write_text("extends: bright.yaml\nmodel: {combiner: concat}\n")
    out = tmp_path / "cmp"
    assert main(["compare", str(run), str(tmp_path / "cat.yaml"), "--out", str(runs),
                 "--compare-out", str(out), "-q"]) == 0
    (folder,) = out.iterdir()
    rows = _rows(folder / "compare.csv")
    assert [r["combiner"] for r in rows] == ["linear_add", "concat"]
    assert all(0.0 <= float(r["error_rate"]) <= 1.0 and float(r["nll"]) > 0 for r in rows)
    md = (folder / "compare.md").read_text()
    header = next(line for line in md.splitlines() if line.startswith("| recipe"))
    assert "| error_rate |" in header and "| nll |" in header
    # lower is better for both: each column has its best value marked
    assert md.count("\\*") >= 3
    assert (folder / "metrics.png").is_file()  # the headline metric's chart
    meta = json.loads((folder / "compare.json").read_text())
    assert meta["task"] == "brightness" and len(meta["trained_here"]) == 1
