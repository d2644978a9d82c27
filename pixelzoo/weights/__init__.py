"""Trained weights shipped inside the package: each one a tagged part with a metadata record.

Each sub-folder of this package is one set of weights, its folder name the tag (`toon_infill`;
the timm-style `ARCH.TAG`, `rowrnn.toon_infill`, names the same weights):

- `model.safetensors`: fp32 weights, the architecture in the safetensors metadata;
- `meta.json`: the record, in the spirit of torchvision's `Weights.meta`: the file's sha256,
  the architecture, the input size and preprocessing, the parameter count, the metrics with the
  dataset, split and number of images they were measured on, the recipe, and the pixelzoo
  version. The hash is checked every time the weights are loaded (`Weights.verify`);
- `config.yaml`: the resolved recipe the weights were trained with;
- `card.md`: how they were trained (hardware, time) and how they score, for people.

This module reads records, lists them, checks hashes and resolves a recipe's
`model: {weights: TAG}` into the model section the weights fit (`model_spec`). Building a model
from weights is `pixelzoo.engine.build.create_model`'s job, not this module's. Nothing here
imports torch, so `pixelzoo list weights` answers at once.

Adding weights: a new folder with the four files above; its `meta.json` follows
`toon_infill/meta.json`, with `sha256`, `parameters` and `architecture` taken from the file
itself and the metrics copied from the evaluation that measured them (a metric that was not
measured is left out). `tests/test_weights.py` checks each record against its file.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixelzoo.errors import CheckpointError

ROOT = Path(__file__).resolve().parent
FILES = ("model.safetensors", "meta.json", "config.yaml", "card.md")


class WeightsError(CheckpointError):
    """Shipped weights that are unknown, damaged, or do not fit what was asked of them."""


# ------------------------------------------------------------------------------ records
@dataclass(frozen=True)
class Weights:
    """One shipped set of weights: its tag, folder and metadata record (`meta.json`)."""

    tag: str
    folder: Path
    meta: dict[str, Any]

    @property
    def name(self) -> str:
        """The timm-style `ARCH.TAG` name."""
        return str(self.meta.get("name") or f"{self.model_spec.get('type', '?')}.{self.tag}")

    @property
    def file(self) -> Path:
        return self.folder / str(self.meta.get("file") or "model.safetensors")

    @property
    def config_path(self) -> Path:
        return self.folder / "config.yaml"

    @property
    def sha256(self) -> str:
        return str(self.meta.get("sha256") or "")

    @property
    def task(self) -> str:
        return str(self.meta.get("task") or "")

    @property
    def architecture(self) -> dict[str, Any]:
        """What the weights fit: the model section plus the image geometry."""
        return copy.deepcopy(self.meta.get("architecture") or {})

    @property
    def model_spec(self) -> dict[str, Any]:
        return copy.deepcopy((self.meta.get("architecture") or {}).get("model") or {})

    @property
    def parameters(self) -> int | None:
        value = self.meta.get("parameters")
        return int(value) if value is not None else None

    @property
    def metrics(self) -> dict[str, float]:
        return dict((self.meta.get("metrics") or {}).get("values") or {})

    def config(self) -> dict[str, Any]:
        """The resolved recipe the weights were trained with (`config.yaml`)."""
        import yaml

        try:
            data = yaml.safe_load(self.config_path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise WeightsError(f"{self.config_path}: unreadable recipe of the shipped weights "
                               f"'{self.tag}': {exc}") from None
        if not isinstance(data, dict):
            raise WeightsError(f"{self.config_path}: not a recipe")
        return data

    def verify(self) -> Path:
        """The weights file, after checking its sha256 against the record; else a WeightsError."""
        path = self.file
        if not path.is_file():
            raise WeightsError(f"{path}: the shipped weights '{self.tag}' have no weights file")
        if not self.sha256:
            raise WeightsError(f"{self.folder / 'meta.json'}: no sha256 recorded, so the weights "
                               "cannot be checked")
        found = file_sha256(path)
        if found != self.sha256:
            raise WeightsError(f"{path}: sha256 mismatch for the shipped weights '{self.tag}': "
                               f"expected {self.sha256}, found {found}; the file was damaged or "
                               "replaced (reinstall pixelzoo)")
        return path


_HASHES: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """The file's sha256 in hex, remembered while its size and modification time stay."""
    path = Path(path)
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def _folders() -> list[Path]:
    return sorted(p for p in ROOT.iterdir()
                  if p.is_dir() and (p / "model.safetensors").is_file()
                  and (p / "config.yaml").is_file())


def _read_meta(folder: Path) -> dict[str, Any]:
    path = folder / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: the shipped weights '{folder.name}' have no metadata "
                           "record") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: unreadable metadata record: {exc}") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: the metadata record must be a JSON object")
    return meta


