import pytest
import torch

from charrnn.config import ModelConfig
from charrnn.model import RecurrentNet, detach_state


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("embed", [0, 4])
def test_shapes_and_carried_state(cell, embed):
    cfg = ModelConfig(cell=cell, input_size=6, output_size=6, embed=embed, hidden_size=5,
                      num_layers=2)
    model = RecurrentNet(cfg)
    x = torch.randint(0, 6, (2, 3))  # (B, T)
    logits, state = model(x)
    assert logits.shape == (2, 3, 6)
    # carrying the state over two windows equals one pass over the joined window
    a, s = model(x[:, :2])
    b, _ = model(x[:, 2:], detach_state(s))
    assert torch.allclose(torch.cat([a, b], 1), logits, atol=1e-6)


def test_one_hot_input_matches_the_lecture_layout():
    cfg = ModelConfig(input_size=5, output_size=5, embed=0, hidden_size=5, num_layers=1)
    model = RecurrentNet(cfg)
    assert model.embed is None and model.rnn.input_size == 5


def test_series_input_and_many_to_one_head():
    cfg = ModelConfig(input_size=5, output_size=2, tokens=False, hidden_size=10, num_layers=1)
    out = RecurrentNet(cfg).forward_last(torch.randn(4, 7, 5))
    assert out.shape == (4, 2)


def test_lstm_forget_gate_bias_starts_at_one():
    model = RecurrentNet(ModelConfig(input_size=3, output_size=3, hidden_size=4, num_layers=1))
    assert torch.all(model.rnn.bias_ih_l0[4:8] == 1) and torch.all(model.rnn.bias_hh_l0[4:8] == 0)
