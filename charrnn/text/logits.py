"""From the network's logits to the distribution a character is drawn from: temperature,
top-k and nucleus (top-p). Shared by the step-by-step sampler and the CUDA-graph one."""
from __future__ import annotations

from dataclasses import dataclass

import torch

SAFE_TEMPERATURE = 1e-20  # logits below 1e18 in size cannot overflow float32 when divided by it


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    argmax: bool = False


def filter_logits(logits: torch.Tensor, settings: SamplingSettings) -> torch.Tensor:
    """Temperature, then top-k, then nucleus (top-p); removed entries become -inf. (B, V).

    A temperature so small that the division overflows divides the distances to the row's
    largest logit instead (the same softmax); one below float32's range keeps the likeliest
    characters alone: either way it acts as --argmax. No host sync (CUDA graphs capture it).
    """
    logits = logits.float()
    if settings.temperature >= SAFE_TEMPERATURE:  # the common case: one division per step
        logits = logits / settings.temperature
    elif settings.temperature < 1 / torch.finfo(torch.float32).max:
        top = logits.max(dim=-1, keepdim=True).values
        logits = torch.where(logits == top, 0.0, float("-inf"))
    else:
        top = logits.max(dim=-1, keepdim=True).values
        scaled = logits / settings.temperature
        overflowed = (torch.isinf(scaled) & torch.isfinite(logits)).any(dim=-1, keepdim=True)
        logits = torch.where(overflowed, (logits - top) / settings.temperature, scaled)
    if settings.top_k is not None and settings.top_k < logits.shape[-1]:
        kth = torch.topk(logits, settings.top_k, dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if settings.top_p is not None and settings.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
        cumulative = torch.softmax(sorted_logits, dim=-1).cumsum(dim=-1)
        # drop a token when the tokens ranked above it already cover top_p
        drop_sorted = (cumulative - torch.softmax(sorted_logits, dim=-1)) >= settings.top_p
        drop_sorted[:, 0] = False  # the likeliest always stays: a top_p below float32's range is 0
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits
