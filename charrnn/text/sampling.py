"""Generation: one step at a time from the carried hidden state, never re-running the prefix."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Iterator

import torch

from charrnn.errors import EXIT_FAILURE, CharrnnError


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
        drop = drop_sorted.scatter(-1, order, drop_sorted)
        logits = logits.masked_fill(drop, float("-inf"))
    return logits


def pick(logits: torch.Tensor, settings: SamplingSettings,
         generator: torch.Generator | None) -> torch.Tensor:
    """Next ids (B,) from logits (B, V)."""
    if settings.argmax:
        return logits.argmax(dim=-1)
    probs = torch.softmax(filter_logits(logits, settings), dim=-1)
    try:
        return torch.multinomial(probs, 1, generator=generator).squeeze(-1)
    except RuntimeError:
        if not torch.isfinite(logits).all():
            raise NonFiniteOutput() from None
        raise


class NonFiniteOutput(CharrnnError):
    """The network's outputs are NaN or infinite: its weights diverged. A failure (exit 1)."""

    def __init__(self):
        super().__init__("the model's outputs are not finite numbers (NaN or infinity): its "
                         "weights have diverged; train it again with a lower --lr",
                         EXIT_FAILURE)


@contextlib.contextmanager
def single_step_kernels(device: torch.device):
    """On CPU, oneDNN's LSTM kernel is 2-3x slower than the native one for batch-1 single
    steps (torch 2.13), while faster for training; switch it off while generating."""
    if device.type != "cpu":
        yield
        return
    previous = torch.backends.mkldnn.enabled
    torch.backends.mkldnn.enabled = False
    try:
        yield
    finally:
        torch.backends.mkldnn.enabled = previous


@torch.inference_mode()
def generate(model, prime_ids: list[int], length: int, settings: SamplingSettings,
             num_samples: int = 1, seed: int | None = None,
             chunk: int = 64) -> Iterator[torch.Tensor]:
    """Yields (num_samples, <=chunk) tensors of new ids, `length` in all."""
    device = next(model.parameters()).device
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    was_training = model.training
    model.eval()
    try:
        with single_step_kernels(device):
            x = torch.tensor([prime_ids] * num_samples, dtype=torch.long, device=device)  # (B, P)
            logits, state = model(x)  # the prime, once
            logits = logits[:, -1]  # (B, V)
            if device.type == "cuda":  # launch-bound at batch 1: replay CUDA graphs instead
                from charrnn.text.graph_sampling import generate_chunked

                yield from generate_chunked(model, logits, state, length, settings, generator,
                                            use_graph=True)
                return
            out = []
            for i in range(length):
                nxt = pick(logits, settings, generator)  # (B,)
                out.append(nxt)
                if len(out) == chunk or i == length - 1:
                    yield torch.stack(out, dim=1).cpu()
                    out = []
                if i < length - 1:
                    logits, state = model(nxt.unsqueeze(1), state)
                    logits = logits[:, -1]
    finally:
        model.train(was_training)


def sample_text(model, vocab, prime: str, length: int, settings: SamplingSettings,
                seed: int | None = None) -> str:
    """Convenience for the live view and tests: the generated continuation as one string."""
    pieces = generate(model, vocab.encode(prime).tolist(), length, settings, seed=seed)
    return "".join(vocab.decode(p[0]) for p in pieces)
