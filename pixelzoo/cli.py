"""The `pixelzoo` command line.

Sub-commands: `run`, `validate`, `show`, `schema`, `list`, `doctor` (and, where installed, the
task-specific `infill` and `compare`). Every user-fixable problem is a `PixelzooError`: it is
printed as one clear report on stderr with exit status 2 and no traceback. Commands that only
read metadata (`list`, `validate` of the envelope) do not import torch, so they answer at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from pixelzoo import __version__
from pixelzoo.errors import PixelzooError


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


def _add_recipe_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("recipe", help="path to a YAML recipe")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe value, e.g. --set train.epochs=2 (repeatable)")


def _plugins(args: argparse.Namespace) -> None:
    names = (getattr(args, "plugin", None) or []) + (getattr(args, "plugin_sub", None) or [])
    if names:
        from pixelzoo.registry import allow_plugins

        allow_plugins(*names)


# ------------------------------------------------------------------------------ commands
def cmd_run(args: argparse.Namespace) -> int:
    from pixelzoo.recipe import load_recipe

    overrides = list(args.overrides)
    if args.keep is not None:  # after the --set values, so the flag wins
        overrides.append(f"train.keep={args.keep}")
    recipe = load_recipe(args.recipe, overrides)
    from pixelzoo.engine.trainer import train

    train(recipe, out_root=args.out, resume=args.resume, quiet=args.quiet)
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from pixelzoo.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    _console().print(f"[green]ok[/green]: {args.recipe} is a valid recipe ({recipe.name})")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from rich.syntax import Syntax

    from pixelzoo.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    con = _console()
    con.print(Syntax(recipe.to_yaml(), "yaml", theme="ansi_dark", background_color="default"))
    if not args.no_params:
        info = model_summary(recipe)
        con.print(f"# model: {info['describe']}")
        con.print(f"# parameters: {info['parameters']:,}")
    return 0


def model_summary(recipe: Any) -> dict[str, Any]:
    """Build the recipe's model on the dataset's geometry (without training) and count it."""
    from pixelzoo.engine.build import count_parameters
    from pixelzoo.recipe import build_part

    ds = build_part("datasets", recipe.data["dataset"])
    geo = ds.geometry()
    kwargs = {"channels": geo.channels, "height": geo.height, "width": geo.width,
              "num_classes": geo.num_classes if recipe.data["task"]["type"] == "classification"
              else None}
    model = build_part("models", recipe.data["model"], **kwargs)
    describe = model.describe() if hasattr(model, "describe") else {}
    return {"parameters": count_parameters(model), "describe": describe}


def cmd_schema(args: argparse.Namespace) -> int:
    import json

    if args.markdown:
        from pixelzoo.docgen import markdown

        print(markdown(), end="")
        return 0
    from pixelzoo.schema import Recipe

    print(json.dumps(Recipe.model_json_schema(), indent=2))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from rich.table import Table

    from pixelzoo.registry import REGISTRIES, registry_for

    if args.kind == "weights":
        from pixelzoo.weights import list_weights

        table = Table(title="shipped weights")
        for col in ("name", "task", "dataset", "description"):
            table.add_column(col)
        for w in list_weights():
            table.add_row(w["name"], w.get("task", ""), w.get("dataset", ""),
                          w.get("description", ""))
        _console().print(table)
        return 0
    regs = [registry_for(args.kind)] if args.kind else list(REGISTRIES.values())
    table = Table(title="pixelzoo parts" + (f" matching '{args.filter}'" if args.filter else ""))
    for col in ("kind", "name", "distribution", "version", "entry point"):
        table.add_column(col)
    for reg in regs:
        for info in reg.infos(args.filter):
            table.add_row(reg.singular, info.name, info.dist, info.version, info.target)
    _console().print(table)
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from rich.table import Table

    from pixelzoo.registry import REGISTRIES

    table = Table(title="pixelzoo doctor: every plugin loaded")
    for col in ("kind", "name", "distribution", "status"):
        table.add_column(col)
    messages: list[str] = []
    for reg in REGISTRIES.values():
        failed = {info.name: msg for info, msg in reg.load_all()}
        for info in reg.infos():
            if info.name in failed:
                messages.append(failed[info.name])  # each names its kind or group already
                table.add_row(reg.singular, info.name, info.dist, "[red]failed[/red]")
            else:
                table.add_row(reg.singular, info.name, info.dist, "[green]ok[/green]")
    con = _console()
    con.print(table)
    if messages:
        for msg in messages:  # full messages, unwrapped by the table
            print(f"x {msg}")
        con.print(f"[red]{len(messages)} plugin(s) failed to load[/red]; the others work.")
        return 1
    con.print("[green]all plugins load[/green]")
    return 0


# ------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixelzoo", description="A pluggable model zoo for pixel recurrent networks.")
    parser.add_argument("--version", action="version", version=f"pixelzoo {__version__}")
    parser.add_argument("--plugin", action="append", default=[], metavar="DIST",
                        help="allow this plugin distribution when "
                             "PIXELZOO_DISABLE_PLUGIN_AUTOLOAD=1 (repeatable)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="train and evaluate a recipe, leaving a run folder")
    _add_recipe_args(p)
    p.add_argument("--out", default="runs", help="root folder for run folders (default: runs)")
    p.add_argument("--resume", default=None, metavar="auto|RUN_DIR|CKPT",
                   help="continue the newest run of this recipe (auto), a run folder, or a "
                        "checkpoint")
    p.add_argument("--keep", type=int, default=None, metavar="N",
                   help="keep the N best epoch checkpoints besides last and best "
                        "(overrides train.keep)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check a recipe and report every problem")
    _add_recipe_args(p)
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("show", help="print the fully resolved recipe and the model size")
    _add_recipe_args(p)
    p.add_argument("--no-params", action="store_true", help="skip building the model")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("schema", help="print the recipe JSON schema (for editors)")
    p.add_argument("--markdown", action="store_true",
                   help="print the recipe reference as Markdown instead")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("list", help="list registered parts (no imports)")
    p.add_argument("kind", nargs="?", default=None,
                   help="datasets, combiners, decoders, tasks, masks, models, or weights")
    p.add_argument("--filter", default=None, metavar="GLOB", help="e.g. '*add*'")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("doctor", help="load every plugin and report each failure")
    p.set_defaults(func=cmd_doctor)

    for extra in _extra_commands():
        extra(sub)
    # `--plugin` is accepted after the sub-command too: `pixelzoo run R --plugin DIST`
    for p in sub.choices.values():
        p.add_argument("--plugin", action="append", dest="plugin_sub", default=[],
                       metavar="DIST", help="allow this plugin distribution when autoload is off")
    return parser


def _extra_commands() -> list[Any]:
    """Commands that live in their own modules (compare, infill), registered if present."""
    out = []
    for mod in ("pixelzoo.compare", "pixelzoo.infill_cli"):
        try:
            module = __import__(mod, fromlist=["add_parser"])
        except ImportError:
            continue
        out.append(module.add_parser)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _plugins(args)
    try:
        return int(args.func(args) or 0)
    except PixelzooError as exc:
        from rich.markup import escape

        con = _console(stderr=True)
        # escape: messages hold `dist[name]` labels that rich would otherwise eat as markup
        con.print(f"[bold red]error:[/bold red] {escape(str(exc))}", markup=True,
                  highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `pixelzoo list | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
