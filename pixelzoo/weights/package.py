"""Turn a finished training run into a shipped weights folder (`pixelzoo/weights/<tag>/`).

    python -m pixelzoo.weights.package RUN_DIR --tag toon_infill --scores SCORE_RUN_DIR \
        --recipe recipes/toon_infill.yaml --hardware "CPU only, 2 shared vCPUs, one torch thread" \
        --fill-decoding fused

It writes `model.safetensors` (the run's best checkpoint, else its last), `config.yaml` (the
run's resolved recipe) and `meta.json`: the file's sha256, architecture and parameter count read
from the file itself, the preprocessing, how long and on what it trained (the run's
`summary.json`), and the metrics of the evaluation run given with `--scores` (a recipe run with
`train.epochs: 0` on the weights, e.g. `recipes/levers/score.yaml`): its test split's values and
those of each of its `eval.datasets`, each with the dataset, split and image count it was
measured on, every metric keyed SET/DECODING/METRIC. The card (`card.md`) is written by people
and is only checked for here. A maintainer's tool: nothing at run time imports it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

from pixelzoo.errors import PixelzooError
from pixelzoo.tasks.infill_config import DECODINGS
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


def _named(key: str, first: str | None) -> str:
    """'demo_hole/psnr' (the first decoding's key) -> 'demo_hole/mean/psnr'; others as they are."""
    parts = key.split("/")
    return "/".join([parts[0], first, parts[1]]) if first and len(parts) == 2 else key


def _decodings_named(values: dict[str, Any], first: str | None) -> dict[str, Any]:
    # a record read without its run's config cannot tell which decoding `SET/METRIC` was
    return {_named(k, first): v for k, v in values.items()}


def metrics_record(scores: Path) -> dict[str, Any]:
    """The `metrics` section from an evaluation run's summary.json and resolved recipe."""
    summary = _json(scores / "summary.json")
    import yaml

    recipe = yaml.safe_load((scores / "config.yaml").read_text(encoding="utf-8")) or {}
    ev = recipe.get("eval") or {}
    values = summary.get("final_metrics") or {}
    if not values:
        raise PixelzooError(f"{scores}/summary.json: no final_metrics; is it a finished run?")
    decodings = ((recipe.get("task") or {}).get("eval") or {}).get("decodings") or []
    first = decodings[0] if decodings else None
    out: dict[str, Any] = {
        "dataset": {k: recipe["dataset"][k] for k in ("type", "count", "seed", "style")
                    if k in recipe.get("dataset", {})},
        "split": summary.get("final_split"), "images": int(ev.get("limit") or 0) or None,
        "eval_seed": ev.get("seed"),
        "note": "metrics on the holes (pixelzoo/metrics.py), keyed SET/DECODING/METRIC; the "
                "tables of card.md",
        "primary": _named((summary.get("best_metric") or {}).get("name") or "", first),
        "values": _rounded(_decodings_named(values, first)),
    }
    out["out_of_distribution"] = {
        label: {"dataset": {k: d["dataset"][k] for k in ("type", "count", "seed")
                            if k in d["dataset"]},
                "split": d.get("split"), "images": d.get("images"),
                "values": _rounded(_decodings_named(d.get("metrics") or {}, first))}
        for label, d in (summary.get("datasets") or {}).items()}
    return out


def package(run: Path, tag: str, *, scores: Path, recipe: str, hardware: str,
            dest: Path | None = None, fill_decoding: str | None = None) -> Path:
    """Write the weights folder for `run` (see the module docs); returns the folder.

    `fill_decoding` replaces the run's `task.fill_decoding` in the shipped config, with the
    evaluation run's `task.fused` settings beside it (a decoding chosen after training, on
    validation splits, e.g. with recipes/levers/sigma.yaml).
    """
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
    trained_with = (config.get("task") or {}).get("fill_decoding")
    if fill_decoding:
        scored = yaml.safe_load((scores / "config.yaml").read_text(encoding="utf-8")) or {}
        config["task"]["fill_decoding"] = fill_decoding
        if "fused" in (scored.get("task") or {}):
            config["task"]["fused"] = scored["task"]["fused"]
        (folder / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False),
                                            encoding="utf-8")
    else:
        shutil.copyfile(run / "config.yaml", folder / "config.yaml")
    info = ModelInfo(arch["model"]["type"], arch["model"], arch["channels"], arch["height"],
                     arch["width"], recipe=config)
    task = config.get("task") or {}
    metrics = metrics_record(scores)
    if fill_decoding:  # the headline metric is the decoding the weights fill with
        parts = metrics["primary"].split("/")
        if len(parts) == 3 and f"{parts[0]}/{fill_decoding}/{parts[2]}" in metrics["values"]:
            metrics["primary"] = f"{parts[0]}/{fill_decoding}/{parts[2]}"
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
        "metrics": metrics,
        **({"fill_decoding_note": f"the run named {trained_with}; {fill_decoding} was chosen "
                                  "after training, on validation splits"}
           if fill_decoding and fill_decoding != trained_with else {}),
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
    p.add_argument("--fill-decoding", choices=DECODINGS,
                   help="the decoding `pixelzoo infill` uses, when it was chosen after training "
                        "(default: the run's)")
    a = p.parse_args(argv)
    try:
        folder = package(a.run, a.tag, scores=a.scores, recipe=a.recipe, hardware=a.hardware,
                         dest=a.dest, fill_decoding=a.fill_decoding)
    except PixelzooError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {folder}; write or update its card.md by hand")
    return 0


if __name__ == "__main__":
    sys.exit(main())
