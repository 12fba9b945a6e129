"""One recurrent network for text and series: input -> stacked fused RNN -> linear head."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from charrnn.config import ModelConfig

_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}

class RecurrentNet(nn.Module):
    """Embedding (or one-hot, or real values) -> nn.RNN/LSTM/GRU stack -> nn.Linear.

    Uses PyTorch's fused multi-layer modules (cuDNN on GPU, oneDNN on CPU): no Python loop
    over time steps.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.tokens and cfg.embed > 0:
            self.embed = nn.Embedding(cfg.input_size, cfg.embed)
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
        return self.rnn(x, state)

    def forward(self, x: torch.Tensor, state=None):
        """Returns logits (B, T, output_size) and the state to carry into the next window."""
        out, state = self.features(x, state)
        return self.head(out), state

    def forward_last(self, x: torch.Tensor, state=None):
        """Many-to-one: the head applied to the last step only, (B, output_size)."""
        out, _ = self.features(x, state)
        return self.head(out[:, -1])


def detach_state(state):
    """Keep the values, drop the graph: truncated backpropagation through time."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


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