def names() -> list[str]:
    """The shipped tags."""
    return [p.name for p in _folders()]


def _tag_of(name: str) -> str | None:
    """`toon_infill` or `rowrnn.toon_infill` -> `toon_infill`; None if neither is shipped."""
    known = names()
    if name in known:
        return name
    arch, _, tag = name.rpartition(".")
    if arch and tag in known:
        spec_type = (_read_meta(ROOT / tag).get("architecture") or {}).get("model", {}).get("type")
        if spec_type == arch:
            return tag
    return None


def is_weights_name(name: str) -> bool:
    return _tag_of(str(name)) is not None


def suggest(name: str) -> str | None:
    """The shipped tag nearest to `name` (its tag part, for `ARCH.TAG`), or None."""
    close = difflib.get_close_matches(name.rpartition(".")[2] or name, names(), n=1)
    return close[0] if close else None


def unknown_message(name: str) -> str:
    """`no shipped weights named 'x'; did you mean 'y'? Shipped: ...`."""
    known = names()
    close = suggest(name)
    hint = f"; did you mean '{close}'?" if close else ""
    return (f"no shipped weights named '{name}'{hint} Shipped: "
            f"{', '.join(known) if known else '(none)'}.")


def get(name: str) -> Weights:
    """The shipped weights `name` (a tag or `ARCH.TAG`); unknown -> WeightsError, did-you-mean."""
    tag = _tag_of(str(name))
    if tag is None:
        raise WeightsError(unknown_message(str(name)))
    return Weights(tag, ROOT / tag, _read_meta(ROOT / tag))


def resolve(name: str) -> Path:
    """The folder of the shipped weights `name` (holding model.safetensors, config.yaml, ...).

    An unknown name raises a `PixelzooError` listing the shipped names.
    """
    return get(name).folder


def _description(card: Path) -> str:
    """The card's first plain paragraph line (headings and blank lines skipped)."""
    if not card.is_file():
        return ""
    for line in card.read_text(encoding="utf-8").splitlines():
        text = line.strip()
        if text and not text.startswith(("#", "<!--", "|", "-", ">")):
            return text
    return ""


def describe_architecture(spec: dict[str, Any]) -> str:
    """`rowrnn: 4 directions, embed 16, hidden 32, 1 layer, linear_add, independent`."""
    def part(v: Any) -> str:
        return str(v.get("type")) if isinstance(v, dict) else str(v)

    bits = []
    if "directions" in spec:
        bits.append(f"{spec['directions']} direction{'s' if spec['directions'] != 1 else ''}")
    for key in ("embed", "hidden"):
        if key in spec:
            bits.append(f"{key} {spec[key]}")
    if "layers" in spec:
        bits.append(f"{spec['layers']} layer{'s' if spec['layers'] != 1 else ''}")
    bits += [part(spec[k]) for k in ("combiner", "decoder") if spec.get(k) is not None]
    return f"{spec.get('type', '?')}: " + ", ".join(bits) if bits else str(spec.get("type", "?"))


def list_weights() -> list[dict[str, Any]]:
    """One JSON-ready dict per shipped weights: the record plus name, task, dataset, description.

    Keys: `name` (the tag), `arch_name` (`ARCH.TAG`), `task`, `dataset`, `description`, `path`,
    `sha256`, `architecture` (the model section), `input` (channels, height, width,
    preprocessing), `parameters`, `metrics` (name -> value), `metrics_on` (dataset, split,
    images the metrics were measured on), `primary_metric`, `recipe`, `pixelzoo_version`.
    """
    import yaml

    out = []
    for folder in _folders():
        cfg = yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8")) or {}
        meta = _read_meta(folder)
        measured = dict(meta.get("metrics") or {})
        out.append({
            "name": folder.name,
            "arch_name": str(meta.get("name") or folder.name),
            "task": str((cfg.get("task") or {}).get("type", "")),
            "dataset": str((cfg.get("dataset") or {}).get("type", "")),
            "description": _description(folder / "card.md"),
            "path": str(folder),
            "sha256": str(meta.get("sha256") or ""),
            "architecture": (meta.get("architecture") or {}).get("model") or {},
            "input": meta.get("input") or {},
            "parameters": meta.get("parameters"),
            "metrics": dict(measured.get("values") or {}),
            "metrics_on": {k: measured[k] for k in ("dataset", "split", "images", "eval_seed")
                           if k in measured},
            "primary_metric": measured.get("primary"),
            "fill_decoding": meta.get("fill_decoding"),
            "recipe": meta.get("recipe"),
            "pixelzoo_version": meta.get("pixelzoo_version"),
        })
    return out


