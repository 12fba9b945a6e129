"""`sequence_loss`, as `tf.contrib.seq2seq.sequence_loss` computes it in the lecture."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def sequence_loss(logits: torch.Tensor, targets: torch.Tensor,
                  weights: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted mean of per-step softmax cross-entropy.

    logits (B, T, V), targets (B, T), weights (B, T) or None (all ones). Like TensorFlow's
    default (average_across_timesteps and average_across_batch), the sum of weighted losses
    is divided by the sum of the weights.
    """
    per_step = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                               targets.reshape(-1), reduction="none")  # (B*T,)
    if weights is None:
        return per_step.mean()
    weights = weights.reshape(-1).to(per_step.dtype)
    return (per_step * weights).sum() / weights.sum()
