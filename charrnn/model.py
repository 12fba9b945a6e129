"""One recurrent network for text and series: input -> stacked fused RNN -> linear head."""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn as nn
import torch.nn.functional as F

from charrnn.config import ModelConfig

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_ONE_LAYER = {"LSTM": torch._VF.lstm, "GRU": torch._VF.gru, "RNN_TANH": torch._VF.rnn_tanh,
              "RNN_RELU": torch._VF.rnn_relu}


def _embedding_weight(cfg: ModelConfig) -> torch.Tensor:
    """nn.Embedding's own N(0, 1) initialisation, skipped on the meta device: there normal_
    runs through torch._refs, whose first call imports torch._dynamo (about 1 s), which made
    every checkpoint load (`sample`, `eval`) pay it just to learn the tensors' shapes."""
    weight = torch.empty(cfg.input_size, cfg.embed)
    if weight.device.type != "meta":
        nn.init.normal_(weight)
    return weight


class RecurrentNet(nn.Module):
    """Embedding (or one-hot, or real values) -> nn.RNN/LSTM/GRU stack -> nn.Linear.

    Uses PyTorch's fused multi-layer modules (cuDNN on GPU, oneDNN on CPU): no Python loop
    over time steps.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.tokens and cfg.embed > 0:
            self.embed = nn.Embedding(cfg.input_size, cfg.embed, _weight=_embedding_weight(cfg))
            rnn_input = cfg.embed
        else:
            self.embed = None
            rnn_input = cfg.input_size
        kwargs = {"nonlinearity": "tanh"} if cfg.cell == "rnn" else {}
        self.rnn = _CELLS[cfg.cell](rnn_input, cfg.hidden_size, cfg.num_layers, batch_first=True,
                                    dropout=cfg.dropout if cfg.num_layers > 1 else 0.0, **kwargs)
        self.head = nn.Linear(cfg.hidden_size, cfg.output_size)
        if cfg.cell == "lstm":
            self._forget_bias_one()

    def _forget_bias_one(self):
        """Forget-gate bias 1 (Jozefowicz et al. 2015): gradients flow from the first step."""
        h = self.cfg.hidden_size
        with torch.no_grad():
            for name, p in self.rnn.named_parameters():
                if name.startswith("bias_ih"):
                    p[h:2 * h].fill_(1.0)
                elif name.startswith("bias_hh"):
                    p[h:2 * h].fill_(0.0)

    def features(self, x: torch.Tensor, state=None):
        """x (B, T) ids or (B, T, F) values -> top-layer outputs (B, T, H) and the new state."""
        if self.cfg.tokens:
            x = self.embed(x) if self.embed is not None else F.one_hot(x, self.cfg.input_size).float()
        if self.training and self.rnn.dropout and x.device.type == "cpu":
            return stack_with_dropout(self.rnn, x, state)
        return self.rnn(x, state)

    def forward(self, x: torch.Tensor, state=None):
        """Returns logits (B, T, output_size) and the state to carry into the next window."""
        out, state = self.features(x, state)
        return self.head(out), state

    def forward_last(self, x: torch.Tensor, state=None):
        """Many-to-one: the head applied to the last step only, (B, output_size)."""
        out, _ = self.features(x, state)
        return self.head(out[:, -1])


class Ensemble(nn.Module):
    """`cfg.ensemble` networks of one shape trained side by side, each on its own loss; a
    prediction is their mean. On small series the spread between seeds is most of the error
    (issue 12: a 216-row trend x season series, five separately trained seeds 0.28-0.49 of
    persistence's RMSE, the mean of their forecasts 0.31; blended with the linear model, five
    side by side moved 13 series from 0.523 to 0.509 on average in 3.7x the time, so the
    series default stays one).

    Packed into one fused network M times as wide whose weights are block-diagonal (member j
    owns units j*h..(j+1)*h of every layer and reads only its own units below), so the M
    members cost one kernel call per step, not M; the blocks off the diagonal start at zero and
    their gradients are masked to zero, so they stay zero under Adam and the members never
    mix. Many-to-one only: what the series task uses.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if cfg.tokens:
            raise ValueError("an ensemble reads values, not tokens")
        self.cfg, m, h = cfg, cfg.ensemble, cfg.hidden_size
        self.rnn = RecurrentNet(replace(cfg, ensemble=1, hidden_size=m * h)).rnn
        self.head = nn.Linear(m * h, m * cfg.output_size)
        for name, p in self._packed():
            key = f"mask_{name.replace('.', '_')}"  # looked up per call: it follows .to(device)
            self.register_buffer(key, self._mask(name, tuple(p.shape)), persistent=False)
            with torch.no_grad():
                p.mul_(getattr(self, key))
            p.register_hook(lambda grad, key=key: grad * getattr(self, key))

    def _packed(self):
        yield from ((f"rnn.{n}", p) for n, p in self.rnn.named_parameters())
        yield from ((f"head.{n}", p) for n, p in self.head.named_parameters())

    def _mask(self, name: str, shape: tuple) -> torch.Tensor:
        """1 where a weight joins a member's own units, 0 between members."""
        m = self.cfg.ensemble
        rows = torch.arange(shape[0]) // (shape[0] // m // self._row_blocks(name)) % m
        if len(shape) == 1 or name == "rnn.weight_ih_l0":  # biases; the inputs are shared
            return torch.ones(shape)
        cols = torch.arange(shape[1]) // (shape[1] // m)
        return (rows[:, None] == cols[None, :]).float()

    def _row_blocks(self, name: str) -> int:
        """Gates stacked in a recurrent weight's rows (i, f, g, o for an LSTM), 1 for the head."""
        return 1 if name.startswith("head") else {"lstm": 4, "gru": 3, "rnn": 1}[self.cfg.cell]

    def pack(self, nets: list[RecurrentNet]) -> None:
        """Copy M separate networks' weights into the blocks (the rest stays zero)."""
        m, h, out = self.cfg.ensemble, self.cfg.hidden_size, self.cfg.output_size
        with torch.no_grad():
            for name, p in self._packed():
                p.zero_()
                blocks = self._row_blocks(name)
                width = out if name.startswith("head") else h
                for j, net in enumerate(nets):
                    own = net.get_parameter(name)
                    for g in range(blocks):
                        rows = slice(g * m * width + j * width, g * m * width + (j + 1) * width)
                        src = own[g * width:(g + 1) * width]
                        if p.dim() == 1:
                            p[rows] = src
                        elif name == "rnn.weight_ih_l0":
                            p[rows, :] = src
                        else:
                            p[rows, j * h:(j + 1) * h] = src

    def forward_members(self, x: torch.Tensor) -> torch.Tensor:
        """Each member's many-to-one output, (members, B, output_size)."""
        out, _ = self.rnn(x)
        y = self.head(out[:, -1])  # (B, M * output_size)
        return y.view(len(x), self.cfg.ensemble, -1).transpose(0, 1)

    def forward_last(self, x: torch.Tensor, state=None):
        if state is not None:
            raise ValueError("an ensemble carries no state between windows")
        return self.forward_members(x).mean(0)


