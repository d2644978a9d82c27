"""The schedule (`onecycle` is torch's OneCycleLR), the device choice, and the run's scan line."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
import torch
from engine_helpers import run_once

from pixelzoo.engine.device import pick_device
from pixelzoo.engine.optim import current_lr, load_schedule, make_optimizer, make_scheduler
from pixelzoo.errors import PixelzooError


def _cfg(kind: str = "onecycle", warmup: int = 0, lr: float = 0.01) -> SimpleNamespace:
    return SimpleNamespace(optimizer=SimpleNamespace(type="adam", lr=lr, weight_decay=0.0),
                           scheduler=SimpleNamespace(type=kind, warmup_steps=warmup,
                                                     min_lr_ratio=0.0))


def _rates(sched, opt, n: int) -> list[float]:
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_onecycle_is_torchs_one_cycle_schedule():
    model = torch.nn.Linear(2, 2)
    opt = make_optimizer(model.parameters(), _cfg(warmup=4))
    sched = make_scheduler(opt, _cfg(warmup=4), 10)
    assert isinstance(sched, torch.optim.lr_scheduler.OneCycleLR)
    ref_opt = torch.optim.Adam(torch.nn.Linear(2, 2).parameters(), lr=0.01)
    ref = torch.optim.lr_scheduler.OneCycleLR(ref_opt, max_lr=0.01, total_steps=10,
                                              pct_start=0.4, cycle_momentum=False)
    got, want = _rates(sched, opt, 10), _rates(ref, ref_opt, 10)
    assert got == want
    assert got[0] == pytest.approx(0.01 / 25) and max(got) == pytest.approx(0.01)
    assert got.index(max(got)) == 3  # the peak ends the 4 warm-up steps
    assert got[-1] < 0.01 / 25, "it anneals below where it started"
    assert opt.param_groups[0]["betas"] == (0.9, 0.999), "momentum is not cycled"


def test_a_resumed_onecycle_stretches_to_the_new_length():
    model = torch.nn.Linear(2, 2)
    opt = make_optimizer(model.parameters(), _cfg())
    short = make_scheduler(opt, _cfg(), 10)
    _rates(short, opt, 6)
    saved = short.state_dict()
    longer = make_scheduler(opt, _cfg(), 20)
    load_schedule(longer, saved)
    assert longer.last_epoch == 6 and longer.total_steps == 20
    _rates(longer, opt, 14)  # past the old length: torch would raise with total_steps=10
    assert current_lr(opt, longer) < 0.01 / 25


@pytest.mark.parametrize("warmup, total", [(1, 10), (10, 10)])
def test_a_onecycle_warm_up_torch_cannot_run_is_refused(warmup, total):
    opt = make_optimizer(torch.nn.Linear(2, 2).parameters(), _cfg(warmup=warmup))
    with pytest.raises(PixelzooError, match="train.scheduler.warmup_steps"):
        make_scheduler(opt, _cfg(warmup=warmup), total)


def test_the_reported_rate_is_the_schedules_own_float_with_a_tensor_lr():
    from pixelzoo.engine.cuda_graphs import use_tensor_lr

    for kind in ("cosine", "onecycle"):
        model = torch.nn.Linear(2, 2)
        opt = make_optimizer(model.parameters(), _cfg(kind, warmup=3))
        sched = make_scheduler(opt, _cfg(kind, warmup=3), 10)
        plain_opt = make_optimizer(torch.nn.Linear(2, 2).parameters(), _cfg(kind, warmup=3))
        plain = make_scheduler(plain_opt, _cfg(kind, warmup=3), 10)
        use_tensor_lr(opt)
        for _ in range(5):
            opt.step()
            sched.step()
            plain_opt.step()
            plain.step()
        assert torch.is_tensor(opt.param_groups[0]["lr"])
        assert current_lr(opt, sched) == plain_opt.param_groups[0]["lr"], kind


def test_one_device_choice():
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert pick_device("cpu") == torch.device("cpu")
    with pytest.raises(PixelzooError, match="--device: unknown device 'gpu'"):
        pick_device("gpu", key="--device")
    if not torch.cuda.is_available():
        with pytest.raises(PixelzooError, match="train.device: 'cuda' was asked for but no CUDA"):
            pick_device("cuda", key="train.device")


def test_the_run_says_which_scan_it_took(tiny_recipe, tmp_path, capsys):
    from pixelzoo.engine.trainer import train
    from pixelzoo.recipe import load_recipe

    quick = ["train.epochs=1", "train.steps_per_epoch=1"]
    ref = run_once(tiny_recipe, tmp_path / "ref", *quick)
    assert ref.summary["scan"] == {"name": "reference", "form": "",
                                   "reason": "the reference loop was asked for"}
    auto = train(load_recipe(tiny_recipe, [*quick, "train.fast_path=auto"]),
                 out_root=tmp_path / "auto", quiet=False)
    header = [line for line in capsys.readouterr().out.splitlines() if "parameters) on" in line]
    assert len(header) == 1 and ", wavefront scan," in header[0]
    saved = json.loads((auto.run_dir / "summary.json").read_text())
    assert saved["scan"]["name"] == "wavefront" and saved["scan"]["reason"] == ""
