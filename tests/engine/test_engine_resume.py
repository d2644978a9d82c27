"""Exact resume: a run cut anywhere and resumed ends bit-identical to the uninterrupted run."""

from __future__ import annotations

import os
import signal

import pytest
import torch
from engine_helpers import (STEPS_PER_EPOCH, assert_same_weights, rows, run_dirs, run_once,
                            state, weights)

from pixelzoo.engine.checkpoint import read_metadata
from pixelzoo.engine.trainer import Trainer


def test_two_epochs_then_two_more_equals_four_straight(tiny_recipe, tmp_path, straight):
    first = run_once(tiny_recipe, tmp_path, "train.epochs=2")
    assert [r["epoch"] for r in rows(first.run_dir)] == ["1", "2"]
    second = run_once(tiny_recipe, tmp_path, resume="auto")
    assert second.run_dir == first.run_dir, "--resume auto must continue the same run folder"
    assert run_dirs(tmp_path) == [first.run_dir]

    assert_same_weights(weights(second.run_dir), straight["weights"])
    # the metadata too (safetensors orders its header keys at random, so not the raw bytes)
    assert read_metadata(second.run_dir / "checkpoints/last.safetensors") == \
        read_metadata(straight["run_dir"] / "checkpoints/last.safetensors")
    assert rows(second.run_dir) == straight["rows"]  # no duplicates, same numbers, same order
    assert second.metrics == straight["result"].metrics
    assert_same_weights(weights(second.run_dir, "best"), weights(straight["run_dir"], "best"))
    a, b = state(second.run_dir), straight["state"]
    for k in ("epoch", "step_in_epoch", "global_step", "best", "scheduler"):
        assert a[k] == b[k], k
    for pid, s in b["optimizer"]["state"].items():
        for k, v in s.items():
            assert torch.equal(a["optimizer"]["state"][pid][k], v)


def _signal_at(monkeypatch, global_step: int, signum: int) -> None:
    """Deliver `signum` to this process while step `global_step` is being computed."""
    orig = Trainer._train_step

    def step(self, idx, epoch, s):
        if self.global_step + 1 == global_step:
            os.kill(os.getpid(), signum)
        return orig(self, idx, epoch, s)

    monkeypatch.setattr(Trainer, "_train_step", step)


@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_epoch_checkpoints_and_resumes_exactly(tiny_recipe, tmp_path, straight,
                                                          monkeypatch, capsys, signum, code):
    before = signal.getsignal(signum)
    _signal_at(monkeypatch, 9, signum)  # epoch 2, step 3 of 6: not a step-checkpoint boundary
    with pytest.raises(SystemExit) as stop:
        run_once(tiny_recipe, tmp_path)
    assert stop.value.code == code
    assert signal.getsignal(signum) is before, "the run must restore the signal handlers"
    run_dir, = run_dirs(tmp_path)
    st = state(run_dir)
    # the current step finished, then `last` was written there (not at the step-8 checkpoint)
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (1, 3, 9)
    assert [r["epoch"] for r in rows(run_dir)] == ["1"]
    monkeypatch.undo()

    resumed = run_once(tiny_recipe, tmp_path, resume=str(run_dir))
    assert resumed.run_dir == run_dir
    assert_same_weights(weights(run_dir), straight["weights"])
    assert rows(run_dir) == straight["rows"]
    assert resumed.metrics == straight["result"].metrics


