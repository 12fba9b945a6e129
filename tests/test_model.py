from dataclasses import replace

import pytest
import torch

from charrnn.config import ModelConfig
from charrnn.model import (Ensemble, RecurrentNet, build_model, detach_state, dropout_from_bits,
                           stack_with_dropout, zero_rows)


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


def _ensemble(cell, layers, members=4):
    cfg = ModelConfig(cell=cell, input_size=3, output_size=2, embed=0, hidden_size=5,
                      num_layers=layers, tokens=False, ensemble=members)
    nets = [RecurrentNet(replace(cfg, ensemble=1)) for _ in range(members)]
    packed = Ensemble(cfg)
    packed.pack(nets)
    return packed, nets


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("layers", [1, 2])
def test_packed_ensemble_is_its_members_side_by_side(cell, layers):
    packed, nets = _ensemble(cell, layers)
    x = torch.randn(7, 9, 3)
    alone = torch.stack([net.forward_last(x) for net in nets])  # (M, B, H)
    assert torch.allclose(packed.forward_members(x), alone, atol=1e-6)
    assert torch.allclose(packed.forward_last(x), alone.mean(0), atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_ensemble_members_train_apart(cell):
    """Adam steps on one member's loss move that member only; the blocks between members
    stay exactly zero, so the packed network stays M separate networks."""
    packed, nets = _ensemble(cell, 2)
    x = torch.randn(7, 9, 3)
    before = packed.forward_members(x).detach()
    opt = torch.optim.Adam(packed.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        (packed.forward_members(x)[1] ** 2).sum().backward()
        opt.step()
    after = packed.forward_members(x).detach()
    moved = (after - before).abs().amax(dim=(1, 2))
    assert moved[1] > 1e-3 and torch.all(moved[[0, 2, 3]] == 0)
    for name, p in packed.named_parameters():
        mask = getattr(packed, "mask_" + name.replace(".", "_"))
        assert torch.all(p[mask == 0] == 0), name


def test_build_model_gives_one_network_or_an_ensemble():
    cfg = ModelConfig(input_size=2, output_size=1, tokens=False, hidden_size=4, num_layers=1)
    assert isinstance(build_model(cfg), RecurrentNet)
    assert isinstance(build_model(replace(cfg, ensemble=3)), Ensemble)
    with pytest.raises(ValueError):
        replace(cfg, ensemble=0)


def test_embedding_initialised_as_torch_does_and_shapes_without_the_compiler(hihello_ckpt):
    """The embedding draws nn.Embedding's own N(0, 1) weights (the same RNG stream), and learning
    a checkpoint's shapes on the meta device does not import torch._dynamo (about 1 s of every
    `sample` and `eval`)."""
    import subprocess
    import sys

    cfg = ModelConfig(cell="lstm", input_size=11, output_size=11, embed=5, hidden_size=8,
                      num_layers=2, tokens=True)
    torch.manual_seed(7)
    ours = RecurrentNet(cfg).embed.weight
    torch.manual_seed(7)
    assert torch.equal(ours, torch.nn.Embedding(11, 5).weight) and ours.requires_grad
    probe = ("import sys; from charrnn import checkpoint; "
             f"checkpoint.load({str(hihello_ckpt / 'best.safetensors')!r}, kind='text'); "
             "print('torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_zero_rows_restarts_only_the_chosen_rows_of_lstm_and_gru_state():
    rows = torch.tensor([True, False, True])
    h, c = torch.ones(2, 3, 4), torch.full((2, 3, 4), 2.0)
    h2, c2 = zero_rows((h, c), rows)
    assert h2[:, [0, 2]].abs().sum() == 0 and c2[:, [0, 2]].abs().sum() == 0
    assert torch.equal(h2[:, 1], h[:, 1]) and torch.equal(c2[:, 1], c[:, 1])
    g = zero_rows(torch.ones(1, 3, 2), rows)
    assert g[0, :, 0].tolist() == [0.0, 1.0, 0.0]


def _flat(state):
    return list(state) if isinstance(state, tuple) else [state]


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("carried", [False, True])
def test_the_stack_layer_by_layer_equals_the_fused_stack_without_dropout(cell, carried):
    torch.manual_seed(0)
    rnn = RecurrentNet(ModelConfig(cell=cell, input_size=6, output_size=6, embed=4, hidden_size=8,
                                   num_layers=3)).rnn
    x = torch.randn(5, 7, 4)
    state = None
    if carried:
        _, state = rnn(torch.randn(5, 3, 4))
    rnn.dropout = 0.0
    fused_out, fused_state = rnn(x, state)
    rnn.dropout = 1e-6  # below 1/65536: every unit kept, scaled by exactly 1
    out, new_state = stack_with_dropout(rnn, x, state)
    assert torch.equal(out, fused_out)
    assert all(torch.equal(a, b) for a, b in zip(_flat(new_state), _flat(fused_state)))


def test_dropout_from_bits_keeps_the_right_share_scaled_and_repeats_with_the_seed():
    x = torch.ones(64, 50, 100, requires_grad=True)
    torch.manual_seed(3)
    y = dropout_from_bits(x, 0.3)
    kept = y != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.005  # 320,000 units
    scale = 65536 / (65536 - round(0.3 * 65536))
    assert torch.all(y[kept] == scale)
    y.sum().backward()
    assert torch.equal(x.grad, y.detach())  # the gradient flows through the kept units only
    torch.manual_seed(3)
    assert torch.equal(dropout_from_bits(x.detach(), 0.3), y.detach())
    assert not torch.equal(dropout_from_bits(x.detach(), 0.3), y.detach())


def test_training_on_the_cpu_drops_between_layers_with_the_fast_mask():
    cfg = ModelConfig(input_size=6, output_size=6, embed=4, hidden_size=8, num_layers=2,
                      dropout=0.5)
    model = RecurrentNet(cfg)
    x = torch.randint(0, 6, (3, 5))
    torch.manual_seed(1)
    trained, _ = model(x)
    torch.manual_seed(1)
    expected, _ = stack_with_dropout(model.rnn, model.embed(x))
    assert torch.equal(trained, model.head(expected))
    model.eval()  # no dropout: the fused stack
    assert torch.equal(model(x)[0], model.head(model.rnn(model.embed(x))[0]))
    assert not torch.equal(model(x)[0], trained)
