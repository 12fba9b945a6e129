"""On CUDA: generation steps captured in a CUDA graph and replayed, sampling on the device.

At batch 1 a step is a handful of tiny kernels, so a plain loop is bound by kernel launches and
by one host sync per character. Here `steps` steps (recurrent step, head, Gumbel-max sample) are
captured once and replayed; the ids stay on the device and come back once per chunk. Gumbel-max
draws exactly from the softmax of the filtered logits (temperature, top-k, top-p applied on the
device), and the same function runs on CPU, where the tests compare it with the plain sampler.
"""
from __future__ import annotations

import torch

from charrnn.model import state_tensors
from charrnn.text.logits import SamplingSettings, filter_logits

GRAPH_STEPS = 32


def gumbel_pick(logits: torch.Tensor, settings: SamplingSettings,
                uniform: torch.Tensor) -> torch.Tensor:
    """Next ids (B,) from logits (B, V) and uniform noise (B, V): no host sync, no multinomial."""
    if settings.argmax:
        return logits.argmax(dim=-1)
    gumbel = -torch.log(-torch.log(uniform.clamp_min(torch.finfo(uniform.dtype).tiny)))
    return (filter_logits(logits, settings) + gumbel).argmax(dim=-1)


class ChunkedSampler:
    """Runs `steps` generation steps at a time from static buffers; a CUDA graph replays them.

    With `use_graph` False (CPU, or a failed capture) the very same step function runs eagerly.
    """

    def __init__(self, model, settings: SamplingSettings, first: torch.Tensor, state,
                 generator: torch.Generator, steps: int = GRAPH_STEPS, use_graph: bool = True):
        self.model, self.settings, self.steps, self.generator = model, settings, steps, generator
        batch = first.shape[0]
        vocab = model.cfg.output_size
        self.x = first.reshape(batch, 1).clone()  # (B, 1) the last id generated
        self.cell_is_lstm = isinstance(state, tuple)
        self.state = [t.clone() for t in state_tensors(state)]  # static hidden (and cell) state
        self.noise = torch.empty(batch, steps, vocab, device=first.device)
        self.out = torch.empty(batch, steps, dtype=torch.long, device=first.device)
        self.graph = self._capture() if use_graph else None

    def _body(self) -> None:
        x = self.x
        state = tuple(self.state) if self.cell_is_lstm else self.state[0]
        for i in range(self.steps):
            logits, state = self.model(x, state)  # (B, 1, V)
            nxt = gumbel_pick(logits[:, -1], self.settings, self.noise[:, i])
            self.out[:, i] = nxt
            x = nxt.unsqueeze(1)
        self.x.copy_(x)
        for static, new in zip(self.state, state_tensors(state)):
            static.copy_(new)

    def _capture(self):
        start = (self.x.clone(), [t.clone() for t in self.state])
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up outside the graph, as capture requires
            for _ in range(2):
                self._body()
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._body()
        self.x.copy_(start[0])  # the warm-up moved the buffers on; start again
        for static, saved in zip(self.state, start[1]):
            static.copy_(saved)
        return graph

    def next_chunk(self) -> torch.Tensor:
        """(B, steps) ids, still on the device."""
        torch.rand(self.noise.shape, generator=self.generator, out=self.noise)
        if self.graph is not None:
            self.graph.replay()
        else:
            self._body()
        return self.out.clone()


def generate_chunked(model, logits: torch.Tensor, state, length: int,
                     settings: SamplingSettings, generator: torch.Generator, use_graph: bool):
    """Yields (B, n) CPU tensors of ids; `logits` (B, V) and `state` follow the prime."""
    uniform = torch.rand(logits.shape, generator=generator, device=logits.device)
    first = gumbel_pick(logits, settings, uniform)
    yield first.unsqueeze(1).cpu()
    left = length - 1
    if left <= 0:
        return
    try:
        sampler = ChunkedSampler(model, settings, first, state, generator, use_graph=use_graph)
    except RuntimeError:  # a capture this GPU or build refuses: the same steps, eagerly
        sampler = ChunkedSampler(model, settings, first, state, generator, use_graph=False)
    while left > 0:
        ids = sampler.next_chunk()[:, :left]
        left -= ids.shape[1]
        yield ids.cpu()
