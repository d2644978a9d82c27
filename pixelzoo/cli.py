"""The `pixelzoo` command line.

Sub-commands: `run`, `validate`, `show`, `schema`, `list`, `doctor` (and, where installed, the
task-specific `infill` and `compare`). Every command runs under the one error policy,
`pixelzoo.errors.guard`: a user-fixable problem (a `PixelzooError`) is one clear report on stderr
with exit status 2 and no traceback; anything else is a bug, exit status 1, its traceback in a
log file (`PIXELZOO_DEBUG=1` shows it). Commands that only
read metadata (`list`, `validate` of the envelope) do not import torch, so they answer at once.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pixelzoo import __version__
from pixelzoo.errors import guard


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
    _print_notes(recipe)
    _console().print(f"[green]ok[/green]: {args.recipe} is a valid recipe ({recipe.name})")
    return 0


def _print_notes(recipe: Any) -> None:
    """The recipe's one-line notes (an old spelling read as the new one), as `run` shows them."""
    con = _console(stderr=True)
    for note in recipe.notes:
        con.print(f"[yellow]note[/yellow]: {note}", markup=True, highlight=False, soft_wrap=True)


def cmd_show(args: argparse.Namespace) -> int:
    from rich.syntax import Syntax

    from pixelzoo.recipe import load_recipe

    recipe = load_recipe(args.recipe, args.overrides)
    _print_notes(recipe)
    con = _console()
    con.print(Syntax(recipe.to_yaml(), "yaml", theme="ansi_dark", background_color="default"))
    if not args.no_params:
        info = model_summary(recipe)
        con.print(f"# model: {info['describe']}")
        con.print(f"# parameters: {info['parameters']:,}")
    return 0


def model_summary(recipe: Any) -> dict[str, Any]:
    """Build the recipe's model on the dataset's geometry (without training) and count it."""
    import contextlib

    import torch

    from pixelzoo.engine.build import count_parameters, create_model

    # Counting needs shapes, not numbers: without weights to load, build on the meta device,
    # so a recipe asking for billions of parameters is counted instead of allocated.
    model_cfg = recipe.data.get("model")
    weights = isinstance(model_cfg, dict) and model_cfg.get("weights")
    with contextlib.nullcontext() if weights else torch.device("meta"):
        model = create_model(recipe)  # the one builder; the dataset's geometry, not its images
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
        import fnmatch

        from pixelzoo import weights

        con = _console()
        records = [w for w in weights.list_weights()
                   if not args.filter or fnmatch.fnmatch(w["name"], args.filter)]
        for table in weights.tables(records):  # one record each: tag, hash, metrics, recipe
            con.print(table)
        if not records:
            con.print("no shipped weights" + (f" match '{args.filter}'" if args.filter else ""))
        return 0
    regs = [registry_for(args.kind)] if args.kind else list(REGISTRIES.values())
    table = Table(title="pixelzoo parts" + (f" matching '{args.filter}'" if args.filter else ""))
    for col in ("kind", "name", "distribution", "version", "entry point"):
        table.add_column(col)
    clashes = []
    for reg in regs:
        for info in reg.infos(args.filter):
            # a name claimed twice: one row per claimant, marked, so the clash is visible
            mark = " [red](clash)[/red]" if info.duplicates else ""
            for claimant in (info, *info.duplicates):
                table.add_row(reg.singular, info.name + mark, claimant.dist, claimant.version,
                              claimant.target)
            if info.duplicates:
                clashes.append(f"{reg.singular} '{info.name}' is claimed by "
                               + " and ".join(c.dist for c in (info, *info.duplicates)))
    con = _console()
    con.print(table)
    for clash in clashes:  # what a clash does: see docs/plugins.md
        con.print(f"[red]clash[/red]: {clash}: it cannot be used (recipes and shipped weights "
                  "that need it fail) until one of them is uninstalled", soft_wrap=True)
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
def _count(text: str) -> int:
    """An argparse type: a whole number from 1 (checked here, so the message names the flag)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= value < 2**31:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1, got {text}")
    return value


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
    p.add_argument("--keep", type=_count, default=None, metavar="N",
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
                   help="datasets, combiners, decoders, tasks, masks, models, augmentations, "
                        "callbacks, or weights")
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
    """Commands that live in their own modules (compare, infill, serve).

    Imported plainly, never behind an `except ImportError`: they are part of pixelzoo, so an
    ImportError here is a bug that must show. None needs an optional extra to import; `serve`
    reports a missing `serve` extra itself when it runs.
    """
    from pixelzoo.compare import add_parser as add_compare
    from pixelzoo.infill_cli import add_parser as add_infill
    from pixelzoo.serve.command import add_parser as add_serve

    return [add_compare, add_infill, add_serve]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the command under the error policy (`pixelzoo.errors.guard`)."""
    if "torch" not in sys.modules:  # OpenMP reads its wait policy once, when torch loads it
        from pixelzoo.engine.threads import prepare_openmp

        prepare_openmp()  # PASSIVE on a busy machine, unless the user chose a policy
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed its message (or --help): its status
        return int(exc.code or 0) if not isinstance(exc.code, str) else 2

    def command() -> int:
        _plugins(args)
        return int(args.func(args) or 0)

    return guard(command, argv)


if __name__ == "__main__":
    sys.exit(main())
