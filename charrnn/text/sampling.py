"""Generation: one step at a time from the carried hidden state, never re-running the prefix."""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch

from charrnn.errors import EXIT_FAILURE, CharrnnError
from charrnn.text.logits import SamplingSettings, filter_logits


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
             chunk: int = 64, fast: bool = False) -> Iterator[torch.Tensor]:
    """Yields (num_samples, <=chunk) tensors of new ids, `length` in all.

    fast: on CPU, the int8 lean step of text/fast_sampling.py (about 2x or more at batch 1,
    other numbers); otherwise the exact fp32 path, whose output a seed repeats bit for bit."""
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
            if fast and device.type == "cpu" and model.cfg.tokens:
                from charrnn.text.fast_sampling import generate_fast

                yield from generate_fast(model, logits, state, length, settings, generator, chunk)
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
