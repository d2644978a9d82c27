"""torch.distributed setup for runs launched by `torchrun` (no home-made launcher).

`torchrun` sets RANK, WORLD_SIZE and LOCAL_RANK; when WORLD_SIZE > 1 we join the process group
(NCCL on CUDA, gloo on CPU). Only rank 0 writes files; metrics are all-reduced so every rank
reports the same numbers. A plain `pixelzoo run` is a world of one and never touches
torch.distributed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch


@dataclass
class DistEnv:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def setup(device_kind: str) -> DistEnv:
    """Join the process group if launched by torchrun; otherwise a world of one."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistEnv()
    import torch.distributed as dist

    env = DistEnv(int(os.environ["RANK"]), world, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        backend = "nccl" if device_kind == "cuda" else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(env.local_rank)
        dist.init_process_group(backend=backend)
    return env


def barrier(env: DistEnv) -> None:
    if env.enabled:
        import torch.distributed as dist

        dist.barrier()


def all_reduce_sum(env: DistEnv, values: list[float], device: torch.device) -> list[float]:
    """Sum a list of floats over ranks (identity for a world of one)."""
    if not env.enabled:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def broadcast_object(env: DistEnv, obj: object) -> object:
    if not env.enabled:
        return obj
    import torch.distributed as dist

    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def teardown(env: DistEnv) -> None:
    if env.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