# ------------------------------------------------------------------------------ recipes
def _as_spec(value: Any, other: Any) -> Any:
    """A bare part name meeting a mapping is the `{type: NAME}` it stands for."""
    return {"type": value} if isinstance(value, str) and isinstance(other, dict) else value


def conflicts(given: dict[str, Any], recorded: dict[str, Any],
              prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any, Any]]:
    """(key path, given, recorded) for every given value that differs from the weights' own.

    Keys the record does not have are not conflicts: they are left to the part's `Config`, which
    reports an unknown one (with a did-you-mean) or fills a default added since training.
    """
    out = []
    for key, value in given.items():
        if key not in recorded:
            continue
        have, want = _as_spec(value, recorded[key]), _as_spec(recorded[key], value)
        if isinstance(have, dict) and isinstance(want, dict) and \
                have.get("type", want.get("type")) == want.get("type"):
            out += conflicts(have, want, (*prefix, key))
        elif json.dumps(have, sort_keys=True, default=str) != \
                json.dumps(want, sort_keys=True, default=str):
            out.append(((*prefix, key), value, recorded[key]))
    return out


def model_spec(section: dict[str, Any]) -> tuple[Weights, dict[str, Any],
                                                 list[tuple[tuple[str, ...], Any, Any]]]:
    """A recipe's `model: {weights: TAG, **given}` -> (weights, the model section, conflicts).

    The section is the weights' own model spec with the given keys laid over it; each given value
    that differs from the weights' is a conflict (the weights would not fit), returned for the
    caller to report with its recipe path. `type`, when given, must match as well.
    """
    weights = get(str(section["weights"]))
    given = {k: v for k, v in section.items() if k != "weights"}
    recorded = weights.model_spec
    return weights, overlay(recorded, given), conflicts(given, recorded)


def overlay(recorded: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The recorded spec with the given keys it lacks added (at any depth), so that the part's
    `Config` sees, and reports, an unknown one."""
    out = copy.deepcopy(recorded)
    for key, value in given.items():
        if key not in out:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(out[key], dict):
            out[key] = overlay(out[key], value)
    return out


# ------------------------------------------------------------------------------ display
def _metric_lines(metrics: dict[str, Any]) -> list[str]:
    """`demo_hole/mean/psnr: 18.08, ...` grouped by everything before the metric's own name."""
    groups: dict[str, list[str]] = {}
    for key, value in metrics.items():
        head, _, metric = key.rpartition("/")
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        groups.setdefault(head or "-", []).append(f"{metric} {shown}")
    return [f"{head}: {', '.join(items)}" for head, items in groups.items()]


def tables(records: list[dict[str, Any]] | None = None) -> list[Any]:
    """Rich tables of the shipped weights' records (`pixelzoo list weights`): one per weights."""
    from rich.table import Table

    out = []
    for w in list_weights() if records is None else records:
        table = Table(title=f"shipped weights: {w['name']}", show_header=False,
                      title_justify="left")
        table.add_column("field", style="bold", no_wrap=True)
        table.add_column("value", overflow="fold")
        inp = w.get("input") or {}
        pre = inp.get("preprocessing") or {}
        on = w.get("metrics_on") or {}
        dataset = on.get("dataset")
        dataset = dataset.get("type") if isinstance(dataset, dict) else dataset
        rows = [
            ("tag", f"{w['name']} (also {w['arch_name']})" if w.get("arch_name") not in
             (None, w["name"]) else w["name"]),
            ("task", w.get("task", "")),
            ("architecture", describe_architecture(w.get("architecture") or {})),
            ("input", f"{inp.get('channels', '?')}x{inp.get('height', '?')}x"
                      f"{inp.get('width', '?')}" + (
                          f" ({', '.join(f'{k} {v}' for k, v in pre.items())})" if pre else "")),
            ("parameters", f"{w['parameters']:,}" if w.get("parameters") is not None else "?"),
            ("sha256", w.get("sha256", "")),
            ("metrics on", ", ".join(str(x) for x in (
                dataset, f"{on['split']} split" if "split" in on else None,
                f"{on['images']} images" if "images" in on else None,
                f"eval seed {on['eval_seed']}" if "eval_seed" in on else None) if x)),
            ("metrics", "\n".join(_metric_lines(w.get("metrics") or {}))),
            ("fills with", str(w.get("fill_decoding") or "")),
            ("recipe", str(w.get("recipe") or "")),
            ("pixelzoo", str(w.get("pixelzoo_version") or "")),
            ("about", w.get("description", "")),
        ]
        for name, value in rows:
            if value:
                table.add_row(name, value)
        out.append(table)
    return out
