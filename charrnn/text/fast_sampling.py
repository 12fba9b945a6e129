"""Fast batch-1 generation on CPU: a lean recurrent step with int8 weights.

At batch 1 a step is bound by two costs: the weights' memory traffic (13 MB a step at 2 x 512
in fp32) and the fixed cost of each torch call. This step cuts both:

- the first layer's input product is a table lookup (embedding @ W_ih + biases, one row per
  character), so that layer does one matrix product, over its own hidden state;
- every later layer does one product over [h below, h own] with [W_ih | W_hh] side by side;
- large recurrent matrices are int8, quantized per output row, through torch's dynamic
  quantized linear (fbgemm / x86: the activations are quantized per call); the head and small
  matrices stay fp32, where the int8 call's fixed cost would outweigh its traffic saved;
- gates are computed into preallocated buffers; a character is drawn by Gumbel-max
  (argmax of logits / T plus Gumbel noise drawn a chunk at a time): the same distribution as
  softmax + multinomial, one call instead of three.

The numbers differ from the fp32 model's (`charrnn sample --exact` keeps those); what it
costs is measured by `quantized_cost` (eval of this step against fp32, in nats per char).
"""
from __future__ import annotations

import time
import warnings
import weakref
from typing import Callable, Iterator

import torch

INT8_MIN_ELEMENTS = 1 << 17  # below this a matrix stays fp32 (the int8 call's fixed cost wins)
PROBE_STEPS = 16  # batch-1 steps timed per round when choosing the step's threads


def _pack_int8(weight: torch.Tensor, bias: torch.Tensor | None):
    """fbgemm packed int8 weights, one scale per output row."""
    w = weight.detach().float().contiguous()
    scale = w.abs().amax(dim=1).clamp_min(1e-12) / 127.0
    q = torch.round(w / scale[:, None]).clamp_(-127, 127).to(torch.int8)
    with warnings.catch_warnings():  # quantized tensors are deprecated, the kernels are not
        warnings.simplefilter("ignore")
        qw = torch._make_per_channel_quantized_tensor(
            q, scale.double(), torch.zeros(w.shape[0], dtype=torch.long), 0)
        return torch.ops.quantized.linear_prepack(
            qw, None if bias is None else bias.detach().float().contiguous())


def make_linear(weight: torch.Tensor, bias: torch.Tensor | None, int8_min: int
                ) -> Callable[[torch.Tensor], torch.Tensor]:
    """x (B, K) -> x @ weight.T + bias, int8 for large matrices where the kernels exist."""
    if weight.numel() >= int8_min:
        try:
            packed = _pack_int8(weight, bias)
            linear = torch.ops.quantized.linear_dynamic
            linear(torch.zeros(1, weight.shape[1]), packed, False)  # the kernel runs here
            return lambda x: linear(x, packed, False)
        except (RuntimeError, AttributeError, NotImplementedError):
            pass  # no quantized engine on this CPU: fp32 below
    wt = weight.detach().float().t()
    if bias is None:
        return lambda x: torch.mm(x, wt)
    b = bias.detach().float()
    return lambda x: torch.addmm(b, x, wt)


def _fused_weights(model, layer: int):
    """The layer's [W_ih | W_hh] and bias in the step's gate layout (GRU: r z | i_n | h_n)."""
    rnn, h = model.rnn, model.cfg.hidden_size
    w_ih, w_hh = getattr(rnn, f"weight_ih_l{layer}"), getattr(rnn, f"weight_hh_l{layer}")
    b_ih, b_hh = getattr(rnn, f"bias_ih_l{layer}"), getattr(rnn, f"bias_hh_l{layer}")
    if model.cfg.cell != "gru":
        return w_ih, w_hh, b_ih, b_hh
    # GRU: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)): the two n products stay apart
    k_in = w_ih.shape[1]
    zeros_ih, zeros_hh = w_ih.new_zeros(h, k_in), w_hh.new_zeros(h, h)
    w_ih4 = torch.cat([w_ih[:2 * h], w_ih[2 * h:], zeros_ih])
    w_hh4 = torch.cat([w_hh[:2 * h], zeros_hh, w_hh[2 * h:]])
    b_ih4 = torch.cat([b_ih[:2 * h], b_ih[2 * h:], b_ih.new_zeros(h)])
    b_hh4 = torch.cat([b_hh[:2 * h], b_hh.new_zeros(h), b_hh[2 * h:]])
    return w_ih4, w_hh4, b_ih4, b_hh4


