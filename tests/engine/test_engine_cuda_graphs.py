"""`train.cuda_graphs`: where the trainer captures its step, and that it changes nothing else.

On CPU (everywhere): the one-line notices and the eager step, bit-identical training, and
optimizer / scheduler state dicts that move between the plain and the capturable form. With a
CUDA device (skipped otherwise): replayed steps against eager ones, the learning-rate schedule
reaching the captured step, bf16, and resume across the two kinds of run.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from engine_helpers import TINY, assert_same_weights, rows, weights, write_recipe

from pixelzoo.engine.cuda_graphs import (load_optimizer_state, load_scheduler_state,
                                         portable_optimizer_state, portable_scheduler_state,
                                         use_tensor_lr)
from pixelzoo.engine.distributed import DistEnv
from pixelzoo.engine.trainer import Trainer, make_optimizer, make_scheduler, train
from pixelzoo.recipe import load_recipe

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
NOTICE = "train.cuda_graphs: ignored on cpu (CUDA only)"


# ---------------------------------------------------------------------------------------- CPU
def test_on_cpu_one_notice_and_the_same_training(tiny_recipe, tmp_path, straight, capsys):
    recipe = load_recipe(tiny_recipe, ["train.cuda_graphs=true"])
    result = train(recipe, out_root=tmp_path, quiet=False)
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert out.count(NOTICE) == 1
    assert_same_weights(weights(result.run_dir), straight["weights"])
    assert rows(result.run_dir) == straight["rows"]


def _planner(tmp_path: Path, *overrides: str, device: str = "cuda", world: int = 1,
             capture: bool = True) -> tuple[Trainer, io.StringIO]:
    """A Trainer whose `_plan_graphs` sees the given device, world and task, nothing built."""
    from rich.console import Console

    text = io.StringIO()
    trainer = Trainer(load_recipe(write_recipe(tmp_path, TINY), list(overrides)),
                      out_root=tmp_path, console=Console(file=text, width=300))
    trainer.device = torch.device(device)
    trainer.dist = DistEnv(world_size=world)
    trainer.task = SimpleNamespace(supports_capture=lambda: capture)  # type: ignore[assignment]
    return trainer, text


@pytest.mark.parametrize("case, overrides, kw, notice", [
    ("off", [], {}, None),
    ("cuda", ["train.cuda_graphs=true"], {}, None),
    ("cpu", ["train.cuda_graphs=true"], {"device": "cpu"}, NOTICE),
    ("torchrun", ["train.cuda_graphs=true"], {"world": 2},
     "train.cuda_graphs: not used under torchrun"),
    ("sgd", ["train.cuda_graphs=true", "train.optimizer.type=sgd"], {},
     "train.cuda_graphs: optimizer 'sgd' cannot be captured"),
    ("third-party task", ["train.cuda_graphs=true"], {"capture": False},
     "train.cuda_graphs: task 'classification' has no capture_inputs/capture_loss split"),
])
def test_when_the_step_is_captured(tmp_path, case, overrides, kw, notice):
    trainer, text = _planner(tmp_path, *overrides, **kw)
    assert trainer._plan_graphs() is (case == "cuda")
    lines = [line for line in text.getvalue().splitlines() if line.strip()]
    assert len(lines) == (0 if notice is None else 1), lines
    if notice is not None:
        assert lines[0].startswith(notice)


def _stepped_plain_adam() -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """A plain Adam with state: three steps on a warm-up schedule."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    cfg = SimpleNamespace(optimizer=SimpleNamespace(type="adamw", lr=0.01, weight_decay=0.1),
                          scheduler=SimpleNamespace(type="cosine", warmup_steps=2,
                                                    min_lr_ratio=0.0))
    opt = make_optimizer(model.parameters(), cfg)
    sched = make_scheduler(opt, cfg, 10)
    for _ in range(3):
        model(torch.randn(5, 3)).square().sum().backward()
        opt.step()
        opt.zero_grad()
        sched.step()
    return model, opt, sched


