"""torch.distributed setup for runs launched by `torchrun` (no home-made launcher).

`torchrun` sets RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address; when WORLD_SIZE > 1 we
join the process group (NCCL on CUDA, gloo on CPU). A process group that the caller already
initialised (tests with `torch.multiprocessing` and `init_method=file://`) is used as it is and
left open at the end. A plain `pixelzoo run` is a world of one and never touches
torch.distributed. The helpers below are identities for a world of one, so the trainer calls them
unconditionally: only rank 0 writes files, decisions that must agree (stop now, diverged) are
all-reduced every step, and rank 0's reads and errors are broadcast (`run_on_main`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import torch

from pixelzoo.errors import CheckpointError, PixelzooError

T = TypeVar("T")


@dataclass
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we initialised the process group, so we destroy it

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device_kind: str) -> DistEnv:
    """Join the process group if launched by torchrun; otherwise a world of one."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", str(dist.get_rank())))
        return DistEnv(dist.get_rank(), dist.get_world_size(), local, owns_group=False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistEnv()
    env = DistEnv(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")),
                  owns_group=True)
    backend = "nccl" if device_kind == "cuda" else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(env.local_rank)
    dist.init_process_group(backend=backend)
    return env


def _reduce(env: DistEnv, values: list[float], device: torch.device, op: Any) -> list[float]:
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t, op=op)
    return t.tolist()


def all_reduce_sum(env: DistEnv, values: list[float], device: torch.device) -> list[float]:
    """Sum a list of floats over ranks (identity for a world of one)."""
    if not env.enabled:
        return values
    import torch.distributed as dist

    return _reduce(env, values, device, dist.ReduceOp.SUM)


def all_reduce_max(env: DistEnv, values: list[float], device: torch.device) -> list[float]:
    """Element-wise maximum over ranks: any rank's flag raises it for all."""
    if not env.enabled:
        return values
    import torch.distributed as dist

    return _reduce(env, values, device, dist.ReduceOp.MAX)


def broadcast_object(env: DistEnv, obj: object) -> object:
    """Rank 0's `obj` on every rank (picklable objects between our own processes only)."""
    if not env.enabled:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_gather_object(env: DistEnv, obj: object) -> list[object]:
    """Every rank's `obj`, in rank order, on every rank."""
    if not env.enabled:
        return [obj]
    import torch.distributed as dist

    out: list[object] = [None] * env.world_size
    dist.all_gather_object(out, obj)
    return out


def run_on_main(env: DistEnv, fn: Callable[[], T]) -> T:
    """Run `fn` on rank 0 only; its result, or its error, reaches every rank.

    This is also the barrier around checkpoints: no rank moves on before rank 0's write has
    finished, and a failed write stops every rank with the same message instead of leaving
    the others waiting in the next collective.
    """
    result: Any = None
    error: BaseException | None = None
    if env.is_main:
        try:
            result = fn()
        except Exception as exc:  # noqa: BLE001 - re-raised below, after telling the others
            error = exc
    if not env.enabled:
        if error is not None:
            raise error
        return result
    shared = None if error is None else (isinstance(error, CheckpointError),
                                         isinstance(error, PixelzooError), str(error))
    payload = broadcast_object(env, (None if error else result, shared))
    if error is not None:
        raise error
    result, shared = payload  # type: ignore[misc]
    if shared is not None:
        is_ckpt, is_user, msg = shared
        if is_ckpt:
            raise CheckpointError(msg)
        if is_user:
            raise PixelzooError(msg)
        raise RuntimeError(f"rank 0 failed: {msg}")
    return result


def teardown(env: DistEnv) -> None:
    if env.enabled and env.owns_group:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