class FastWeights:
    """The step's weights, prepared once per model and parameter version (packing the int8
    matrices of a 2 x 512 model takes tens of milliseconds)."""

    def __init__(self, model, int8_min: int):
        cfg = model.cfg
        with torch.no_grad():
            w_ih, w_hh, b_ih, b_hh = _fused_weights(model, 0)
            inputs = (model.embed.weight if model.embed is not None
                      else torch.eye(cfg.input_size))  # one-hot input: W_ih's columns
            self.table = (inputs.double() @ w_ih.double().t() + b_ih.double()).float()
            self.linears = [make_linear(w_hh, b_hh, int8_min)]
            for layer in range(1, cfg.num_layers):
                w_ih, w_hh, b_ih, b_hh = _fused_weights(model, layer)
                self.linears.append(make_linear(torch.cat([w_ih, w_hh], 1), b_ih + b_hh,
                                                int8_min))
            self.head = make_linear(model.head.weight, model.head.bias, 1 << 62)  # fp32


_PREPARED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def prepared(model, int8_min: int) -> FastWeights:
    """FastWeights of `model`, reused while its parameters are unchanged."""
    key = (int8_min, tuple((p.data_ptr(), p._version) for p in model.parameters()))
    cached = _PREPARED.get(model)
    if cached is None or cached[0] != key:
        cached = _PREPARED[model] = (key, FastWeights(model, int8_min))
    return cached[1]


class FastStep:
    """One generation step of a RecurrentNet: ids (B,) -> logits (B, V), state carried inside."""

    def __init__(self, model, batch: int = 1, int8_min: int | None = None):
        int8_min = INT8_MIN_ELEMENTS if int8_min is None else int8_min
        cfg = model.cfg
        self.cell, self.layers = cfg.cell, cfg.num_layers
        h, n = cfg.hidden_size, cfg.num_layers
        weights = prepared(model, int8_min)
        self.table, self.linears, self.head = weights.table, weights.linears, weights.head
        self.hs = torch.zeros(batch, n * h)  # every layer's h side by side
        self.h = [self.hs[:, i * h:(i + 1) * h] for i in range(n)]
        self.c = [torch.zeros(batch, h) for _ in range(n)]
        inputs = [self.h[0]] + [self.hs[:, (i - 1) * h:(i + 1) * h] for i in range(1, n)]
        make = {"lstm": _lstm_layer, "gru": _gru_layer, "rnn": _rnn_layer}[self.cell]
        self.runs = [make(linear, inp, out, c, layer == 0)
                     for layer, (linear, inp, out, c) in enumerate(zip(self.linears, inputs,
                                                                       self.h, self.c))]
        self.top = self.h[-1]

    def load_state(self, state) -> None:
        """From nn.RNN/LSTM/GRU's state: (L, B, H), or a tuple (h, c) of them."""
        h = state[0] if isinstance(state, tuple) else state
        for layer in range(self.layers):
            self.h[layer].copy_(h[layer])
            if self.cell == "lstm":
                self.c[layer].copy_(state[1][layer])

    def __call__(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.table.index_select(0, ids)  # the first layer's input product, looked up
        for run in self.runs:
            run(x)
        return self.head(self.top)


# One layer's step as a closure over its buffers and their views: slicing a tensor costs as
# much as a small kernel, so every view is made once. `x` is added to the first layer's gates.

def _lstm_layer(linear, inp, out, c, first):
    batch, h = out.shape
    sig, th, tmp = torch.empty(batch, 4 * h), torch.empty(batch, 4 * h), torch.empty(batch, h)
    i, f, g, o = sig[:, :h], sig[:, h:2 * h], th[:, 2 * h:3 * h], sig[:, 3 * h:]
    sigmoid, tanh, mul = torch.sigmoid, torch.tanh, torch.mul

    def run(x):
        gates = linear(inp)
        if first:
            gates.add_(x)
        sigmoid(gates, out=sig)
        tanh(gates, out=th)
        c.mul_(f).addcmul_(i, g)
        tanh(c, out=tmp)
        mul(o, tmp, out=out)

    return run


def _gru_layer(linear, inp, out, c, first):
    batch, h = out.shape
    buf, rz, n = torch.empty(batch, 4 * h), torch.empty(batch, 2 * h), torch.empty(batch, h)
    pre_rz, i_n, h_n, r, z = buf[:, :2 * h], buf[:, 2 * h:3 * h], buf[:, 3 * h:], rz[:, :h], rz[:, h:]

    def run(x):
        gates = linear(inp)
        if first:
            torch.add(gates, x, out=buf)
        else:
            buf.copy_(gates)
        torch.sigmoid(pre_rz, out=rz)
        torch.addcmul(i_n, r, h_n, out=n).tanh_()
        torch.sub(out, n, out=c)  # h' = n + z * (h - n)
        torch.addcmul(n, z, c, out=out)

    return run


def _rnn_layer(linear, inp, out, c, first):
    def run(x):
        gates = linear(inp)
        if first:
            gates.add_(x)
        torch.tanh(gates, out=out)

    return run


def gumbel_chunks(generator: torch.Generator, batch: int, vocab: int, chunk: int
                  ) -> Iterator[torch.Tensor]:
    """Gumbel noise, `chunk` steps of (B, V) at a time: argmax(logits + noise) ~ softmax."""
    while True:
        u = torch.rand(chunk, batch, vocab, generator=generator)
        yield from (-(-u.clamp_min_(1e-30).log_()).log_()).unbind(0)


_STEP_THREADS: dict = {}


def step_threads(model, threads: int) -> int:
    """1 or `threads`, whichever runs this model's batch-1 step faster on this machine, timed
    once per shape and process (tens of milliseconds). Where a step is dozens of small kernels
    a second thread adds only hand-overs; where its int8 products are large it pays (2 x 512 on
    a 2-core Xeon: the two products 121 us on two threads, 243 us on one). Two must win by
    10%: on a busy machine a second thread can wait for a descheduled one."""
    cfg = model.cfg
    key = (cfg.cell, cfg.num_layers, cfg.hidden_size, cfg.input_size, threads)
    if threads <= 1 or key in _STEP_THREADS:
        return _STEP_THREADS.get(key, 1)
    probe, ids, best = FastStep(model, 1), torch.zeros(1, dtype=torch.long), {}
    try:
        with torch.inference_mode():
            for n in (1, threads, 1, threads):
                torch.set_num_threads(n)
                probe(ids)
                start = time.perf_counter()
                for _ in range(PROBE_STEPS):
                    probe(ids)
                best[n] = min(best.get(n, float("inf")), time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    _STEP_THREADS[key] = threads if best[threads] < 0.9 * best[1] else 1
    return _STEP_THREADS[key]


def generate_fast(model, logits: torch.Tensor, state, length: int, settings, generator,
                  chunk: int = 64) -> Iterator[torch.Tensor]:
    """Yields (B, <=chunk) tensors of new ids, `length` in all, from the prime's logits/state."""
    from charrnn.text.logits import SAFE_TEMPERATURE, filter_logits
    from charrnn.text.sampling import NonFiniteOutput

    batch, vocab = logits.shape
    step = FastStep(model, batch)
    step.load_state(state)
    plain = (settings.top_k is None and settings.top_p is None
             and settings.temperature >= SAFE_TEMPERATURE)
    inv_t = 1.0 / settings.temperature if plain else 1.0
    noise = gumbel_chunks(generator, batch, vocab, chunk)
    threads = torch.get_num_threads()
    own = step_threads(model, threads) if batch == 1 else threads
    out = []
    try:
        torch.set_num_threads(own)
        for i in range(length):
            if settings.argmax:
                nxt = logits.argmax(dim=-1)
            elif plain:
                nxt = torch.add(next(noise), logits, alpha=inv_t).argmax(dim=-1)
            else:
                nxt = torch.add(next(noise), filter_logits(logits, settings)).argmax(dim=-1)
            out.append(nxt)
            if len(out) == chunk or i == length - 1:
                if not torch.isfinite(logits).all():
                    raise NonFiniteOutput()
                torch.set_num_threads(threads)  # the caller's setting while it has the chunk
                yield torch.stack(out, dim=1)
                torch.set_num_threads(own)
                out = []
            if i < length - 1:
                logits = step(nxt)
    finally:
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)


@torch.inference_mode()
def quantized_cost(model, ids, streams: int = 16) -> tuple[float, float]:
    """Loss in nats/char of the fp32 model and of this step, teacher-forced over the same
    `streams` contiguous rows of `ids` from a zero state: the price of the fast path."""
    from charrnn.text.evaluate import score_stream

    was_training = model.training
    model.eval()
    fp32 = score_stream(model, ids, streams=streams).loss
    cols = (len(ids) - 1) // streams
    rows = torch.as_tensor(ids[:streams * cols + 1].astype("int64"))
    inputs = rows[:streams * cols].view(streams, cols)
    targets = rows[1:streams * cols + 1].view(streams, cols)
    step = FastStep(model, streams)
    total = torch.zeros((), dtype=torch.float64)
    for t in range(cols):
        logits = step(inputs[:, t])
        total += torch.nn.functional.cross_entropy(logits, targets[:, t], reduction="sum")
    model.train(was_training)
    return fp32, total.item() / (streams * cols)
