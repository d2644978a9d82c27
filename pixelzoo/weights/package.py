"""Turn a finished training run into a shipped weights folder (`pixelzoo/weights/<tag>/`).

    python -m pixelzoo.weights.package RUN_DIR --tag toon_infill --scores SCORE_RUN_DIR \
        --recipe recipes/toon_infill.yaml --hardware "CPU only, 2 shared vCPUs, one torch thread"

It writes `model.safetensors` (the run's best checkpoint, else its last), `config.yaml` (the
run's resolved recipe) and `meta.json`: the file's sha256, architecture and parameter count read
from the file itself, the preprocessing, how long and on what it trained (the run's
`summary.json`), and the metrics of the evaluation run given with `--scores` (a recipe run with
`train.epochs: 0` on the weights, e.g. `recipes/levers/score.yaml`): its test split's values and
those of each of its `eval.datasets`, each with the dataset, split and image count it was
measured on. The card (`card.md`) is written by people and is only checked for here. This is a
maintainer's tool: nothing at run time imports it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from pixelzoo.errors import PixelzooError
from pixelzoo.weights import ROOT, file_sha256


def _json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise PixelzooError(f"{path}: unreadable ({exc})") from None


def _checkpoint(run: Path) -> Path:
    for name in ("best.safetensors", "last.safetensors"):
        if (run / "checkpoints" / name).is_file():
            return run / "checkpoints" / name
    raise PixelzooError(f"{run}: no checkpoints/best.safetensors or last.safetensors; is it a "
                        "finished run folder?")


def _rounded(values: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 3 if k.endswith(("ssim", "accuracy", "nll_bits")) else 2)
            for k, v in values.items() if v is not None}


def metrics_record(scores: Path) -> dict[str, Any]:
    """The `metrics` section from an evaluation run's summary.json and resolved recipe."""
    summary = _json(scores / "summary.json")
    import yaml

    recipe = yaml.safe_load((scores / "config.yaml").read_text(encoding="utf-8")) or {}
    ev = recipe.get("eval") or {}
    values = summary.get("final_metrics") or {}
    if not values:
        raise PixelzooError(f"{scores}/summary.json: no final_metrics; is it a finished run?")
    out: dict[str, Any] = {
        "dataset": {k: recipe["dataset"][k] for k in ("type", "count", "seed", "style")
                    if k in recipe.get("dataset", {})},
        "split": summary.get("final_split"), "images": int(ev.get("limit") or 0) or None,
        "eval_seed": ev.get("seed"),
        "note": "metrics on the holes (pixelzoo/metrics.py); the tables of card.md",
        "primary": (summary.get("best_metric") or {}).get("name"),
        "values": _rounded(values),
    }
    out["out_of_distribution"] = {
        label: {"dataset": {k: d["dataset"][k] for k in ("type", "count", "seed")
                            if k in d["dataset"]},
                "split": d.get("split"), "images": d.get("images"),
                "values": _rounded(d.get("metrics") or {})}
        for label, d in (summary.get("datasets") or {}).items()}
    return out


def package(run: Path, tag: str, *, scores: Path, recipe: str, hardware: str,
            dest: Path | None = None) -> Path:
    """Write the weights folder for `run` (see the module docs); returns the folder."""
    from pixelzoo.engine.build import ModelInfo
    from pixelzoo.engine.checkpoint import read_weights

    import yaml

    source = _checkpoint(run)
    summary = _json(run / "summary.json")
    config = yaml.safe_load((run / "config.yaml").read_text(encoding="utf-8")) or {}
    state, arch = read_weights(source)
    if arch is None:
        raise PixelzooError(f"{source}: no architecture in its metadata")
    folder = dest or ROOT / tag
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / "model.safetensors")
    shutil.copyfile(run / "config.yaml", folder / "config.yaml")
    info = ModelInfo(arch["model"]["type"], arch["model"], arch["channels"], arch["height"],
                     arch["width"], recipe=config)
    task = config.get("task") or {}
    meta = {
        "tag": tag, "name": f"{arch['model']['type']}.{tag}", "file": "model.safetensors",
        "sha256": file_sha256(folder / "model.safetensors"), "task": task.get("type"),
        "architecture": arch,
        "input": {"channels": arch["channels"], "height": arch["height"],
                  "width": arch["width"],
                  "preprocessing": {"colour": "RGB" if arch["channels"] == 3 else "gray",
                                    "crop": info.preprocessing["crop"], "resize": "area",
                                    "size": info.preprocessing["size"]}},
        "parameters": sum(t.numel() for t in state.values()), "dtype": "float32",
        "fill_decoding": task.get("fill_decoding"), "recipe": recipe,
        "config": "config.yaml", "card": "card.md",
        "training": {
            "dataset": (config.get("dataset") or {}).get("type"),
            "steps": summary.get("steps"), "images_seen": summary.get("images_seen"),
            "minutes": round(float(summary.get("train_seconds") or 0) / 60, 1),
            "hardware": hardware, "torch": summary.get("torch"),
            "callbacks": summary.get("callbacks"),
        },
        "metrics": metrics_record(scores),
        "pixelzoo_version": _version(),
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return folder


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pixelzoo")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m pixelzoo.weights.package",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("run", type=Path, help="the finished training run folder")
    p.add_argument("--tag", required=True, help="the weights' tag, e.g. toon_infill")
    p.add_argument("--scores", type=Path, required=True,
                   help="the evaluation run (train.epochs: 0) whose metrics go into meta.json")
    p.add_argument("--recipe", required=True, help="the recipe, relative to the project root")
    p.add_argument("--hardware", required=True, help="where it trained, in words")
    p.add_argument("--dest", type=Path, help="the folder to write (default: the package's)")
    a = p.parse_args(argv)
    try:
        folder = package(a.run, a.tag, scores=a.scores, recipe=a.recipe, hardware=a.hardware,
                         dest=a.dest)
    except PixelzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {folder}; write or update its card.md by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