def _capturable(model: torch.nn.Module) -> tuple[torch.optim.Optimizer, Any]:
    cfg = SimpleNamespace(optimizer=SimpleNamespace(type="adamw", lr=0.01, weight_decay=0.1),
                          scheduler=SimpleNamespace(type="cosine", warmup_steps=2,
                                                    min_lr_ratio=0.0))
    opt = make_optimizer(model.parameters(), cfg, capturable=True)
    sched = make_scheduler(opt, cfg, 10)
    use_tensor_lr(opt)
    return opt, sched


def _saved(obj: dict[str, Any]) -> dict[str, Any]:
    """Through torch.save and a weights_only load, as a checkpoint's state file goes."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    buf.seek(0)
    return torch.load(buf, map_location="cpu", weights_only=True)


def test_state_dicts_round_trip_between_plain_and_capturable_optimizers():
    model, plain, plain_sched = _stepped_plain_adam()
    want = plain.state_dict()
    lr_now = plain.param_groups[0]["lr"]

    # plain -> capturable: the capturable form survives the load, lr tensor and all
    opt, sched = _capturable(model)
    lr_tensor = opt.param_groups[0]["lr"]
    load_optimizer_state(opt, _saved(portable_optimizer_state(plain)))
    load_scheduler_state(sched, _saved(portable_scheduler_state(plain_sched)))
    group = opt.param_groups[0]
    assert group["capturable"] is True
    assert group["lr"] is lr_tensor, "a captured graph reads this very tensor"
    assert float(lr_tensor) == pytest.approx(lr_now, rel=1e-6)
    for p in model.parameters():
        mine, theirs = opt.state[p], plain.state[p]
        assert mine["step"].dtype == torch.float32 and float(mine["step"]) == 3.0
        assert torch.equal(mine["exp_avg"], theirs["exp_avg"])
        assert torch.equal(mine["exp_avg_sq"], theirs["exp_avg_sq"])
    # the scheduler goes on writing into the tensor; its own numbers stay floats
    sched.step()
    plain_sched.step()
    assert float(lr_tensor) == pytest.approx(plain.param_groups[0]["lr"], rel=1e-6)
    assert all(isinstance(v, float) for v in sched.base_lrs)

    # capturable -> portable: what a plain optimizer saves, floats and host step counts
    portable = _saved(portable_optimizer_state(opt))
    g = portable["param_groups"][0]
    assert g["capturable"] is False and isinstance(g["lr"], float)
    assert isinstance(g["initial_lr"], float)
    assert all(s["step"].device.type == "cpu" for s in portable["state"].values())
    sched_state = _saved(portable_scheduler_state(sched))
    assert all(isinstance(v, float) for v in sched_state["_last_lr"] + sched_state["base_lrs"])

    # ... which loads back into a plain optimizer as its own state
    fresh = make_optimizer(model.parameters(), SimpleNamespace(optimizer=SimpleNamespace(
        type="adamw", lr=0.5, weight_decay=0.0)))
    load_optimizer_state(fresh, portable)
    got = fresh.state_dict()
    assert got["param_groups"][0]["capturable"] is False
    assert isinstance(got["param_groups"][0]["lr"], float)
    assert got["param_groups"][0]["weight_decay"] == 0.1
    for pid, s in want["state"].items():
        assert got["state"][pid]["step"].device.type == "cpu"
        for k, v in s.items():
            assert torch.equal(got["state"][pid][k], v), k


def test_a_raw_capturable_state_dict_loads_into_a_plain_optimizer():
    """Not written by pixelzoo, but accepted: tensor lr, capturable, step on the device."""
    model, plain, _ = _stepped_plain_adam()
    opt, _ = _capturable(model)
    load_optimizer_state(opt, plain.state_dict())
    raw = opt.state_dict()
    assert torch.is_tensor(raw["param_groups"][0]["lr"]) and raw["param_groups"][0]["capturable"]
    other = make_optimizer(model.parameters(), SimpleNamespace(optimizer=SimpleNamespace(
        type="adamw", lr=0.5, weight_decay=0.1)))
    load_optimizer_state(other, _saved(raw))
    group = other.param_groups[0]
    assert group["capturable"] is False and isinstance(group["lr"], float)
    for p in model.parameters():
        assert torch.equal(other.state[p]["exp_avg"], plain.state[p]["exp_avg"])


# ---------------------------------------------------------------------------------------- CUDA
GPU_TINY = TINY.replace("fast_path: reference  # the engine is under test here, not the fast path",
                        "fast_path: wavefront\n  device: cuda\n  tf32: false")
GPU_INFILL = GPU_TINY.replace("task: {type: classification}",
                              "task: {type: infill}\nmask: {type: boxes}").replace(
    "eval: {limit: 24, metric: loss}",  # evaluation holes that fit 8x8 digits
    "eval: {limit: 24, masks: [{type: boxes}], baselines: [telea], samples: 0}")
assert GPU_TINY != TINY and GPU_INFILL != GPU_TINY
# lr changes at every step: warm-up, then a cosine
SCHEDULE = ["train.scheduler.type=cosine", "train.scheduler.warmup_steps=4"]


def _fit(recipe: Path, out: Path, *overrides: str, resume: str | None = None) -> Trainer:
    trainer = Trainer(load_recipe(recipe, list(overrides)), out_root=out, resume=resume,
                      quiet=True)
    trainer.fit()
    return trainer


def _close_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4, msg=k)


def _close_rows(a: list[dict[str, str]], b: list[dict[str, str]], rel: float = 1e-3) -> None:
    assert [r.keys() for r in a] == [r.keys() for r in b]
    for ra, rb in zip(a, b):
        assert float(ra["lr"]) == float(rb["lr"]), "the schedule must be the same"
        assert float(ra["train_loss"]) == pytest.approx(float(rb["train_loss"]), rel=rel)


@needs_cuda
def test_replayed_steps_equal_eager_steps_and_follow_the_schedule(monkeypatch):
    """The captured infill step, replayed on new holes while the lr moves, against eager."""
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)  # true float32
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    from pixelzoo.data.base import DataSplits, ImageSet
    from pixelzoo.engine.build import build_mask
    from pixelzoo.engine.cuda_graphs import GraphedTrainStep
    from pixelzoo.models.scan import select
    from pixelzoo.models.wavefront import supports
    from pixelzoo.recipe import build_part

    rng = np.random.default_rng(0)
    images = ImageSet(rng.integers(0, 256, (16, 3, 8, 8), dtype=np.uint8))
    data = DataSplits(train=images, val=images, test=images)
    task = build_part("tasks", {"type": "infill"}, data=data, mask=build_mask({"type": "boxes"},
                                                                              data))
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        m = build_part("models", {"type": "rowrnn", "embed": 8, "hidden": 8, "layers": 2,
                                  "directions": 1, "decoder": {"type": "conditional"}},
                       **task.model_kwargs()).cuda().train()
        assert supports(m)[0]
        select(m, "wavefront")
        models.append(m)
    factors = [1.0, 0.3, 2.0, 0.05, 1.5, 0.7]
    eager_opt = torch.optim.Adam(models[0].parameters(), lr=3e-3)
    graph_opt = torch.optim.Adam(models[1].parameters(), lr=3e-3, capturable=True)
    scheds = [torch.optim.lr_scheduler.LambdaLR(o, lambda s: factors[min(s, 5)])
              for o in (eager_opt, graph_opt)]
    use_tensor_lr(graph_opt)
    batch = torch.from_numpy(images.images[:8]).cuda()
    step = None
    for s in range(len(factors)):
        gen = np.random.default_rng([1, s])  # new holes every step, same shapes
        inputs = task.capture_inputs(batch, None, gen)
        eager_opt.zero_grad()
        loss, _ = task.training_loss(models[0], batch, None, np.random.default_rng([1, s]))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(models[0].parameters(), 1.0)
        eager_opt.step()
        if step is None:
            step = GraphedTrainStep(models[1], graph_opt, task.capture_loss, inputs,
                                    clip_grad=1.0)
        graphed = step(*inputs)
        torch.testing.assert_close(graphed, loss.detach(), rtol=1e-4, atol=1e-5)
        assert float(graph_opt.param_groups[0]["lr"]) == pytest.approx(
            eager_opt.param_groups[0]["lr"], rel=1e-6)
        for a, b in zip(models[0].parameters(), models[1].parameters()):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
        for sched in scheds:
            sched.step()


@needs_cuda
@pytest.mark.parametrize("recipe_text", [GPU_TINY, GPU_INFILL], ids=["classification", "infill"])
def test_a_graphed_run_matches_an_eager_run(tmp_path, recipe_text):
    recipe = write_recipe(tmp_path / "r", recipe_text)
    eager = _fit(recipe, tmp_path / "eager", "train.epochs=2", *SCHEDULE)
    graphed = _fit(recipe, tmp_path / "graphed", "train.epochs=2", *SCHEDULE,
                   "train.cuda_graphs=true")
    assert eager._graph is None and graphed._graph is not None, "the step was not captured"
    assert torch.is_tensor(graphed.optimizer.param_groups[0]["lr"])
    _close_rows(rows(graphed.run_dir), rows(eager.run_dir))
    _close_weights(weights(graphed.run_dir), weights(eager.run_dir))


@needs_cuda
def test_a_graphed_bf16_run_trains_like_the_eager_one(tmp_path):
    recipe = write_recipe(tmp_path / "r", GPU_INFILL)
    common = ["train.epochs=1", "train.precision=bf16", *SCHEDULE]
    eager = _fit(recipe, tmp_path / "eager", *common)
    graphed = _fit(recipe, tmp_path / "graphed", *common, "train.cuda_graphs=true")
    assert graphed._graph is not None and graphed._graph.autocast_dtype == torch.bfloat16
    _close_rows(rows(graphed.run_dir), rows(eager.run_dir), rel=2e-2)


@needs_cuda
@pytest.mark.parametrize("first, then", [(True, False), (False, True)],
                         ids=["graphed-then-eager", "eager-then-graphed"])
def test_resume_across_modes(tmp_path, first, then):
    # TINY's warm-up schedule (a cosine would stretch when the epochs are raised at resume)
    recipe = write_recipe(tmp_path / "r", GPU_TINY)
    straight = _fit(recipe, tmp_path / "straight", f"train.cuda_graphs={first}")
    half = _fit(recipe, tmp_path / "cut", "train.epochs=2", f"train.cuda_graphs={first}")
    rest = _fit(recipe, tmp_path / "cut", f"train.cuda_graphs={then}", resume=str(half.run_dir))
    assert rest.run_dir == half.run_dir and rest.global_step == straight.global_step
    assert (rest._graph is not None) is then
    _close_rows(rows(rest.run_dir), rows(straight.run_dir))
    _close_weights(weights(rest.run_dir), weights(straight.run_dir))


@needs_cuda
def test_a_graphed_run_resumes_exactly_in_its_own_mode(tmp_path):
    """Capturing again at the resumed step changes nothing: the same steps, same order."""
    recipe = write_recipe(tmp_path / "r", GPU_TINY)
    straight = _fit(recipe, tmp_path / "straight", "train.cuda_graphs=true")
    half = _fit(recipe, tmp_path / "cut", "train.epochs=2", "train.cuda_graphs=true")
    rest = _fit(recipe, tmp_path / "cut", "train.cuda_graphs=true", resume=str(half.run_dir))
    assert half._graph is not None and rest._graph is not None
    _close_rows(rows(rest.run_dir), rows(straight.run_dir))
    _close_weights(weights(rest.run_dir), weights(straight.run_dir))

