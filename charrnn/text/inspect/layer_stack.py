"""The fused nn.LSTM/GRU/RNN returns only its top layer's outputs; inspecting any layer's units
needs each layer's. So the stack is rebuilt here as one-layer modules of the same cell holding
the same weights, and an LSTM's cell states `c` are recomputed from its gates."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class LayerStack:
    """The model's recurrent stack as one-layer modules of the same cell: every layer's
    outputs per step, and for an LSTM the cell states recomputed from the gates."""

    def __init__(self, model):
        rnn = model.rnn
        self.model = model
        self.cell = model.cfg.cell
        self.hidden = rnn.hidden_size
        device = next(model.parameters()).device
        self.layers: list[nn.Module] = []
        for k in range(rnn.num_layers):
            extra = {"nonlinearity": rnn.nonlinearity} if self.cell == "rnn" else {}
            one = type(rnn)(rnn.input_size if k == 0 else rnn.hidden_size, rnn.hidden_size, 1,
                            bias=rnn.bias, batch_first=True, **extra)
            names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if rnn.bias else [])
            one.load_state_dict({f"{n}_l0": getattr(rnn, f"{n}_l{k}").detach() for n in names})
            self.layers.append(one.to(device).eval())

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        m = self.model
        if m.embed is not None:
            return m.embed(ids)
        return F.one_hot(ids, m.cfg.input_size).float()

    def run(self, ids: torch.Tensor, states: list | None, want_c: bool):
        """ids (B, T) -> per-layer outputs h [(B, T, H)], per-layer cell states c (LSTM and
        want_c, else None), and the per-layer states to carry."""
        x = self.embed(ids)
        hs, cs, new_states = [], [] if (want_c and self.cell == "lstm") else None, []
        for k, layer in enumerate(self.layers):
            state = states[k] if states is not None else None
            out, new = layer(x, state)
            if cs is not None:
                cs.append(self._cell_states(layer, x, out, state))
            hs.append(out)
            new_states.append(new)
            x = out
        return hs, cs, new_states

    def _cell_states(self, layer, x, out, state):
        """c_t = f_t * c_{t-1} + i_t * g_t, the gates from the input and the previous h."""
        b, t, h = out.shape
        if state is None:
            h0 = out.new_zeros(b, 1, h)
            c = out.new_zeros(b, h)
        else:
            h0, c = state[0][0][:, None, :], state[1][0]
        prev = torch.cat([h0, out[:, :-1]], dim=1)
        gates = x @ layer.weight_ih_l0.T + prev @ layer.weight_hh_l0.T
        if layer.bias:
            gates = gates + layer.bias_ih_l0 + layer.bias_hh_l0
        i, f, g, _ = gates.chunk(4, dim=-1)
        i, f, g = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g)
        ig = i * g
        cs = torch.empty_like(out)
        for step in range(t):
            c = f[:, step] * c + ig[:, step]
            cs[:, step] = c
        return cs