def test_crash_resumes_from_the_last_step_checkpoint(tiny_recipe, tmp_path, straight,
                                                     monkeypatch):
    orig = Trainer._train_step

    def crash(self, idx, epoch, s):
        if self.global_step + 1 == 11:  # checkpoint_every: 4, so the last one is at step 8
            raise RuntimeError("simulated crash")
        return orig(self, idx, epoch, s)

    monkeypatch.setattr(Trainer, "_train_step", crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_once(tiny_recipe, tmp_path)
    monkeypatch.undo()
    run_dir, = run_dirs(tmp_path)
    st = state(run_dir)
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (1, 8 - STEPS_PER_EPOCH, 8)
    # resume from the checkpoint file itself this time
    resumed = run_once(tiny_recipe, tmp_path, resume=str(run_dir / "checkpoints/last.safetensors"))
    assert resumed.run_dir == run_dir
    assert_same_weights(weights(run_dir), straight["weights"])
    assert rows(run_dir) == straight["rows"]


def test_resume_from_an_older_checkpoint_drops_newer_rows(tiny_recipe, tmp_path, straight):
    first = run_once(tiny_recipe, tmp_path)
    kept = sorted(p.name for p in (first.run_dir / "checkpoints").glob("epoch-*.state.pt"))
    assert kept, "history checkpoints are kept"
    oldest = first.run_dir / "checkpoints" / kept[0].replace(".state.pt", "")
    epoch = int(oldest.name.split("-")[1])
    assert epoch < 4
    second = run_once(tiny_recipe, tmp_path, resume=str(oldest) + ".state.pt")
    assert second.run_dir == first.run_dir
    assert rows(first.run_dir) == straight["rows"]  # rows after `epoch` redone, never doubled
    assert_same_weights(weights(first.run_dir), straight["weights"])


def test_resume_auto_without_an_earlier_run_starts_one(tiny_recipe, tmp_path):
    result = run_once(tiny_recipe, tmp_path, "train.epochs=1", resume="auto")
    assert run_dirs(tmp_path) == [result.run_dir]


def test_resume_auto_picks_the_newest_run(tiny_recipe, tmp_path):
    a = run_once(tiny_recipe, tmp_path, "train.epochs=1")
    b = run_once(tiny_recipe, tmp_path, "train.epochs=1")
    assert a.run_dir != b.run_dir
    c = run_once(tiny_recipe, tmp_path, "train.epochs=2", resume="auto")
    assert c.run_dir == b.run_dir
    assert [r["epoch"] for r in rows(a.run_dir)] == ["1"]
    assert [r["epoch"] for r in rows(b.run_dir)] == ["1", "2"]


def test_resume_of_a_finished_run_trains_nothing_more(tiny_recipe, tmp_path, straight):
    first = run_once(tiny_recipe, tmp_path)
    again = run_once(tiny_recipe, tmp_path, resume=str(first.run_dir))
    assert again.run_dir == first.run_dir
    assert state(first.run_dir)["global_step"] == 4 * STEPS_PER_EPOCH
    assert rows(first.run_dir) == straight["rows"]


def test_history_keeps_the_top_n_by_metric_and_keep_flag_overrides(tiny_recipe, tmp_path):
    from pixelzoo.cli import main

    rc = main(["run", str(tiny_recipe), "--out", str(tmp_path), "--keep", "2", "-q"])
    assert rc == 0
    run_dir, = run_dirs(tmp_path)
    ck = run_dir / "checkpoints"
    history = sorted(p.name for p in ck.glob("epoch-*.safetensors"))
    assert len(history) == 2  # the recipe says keep: 3 (default); --keep 2 wins
    assert sorted(p.name for p in ck.glob("epoch-*.state.pt")) == \
        [h.replace(".safetensors", ".state.pt") for h in history]
    # the two kept are the two best epochs by validation loss (eval.metric: loss, lower wins)
    by_loss = sorted(rows(run_dir), key=lambda r: float(r["loss"]))[:2]
    assert history == sorted(f"epoch-{int(r['epoch']):04d}.safetensors" for r in by_loss)
    best_epoch = int(by_loss[0]["epoch"])
    assert state(run_dir, "best")["epoch"] == best_epoch
    assert (ck / "best.safetensors").read_bytes() == \
        (ck / f"epoch-{best_epoch:04d}.safetensors").read_bytes()
    assert main(["run", str(tiny_recipe), "--out", str(tmp_path), "--keep", "0", "-q"]) == 2


def test_echoed_signals_stay_graceful_but_a_later_second_ctrl_c_stops_at_once(
        tiny_recipe, tmp_path, monkeypatch):
    orig = Trainer._train_step

    def step(self, idx, epoch, s):
        if self.global_step + 1 == 9:
            # the terminal's SIGINT, torchrun's forwarded copy, a scheduler's SIGTERM
            for sig in (signal.SIGINT, signal.SIGINT, signal.SIGTERM):
                os.kill(os.getpid(), sig)
        return orig(self, idx, epoch, s)

    monkeypatch.setattr(Trainer, "_train_step", step)
    with pytest.raises(SystemExit) as stop:
        run_once(tiny_recipe, tmp_path / "echo")
    assert stop.value.code == 130
    run_dir, = run_dirs(tmp_path / "echo")
    assert state(run_dir)["global_step"] == 9

    def impatient(self, idx, epoch, s):
        if self.global_step + 1 == 10:
            os.kill(os.getpid(), signal.SIGINT)
            self.signals.first_time -= 60  # as if the user pressed Ctrl-C again a minute later
            os.kill(os.getpid(), signal.SIGINT)
        return orig(self, idx, epoch, s)

    monkeypatch.setattr(Trainer, "_train_step", impatient)
    with pytest.raises(KeyboardInterrupt):
        run_once(tiny_recipe, tmp_path / "twice")
    run_dir, = run_dirs(tmp_path / "twice")
    assert state(run_dir)["global_step"] == 8  # no half-step checkpoint; the last one stands


def test_time_budget_stop_keeps_the_position_and_resumes_exactly(tiny_recipe, tmp_path,
                                                                 straight):
    first = run_once(tiny_recipe, tmp_path, "train.max_minutes=1e-6")
    assert first.summary["stopped_early"].startswith("time budget")
    st = state(first.run_dir)
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (0, 1, 1)
    assert [r["epoch"] for r in rows(first.run_dir)] == ["1"]  # a row for the partial epoch
    same = run_once(tiny_recipe, tmp_path, "train.max_minutes=1e-6", resume="auto")
    assert state(same.run_dir)["global_step"] == 1, "a spent budget trains nothing more"
    done = run_once(tiny_recipe, tmp_path, "train.max_minutes=null", resume="auto")
    assert done.run_dir == first.run_dir
    assert_same_weights(weights(done.run_dir), straight["weights"])
    assert rows(done.run_dir) == straight["rows"]  # the partial row was replaced, not doubled


def test_divergence_stops_without_checkpointing_the_bad_weights(tiny_recipe, tmp_path,
                                                                 monkeypatch):
    from pixelzoo.errors import PixelzooError

    orig = Trainer._train_step

    def nan_at_12(self, idx, epoch, s):
        loss = orig(self, idx, epoch, s)
        return float("nan") if self.global_step + 1 == 12 else loss

    monkeypatch.setattr(Trainer, "_train_step", nan_at_12)
    with pytest.raises(PixelzooError, match=r"diverged.*epoch 2, step 6.*--resume"):
        run_once(tiny_recipe, tmp_path)
    run_dir, = run_dirs(tmp_path)
    assert state(run_dir)["global_step"] == 8  # step 12 would have been a checkpoint
    assert all(torch.isfinite(t).all() for t in weights(run_dir).values())


def _signal_in_evaluation(monkeypatch, nth: int, signum: int) -> list[int]:
    """Deliver `signum` while the first batch of the run's `nth` evaluation is computed (1-4:
    the end of epochs 1-4, 5: the final table); returns the batches each evaluation ran."""
    orig = Trainer.evaluate
    batches: list[int] = []

    def evaluate(self, *args, **kwargs):
        batches.append(0)

        def forward_hook(module, inputs, output):
            batches[-1] += 1
            if len(batches) == nth and batches[-1] == 1:
                os.kill(os.getpid(), signum)

        hook = self.model.register_forward_hook(forward_hook)
        try:
            return orig(self, *args, **kwargs)
        finally:
            hook.remove()

    monkeypatch.setattr(Trainer, "evaluate", evaluate)
    return batches


@pytest.mark.parametrize("nth, signum, code", [(2, signal.SIGINT, 130), (5, signal.SIGTERM, 143)])
def test_a_signal_during_evaluation_stops_at_the_next_batch_and_resumes_exactly(
        tiny_recipe, tmp_path, monkeypatch, capsys, nth, signum, code):
    from pixelzoo.engine.trainer import train
    from pixelzoo.recipe import load_recipe

    small = "eval.batch_size=8"  # 24 evaluation images: three batches, two checks between them
    reference = run_once(tiny_recipe, tmp_path / "straight", small)
    out = tmp_path / "stopped"
    batches = _signal_in_evaluation(monkeypatch, nth, signum)
    with pytest.raises(SystemExit) as stop:
        train(load_recipe(tiny_recipe, [small]), out_root=out, quiet=False)
    assert stop.value.code == code
    assert batches[-1] == 1, "the evaluation must stop at the next batch, not run to its end"
    run_dir, = run_dirs(out)
    printed = "".join(capsys.readouterr().out.split())  # rich wraps lines, even inside paths
    assert f"Resumewith:pixelzoorun{tiny_recipe}--set{small}--resume{run_dir}" in printed
    ck = run_dir / "checkpoints"
    assert not list(ck.glob(".*")), "no temporary file is left behind"
    st = state(run_dir)
    if nth == 2:
        # the epoch's steps are done and `last` is there, with its evaluation still owed
        assert "stoppedduringtheevaluationofepoch2" in printed
        assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (1, 6, 12)
        assert st["pending_eval"] == ""
        assert [r["epoch"] for r in rows(run_dir)] == ["1"]
        assert state(run_dir, "best")["epoch"] == 1  # nothing promoted from the lost evaluation
    else:
        # training was over: the checkpoints stay as the last epoch left them, no summary yet
        assert "stoppedduringthefinalevaluation" in printed
        assert_same_weights(weights(run_dir), weights(reference.run_dir))
        assert (st["global_step"], st["pending_eval"]) == (4 * STEPS_PER_EPOCH, None)
        assert rows(run_dir) == rows(reference.run_dir)
        assert not (run_dir / "summary.json").exists()
    monkeypatch.undo()

    resumed = run_once(tiny_recipe, out, small, resume=str(run_dir))
    assert resumed.run_dir == run_dir
    assert resumed.metrics == reference.metrics
    assert rows(run_dir) == rows(reference.run_dir)
    assert_same_weights(weights(run_dir), weights(reference.run_dir))
    assert_same_weights(weights(run_dir, "best"), weights(reference.run_dir, "best"))
    assert sorted(p.name for p in ck.iterdir()) == \
        sorted(p.name for p in (reference.run_dir / "checkpoints").iterdir())
    assert state(run_dir)["pending_eval"] is None
    assert resumed.summary["best_metric"] == reference.summary["best_metric"]


def test_a_budget_stop_whose_evaluation_was_interrupted_is_finished_on_resume(
        tiny_recipe, tmp_path, monkeypatch):
    small, budget = "eval.batch_size=8", "train.max_minutes=1e-6"  # spent after one step
    reference = run_once(tiny_recipe, tmp_path / "straight", small, budget)
    _signal_in_evaluation(monkeypatch, 1, signal.SIGINT)
    with pytest.raises(SystemExit):
        run_once(tiny_recipe, tmp_path / "stopped", small, budget)
    monkeypatch.undo()
    run_dir, = run_dirs(tmp_path / "stopped")
    st = state(run_dir)
    assert (st["epoch"], st["step_in_epoch"], st["global_step"]) == (0, 1, 1)
    assert st["pending_eval"].startswith("time budget")
    assert not (run_dir / "metrics.csv").exists()
    # the budget is still spent, yet the owed evaluation runs and writes the partial epoch's row
    same = run_once(tiny_recipe, tmp_path / "stopped", small, budget, resume=str(run_dir))
    assert state(run_dir)["global_step"] == 1
    assert rows(run_dir) == rows(reference.run_dir)
    assert same.metrics == reference.metrics
    assert same.summary["best_metric"] == reference.summary["best_metric"]
