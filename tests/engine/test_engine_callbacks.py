"""Callbacks: a plugin's loop behaviour chosen in the recipe, and the EMA, resumed bit for bit."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
from engine_helpers import (TINY, assert_same_weights, rows, run_dirs, run_once, state, weights,
                            write_recipe)
from pydantic import Field

from pixelzoo.config import PartConfig
from pixelzoo.engine.callbacks import Callback
from pixelzoo.engine.trainer import Trainer
from pixelzoo.errors import RecipeError
from pixelzoo.recipe import load_recipe
from pixelzoo.registry import CALLBACKS


# ------------------------------------------------------------------ a third-party callback
class RecordCalls(Callback):
    """Test callback: writes each hook it sees to a JSON-lines file, stops after N steps."""

    class Config(PartConfig):
        log: str
        stop_after: int | None = Field(None, ge=1)

    def __init__(self, config: Config):
        super().__init__(config)
        self.steps = 0

    def _record(self, hook: str, trainer: Any, **extra: Any) -> None:
        with open(self.config.log, "a") as fh:
            fh.write(json.dumps({"hook": hook, "step": trainer.global_step, **extra}) + "\n")

    def on_fit_start(self, trainer: Any) -> None:
        self._record("fit_start", trainer, steps=self.steps)

    def on_step_end(self, trainer: Any, loss: float) -> None:
        self.steps += 1
        self._record("step_end", trainer)
        if self.config.stop_after and self.steps >= self.config.stop_after:
            trainer.request_stop(f"record_calls: {self.steps} steps")

    def on_eval_start(self, trainer: Any) -> None:
        self._record("eval_start", trainer)

    def on_eval_end(self, trainer: Any, metrics: dict[str, float] | None) -> None:
        self._record("eval_end", trainer, measured=sorted(metrics or {}))

    def on_epoch_end(self, trainer: Any, row: dict[str, Any]) -> None:
        row["callback_steps"] = self.steps  # a callback may add numbers to the row
        self._record("epoch_end", trainer)

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        self._record("fit_end", trainer, stopped=result.summary["stopped_early"])

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = int(state["steps"])


@pytest.fixture
def record_calls(tmp_path, monkeypatch):
    """`record_calls` registered through the entry point of a throwaway distribution that points
    at the class above, in this test module."""
    site = tmp_path / "site"
    info = site / "pz_callback_test-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pz-callback-test\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[pixelzoo.callbacks]\nrecord_calls = {RecordCalls.__module__}:RecordCalls\n")
    monkeypatch.syspath_prepend(str(site))
    CALLBACKS.refresh()
    yield tmp_path / "calls.jsonl"
    monkeypatch.undo()
    CALLBACKS.refresh()


def _calls(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_plugin_callback_changes_the_run_through_the_recipe(record_calls, tiny_recipe,
                                                              tmp_path):
    info = CALLBACKS.info("record_calls")
    assert info.dist == "pz-callback-test" and info.obj is None, "listed, not yet imported"
    spec = f"train.callbacks=[{{type: record_calls, log: '{record_calls}', stop_after: 8}}]"
    result = run_once(tiny_recipe, tmp_path / "runs", spec)
    # the recipe asks for 4 epochs of 6 steps; the callback stopped training after 8
    assert result.summary["stopped_early"] == "record_calls: 8 steps"
    assert result.summary["callbacks"] == ["record_calls"]
    st = state(result.run_dir)
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (1, 2, 8)
    assert st["callbacks"] == [{"type": "record_calls", "state": {"steps": 8}}]
    assert "model" not in st, "the callback exports the model's own weights: stored once"
    assert [(r["epoch"], r["callback_steps"]) for r in rows(result.run_dir)] == \
        [("1", "6"), ("2", "8")]

    calls = _calls(record_calls)
    hooks = [c["hook"] for c in calls]
    assert hooks == (["fit_start"] + ["step_end"] * 6 + ["eval_start", "eval_end", "epoch_end"]
                     + ["step_end"] * 2 + ["eval_start", "eval_end", "epoch_end", "fit_end"])
    assert [c["step"] for c in calls if c["hook"] == "step_end"] == list(range(1, 9))
    assert "loss" in calls[8]["measured"], "eval_end sees the metrics"
    assert calls[-1]["stopped"] == "record_calls: 8 steps"


def test_a_callback_resumes_with_its_state(record_calls, tiny_recipe, tmp_path, monkeypatch):
    spec = f"train.callbacks=[{{type: record_calls, log: '{record_calls}'}}]"
    orig = Trainer._train_step

    def stop_at_9(self, idx, epoch, s):
        if self.global_step + 1 == 9:
            os.kill(os.getpid(), signal.SIGINT)
        return orig(self, idx, epoch, s)

    monkeypatch.setattr(Trainer, "_train_step", stop_at_9)
    with pytest.raises(SystemExit):
        run_once(tiny_recipe, tmp_path / "runs", spec)
    monkeypatch.setattr(Trainer, "_train_step", orig)
    run_dir, = run_dirs(tmp_path / "runs")
    record_calls.unlink()
    run_once(tiny_recipe, tmp_path / "runs", spec, resume=str(run_dir))
    first = _calls(record_calls)[0]
    assert first == {"hook": "fit_start", "step": 9, "steps": 9}, "its state came back"
    assert state(run_dir)["callbacks"] == [{"type": "record_calls", "state": {"steps": 24}}]


def test_a_bad_callback_key_is_a_recipe_error_with_its_path(record_calls, tmp_path):
    recipe = write_recipe(tmp_path, TINY.replace(
        "  checkpoint_every: 4\n",
        "  checkpoint_every: 4\n  callbacks:\n    - ema\n"
        "    - {type: record_calls, lgo: calls.jsonl}\n"))
    with pytest.raises(RecipeError) as err:
        load_recipe(recipe)
    msg = str(err.value)
    assert "tiny.yaml" in msg
    assert ("train.callbacks[1].lgo: unknown parameter for callback 'record_calls' (from "
            "pz-callback-test 0.1); did you mean 'log'?") in msg
    assert "line 13" in msg  # where the bad entry is written
    assert "callbacks[0]" not in msg, "the bare name `ema` is fine"
    with pytest.raises(RecipeError, match=r"train\.callbacks\[0\]\.type: unknown callback "
                                          r"'emma'; did you mean 'ema'\?"):
        load_recipe(recipe, ["train.callbacks=[emma]"])
    with pytest.raises(RecipeError, match=r"train\.callbacks\[0\]\.decay: .*less than 1"):
        load_recipe(recipe, ["train.callbacks=[{type: ema, decay: 1.5}]"])


# ------------------------------------------------------------------ EMA
EMA = "train.callbacks=[{type: ema, decay: 0.9}]"
SMALL = "eval.batch_size=8"  # three evaluation batches: a signal can land between two


@pytest.fixture(scope="module")
def ema_straight(tiny_recipe, tmp_path_factory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("ema")
    result = run_once(tiny_recipe, out, EMA, SMALL)
    return {"result": result, "run_dir": result.run_dir}


def _assert_same_run(run_dir: Path, reference: dict[str, Any]) -> None:
    ref = reference["run_dir"]
    assert_same_weights(weights(run_dir), weights(ref))
    assert_same_weights(weights(run_dir, "best"), weights(ref, "best"))
    assert rows(run_dir) == rows(ref)
    a, b = state(run_dir), state(ref)
    assert_same_weights(a["model"], b["model"])
    (ca,), (cb,) = a["callbacks"], b["callbacks"]
    assert ca["type"] == cb["type"] == "ema" and ca["state"]["updates"] == cb["state"]["updates"]
    assert_same_weights(ca["state"]["shadow"], cb["state"]["shadow"])
    for pid, s in b["optimizer"]["state"].items():
        for k, v in s.items():
            assert torch.equal(a["optimizer"]["state"][pid][k], v)


def test_ema_weights_are_what_is_evaluated_and_exported(ema_straight, tiny_recipe):
    from pixelzoo.engine.build import build_all
    from pixelzoo.engine.checkpoint import load_weights

    run_dir = ema_straight["run_dir"]
    st = state(run_dir)
    exported, raw = weights(run_dir), st["model"]
    assert exported.keys() == raw.keys()
    assert any(not torch.equal(exported[k], raw[k]) for k in raw), "the average is not the model"
    (cb,) = st["callbacks"]
    assert cb["state"]["updates"] == st["global_step"] == 24
    assert_same_weights(cb["state"]["shadow"], exported)
    # the last row's validation loss was measured on the averaged weights
    recipe = load_recipe(tiny_recipe, [EMA, SMALL])
    parts = build_all(recipe)
    load_weights(run_dir / "checkpoints/last.safetensors", parts.model)
    ev = recipe.envelope().eval
    measured = parts.task.evaluate(parts.model, parts.data.val.take(ev.limit),
                                   torch.device("cpu"), ev.batch_size)
    assert repr(measured["loss"]) == rows(run_dir)[-1]["loss"]


def test_without_callbacks_the_state_holds_no_second_copy_of_the_weights(straight):
    assert straight["state"]["callbacks"] == []
    assert "model" not in straight["state"]
    assert straight["result"].summary["callbacks"] == []


def test_ema_two_epochs_then_two_more_equals_four_straight(tiny_recipe, tmp_path, ema_straight):
    first = run_once(tiny_recipe, tmp_path, EMA, SMALL, "train.epochs=2")
    second = run_once(tiny_recipe, tmp_path, EMA, SMALL, resume="auto")
    assert second.run_dir == first.run_dir
    _assert_same_run(second.run_dir, ema_straight)
    assert second.metrics == ema_straight["result"].metrics


@pytest.mark.parametrize("where", ["mid-epoch", "in-evaluation"])
def test_ema_resumes_bit_for_bit_after_a_signal(tiny_recipe, tmp_path, ema_straight,
                                                monkeypatch, where):
    if where == "mid-epoch":
        orig = Trainer._train_step

        def step(self, idx, epoch, s):
            if self.global_step + 1 == 9:  # epoch 2, step 3: not a checkpoint boundary
                os.kill(os.getpid(), signal.SIGINT)
            return orig(self, idx, epoch, s)

        monkeypatch.setattr(Trainer, "_train_step", step)
    else:
        orig_eval = Trainer.evaluate
        seen = {"evaluations": 0}

        def evaluate(self, *args, **kwargs):
            seen["evaluations"] += 1
            # during the 2nd evaluation the averaged weights are swapped into the model
            hook = None
            if seen["evaluations"] == 2:
                hook = self.model.register_forward_hook(
                    lambda *a: os.kill(os.getpid(), signal.SIGINT))
            try:
                return orig_eval(self, *args, **kwargs)
            finally:
                if hook is not None:
                    hook.remove()

        monkeypatch.setattr(Trainer, "evaluate", evaluate)
    with pytest.raises(SystemExit):
        run_once(tiny_recipe, tmp_path, EMA, SMALL)
    monkeypatch.undo()
    run_dir, = run_dirs(tmp_path)
    st = state(run_dir)
    if where == "in-evaluation":
        assert (st["global_step"], st["pending_eval"]) == (12, "")
    (cb,) = st["callbacks"]
    assert cb["state"]["updates"] == st["global_step"]
    resumed = run_once(tiny_recipe, tmp_path, EMA, SMALL, resume=str(run_dir))
    _assert_same_run(run_dir, ema_straight)
    assert resumed.metrics == ema_straight["result"].metrics


def test_ema_added_on_resume_starts_fresh_with_a_note(tiny_recipe, tmp_path, capsys):
    first = run_once(tiny_recipe, tmp_path, "train.epochs=1")
    from pixelzoo.engine.trainer import train

    train(load_recipe(tiny_recipe, ["train.epochs=2", EMA]), out_root=tmp_path, resume="auto",
          quiet=False)
    out = " ".join(capsys.readouterr().out.split())
    assert "callback ema has no saved state in this checkpoint: it starts fresh" in out
    (cb,) = state(first.run_dir)["callbacks"]
    assert cb["state"]["updates"] == 6, "it averaged the second epoch only"


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@needs_cuda
def test_ema_runs_after_the_replayed_step(tmp_path):
    """Under cuda_graphs the average is updated after each replay, as in an eager run."""
    gpu = TINY.replace("fast_path: reference  # the engine is under test here, not the fast path",
                       "fast_path: wavefront\n  device: cuda\n  tf32: false")
    recipe = write_recipe(tmp_path / "r", gpu)
    runs = {}
    for graphs in (False, True):
        trainer = Trainer(load_recipe(recipe, [EMA, "train.epochs=2",
                                               f"train.cuda_graphs={graphs}"]),
                          out_root=tmp_path / str(graphs), quiet=True)
        trainer.fit()
        runs[graphs] = trainer
    assert runs[True]._graph is not None and runs[False]._graph is None
    for graphs, trainer in runs.items():
        (cb,) = state(trainer.run_dir)["callbacks"]
        assert cb["state"]["updates"] == 12, graphs
    a, b = weights(runs[True].run_dir), weights(runs[False].run_dir)
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4, msg=k)
