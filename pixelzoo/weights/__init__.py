"""Trained weights shipped inside the package, like timm's pretrained tags but bundled.

Each sub-folder of this package is one set of weights, named by the folder: `model.safetensors`
(fp32, the architecture in its metadata), the resolved recipe it was trained with
(`config.yaml`), and a `card.md` saying how it was trained (recipe, hardware, time) and how it
scores. `pixelzoo list weights` lists them; `pixelzoo infill NAME ...` uses one by name.
Nothing here imports torch.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from pixelzoo.errors import PixelzooError

ROOT = Path(__file__).resolve().parent
FILES = ("model.safetensors", "config.yaml", "card.md")


def _folders() -> list[Path]:
    return sorted(p for p in ROOT.iterdir()
                  if p.is_dir() and (p / "model.safetensors").is_file()
                  and (p / "config.yaml").is_file())


def _description(card: Path) -> str:
    """The card's first plain paragraph line (headings and blank lines skipped)."""
    if not card.is_file():
        return ""
    for line in card.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith(("#", "<!--", "|", "-", ">")):
            return text
    return ""


def list_weights() -> list[dict[str, Any]]:
    """One dict per shipped weights: name, task, dataset, description, path."""
    import yaml

    out = []
    for folder in _folders():
        cfg = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")) or {}
        out.append({
            "name": folder.name,
            "task": str((cfg.get("task") or {}).get("type", "")),
            "dataset": str((cfg.get("dataset") or {}).get("type", "")),
            "description": _description(folder / "card.md"),
            "path": str(folder),
        })
    return out


def names() -> list[str]:
    return [p.name for p in _folders()]


def resolve(name: str) -> Path:
    """The folder of the shipped weights `name` (holding model.safetensors, config.yaml, card.md).

    An unknown name raises a `PixelzooError` listing the shipped names.
    """
    known = names()
    if name in known:
        return ROOT / name
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    raise PixelzooError(f"no shipped weights named '{name}'{hint} Shipped: "
                        f"{', '.join(known) if known else '(none)'}.")
