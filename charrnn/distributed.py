"""Data-parallel training across processes started by torchrun (gloo on CPU, NCCL on CUDA).

Each rank trains on its own contiguous shard of the corpus; DistributedDataParallel averages
the gradients, so the weights stay identical everywhere. Rank 0 alone draws the view and writes
checkpoints. Once per step the ranks agree on the mean loss and on whether to stop (a signal,
a time budget), so they always stop at the same step.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def init_world(device: torch.device) -> tuple[World, torch.device]:
    """Joins the process group torchrun set up; a single process gets World()."""
    if not launched_by_torchrun():
        return World(), device
    if device.type == "cuda":
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return World(dist.get_rank(), dist.get_world_size()), device


def close_world(world: World) -> None:
    """All ranks leave together: a rank that tore its connections down while rank 0 was still
    writing the last checkpoint aborted in gloo's teardown now and then (1 run in 12 on a
    busy machine)."""
    if world.distributed and dist.is_initialized():
        try:
            dist.barrier()
        finally:
            dist.destroy_process_group()


def shard(ids: np.ndarray, world: World) -> np.ndarray:
    """Equal contiguous shards, so every rank has the same number of windows per epoch."""
    if not world.distributed:
        return ids
    size = len(ids) // world.size
    return ids[world.rank * size:(world.rank + 1) * size]


def agree(loss: torch.Tensor, *flags: bool) -> tuple[torch.Tensor, tuple[bool, ...]]:
    """All ranks: the mean loss of this step, and each flag raised on any rank."""
    values = torch.tensor([0.0] + [float(f) for f in flags], device=loss.device)
    values[0] = loss.detach().float()
    dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values[0] / dist.get_world_size(), tuple(bool(v > 0) for v in values[1:].tolist())


def from_main(value: int, world: World) -> int:
    """Rank 0's value on every rank (a choice measured per process must still agree)."""
    if not world.distributed:
        return value
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]