def dropout_from_bits(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout whose mask comes from 16 random bits a unit, four units to a 64-bit draw of
    torch's generator: torch's CPU dropout draws a Bernoulli variable per unit, serially, about
    10 ns each (8.4 ms forward and backward for a 32 x 50 x 512 bf16 batch, against 2.8 ms).
    p is rounded to a multiple of 1/65536 (at most 65535/65536)."""
    cut = min(round(p * 65536), 65535)
    bits = torch.empty(x.numel() // 4 + 1, dtype=torch.int64, device=x.device)
    bits.random_(-2 ** 63, None)  # all 64 bits
    keep = bits.view(torch.int16)[:x.numel()].view(x.shape) >= cut - 32768
    return x * keep.to(x.dtype).mul_(65536 / (65536 - cut))


def stack_with_dropout(rnn: nn.RNNBase, x: torch.Tensor, state=None):
    """`rnn(x, state)` in training, one fused layer at a time with `dropout_from_bits` between
    them. On the CPU oneDNN runs a stack layer by layer anyway, so only the dropout changes."""
    layers, lstm = rnn.num_layers, rnn.mode == "LSTM"
    if state is None:
        zeros = x.new_zeros(layers, x.shape[0], rnn.hidden_size)
        state = (zeros, zeros) if lstm else zeros
    weights, finals = rnn._flat_weights, []
    per_layer = len(weights) // layers
    for layer in range(layers):
        if layer:
            x = dropout_from_bits(x, rnn.dropout)
        w = weights[layer * per_layer:(layer + 1) * per_layer]
        hx = tuple(s[layer:layer + 1] for s in state) if lstm else state[layer:layer + 1]
        x, *final = _ONE_LAYER[rnn.mode](x, hx, w, rnn.bias, 1, 0.0, True, False,
                                         rnn.batch_first)
        finals.append(final)
    if lstm:
        return x, (torch.cat([h for h, _ in finals]), torch.cat([c for _, c in finals]))
    return x, torch.cat([h for h, in finals])


def build_model(cfg: ModelConfig) -> nn.Module:
    """The network a config describes: one, or an ensemble of them."""
    return RecurrentNet(cfg) if cfg.ensemble == 1 else Ensemble(cfg)


def detach_state(state):
    """Keep the values, drop the graph: truncated backpropagation through time."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


def zero_rows(state, rows: torch.Tensor):
    """The state with the batch rows where `rows` is True set to zero (a fresh start)."""
    keep = (~rows).to(device=state_tensors(state)[0].device)[None, :, None]
    if isinstance(state, tuple):
        return tuple(t * keep for t in state)
    return state * keep


def float_state(state):
    """Autocast may hand back bf16 state; carry it in fp32 like the weights."""
    if isinstance(state, tuple):
        return tuple(t.float() for t in state)
    return state.float()


def state_tensors(state) -> list[torch.Tensor]:
    if state is None:
        return []
    return list(state) if isinstance(state, tuple) else [state]


def state_from_tensors(cell: str, tensors: list[torch.Tensor]):
    if not tensors:
        return None
    return tuple(tensors) if cell == "lstm" else tensors[0]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
