"""What a run carries from one process to the next: its position, best and history, the
optimizer's state as safetensors-friendly tensors plus JSON (never pickle), and the carried
recurrent state of an epoch cut short."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from charrnn.model import state_from_tensors, state_tensors


@dataclass
class RunState:
    """Where a run stands; everything `--resume` needs besides weights, optimizer and RNG."""

    epoch: int = 0  # completed epochs
    step: int = 0
    window: int = 0  # next window of the current epoch
    epoch_loss_sum: float = 0.0
    epoch_steps: int = 0
    best_loss: float = math.inf
    best_epoch: int = 0
    elapsed: float = 0.0  # seconds of training, across resumes
    history: list = field(default_factory=list)

    def to_meta(self) -> dict:
        return {"epoch": self.epoch, "step": self.step, "window": self.window,
                "epoch_loss_sum": self.epoch_loss_sum, "epoch_steps": self.epoch_steps,
                "best_loss": None if math.isinf(self.best_loss) else self.best_loss,
                "best_epoch": self.best_epoch, "elapsed": self.elapsed,
                "history": list(self.history)}

    @classmethod
    def from_meta(cls, meta: dict) -> "RunState":
        """From metadata checkpoint.load has checked (counts, numbers, history entries)."""
        best = meta.get("best_loss")
        return cls(epoch=int(meta.get("epoch", 0)), step=int(meta.get("step", 0)),
                   window=int(meta.get("window", 0)),
                   epoch_loss_sum=float(meta.get("epoch_loss_sum", 0.0)),
                   epoch_steps=int(meta.get("epoch_steps", 0)),
                   best_loss=math.inf if best is None else float(best),
                   best_epoch=int(meta.get("best_epoch", 0)),
                   elapsed=float(meta.get("elapsed", 0.0)),
                   history=list(meta.get("history", [])))


def payload(model, optimizer, carry, meta: dict) -> tuple[dict, dict]:
    """A checkpoint's (tensors, metadata): weights, optimizer, RNG and carried state."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    opt_tensors, opt_meta = optimizer_to_tensors(optimizer)
    tensors.update(opt_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    for i, t in enumerate(state_tensors(carry)):
        tensors[f"carry.{i}"] = t
    return tensors, {**meta, "optimizer": opt_meta}


def restored_carry(ckpt, state: RunState, windows, batch_size, cell: str, device, world):
    """The recurrent state to carry on with mid-epoch, or None (and the epoch restarts when its
    windows are not the ones the checkpoint was cut from)."""
    same_windows = (ckpt.meta["train"].get("batch_size") == batch_size
                    and ckpt.meta.get("windows_per_epoch", len(windows)) == len(windows))
    if not same_windows or state.window >= len(windows):
        state.window, state.epoch_loss_sum, state.epoch_steps = 0, 0.0, 0
        return None
    if (state.window and windows.carries_state and not world.distributed
            and ckpt.meta.get("world_size", 1) == 1):
        carry = [t.to(device) for _, t in sorted(ckpt.group("carry").items())]
        if all(t.shape[1] == windows.batch_size for t in carry):
            return state_from_tensors(cell, carry)
    return None


def optimizer_to_tensors(optimizer) -> tuple[dict, dict]:
    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, entry in sd["state"].items():
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def check_optimizer_state(sd: dict, params: list) -> None:
    """An optimizer state fit for `params` (the optimizer's, in order): the fused kernels read
    each moment as the parameter's shape, and one of another size crashed the process. Raises
    ValueError."""
    for idx, entry in sd["state"].items():
        if not 0 <= idx < len(params):
            raise ValueError(f"state for parameter {idx} of {len(params)}")
        for key in ("exp_avg", "exp_avg_sq"):
            value = entry.get(key)
            if not torch.is_tensor(value) or value.shape != params[idx].shape:
                raise ValueError(f"parameter {idx}'s {key} is missing or has the wrong shape")
        step = entry.get("step")
        if not ((torch.is_tensor(step) and step.numel() == 1)
                or (isinstance(step, (int, float)) and not isinstance(step, bool))):
            raise ValueError(f"parameter {idx}'s step is not one number")
    for group in sd["param_groups"]:
        betas = group.get("betas")
        if not (isinstance(betas, tuple) and len(betas) == 2
                and all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas)):
            raise ValueError(f"betas {betas!r}")
        if not all(isinstance(group.get(k), (int, float)) and group[k] >= 0
                   for k in ("lr", "eps", "weight_decay")):
            raise ValueError("lr, eps or weight decay out of range")


def optimizer_from_tensors(tensors: dict, meta: dict) -> dict:
    state: dict = {}
    for name, value in tensors.items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    for name, value in meta.get("scalars", {}).items():
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = []
    for group in meta["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    return {"state": state, "param_groups": groups}
