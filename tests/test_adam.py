"""The engine's CPU Adam against torch.optim.Adam(fused=True): the same weights bit for bit,
and state that loads into either."""
import subprocess
import sys

import pytest
import torch

from charrnn.config import ModelConfig
from charrnn.engine.adam import Adam, make_adam
from charrnn.engine.state import optimizer_from_tensors, optimizer_to_tensors
from charrnn.model import RecurrentNet

CFG = ModelConfig(cell="lstm", input_size=13, output_size=13, embed=6, hidden_size=16,
                  num_layers=2, dropout=0.0, tokens=True)


def _train(model, optimizer, steps, seed=0, lrs=None):
    gen = torch.Generator().manual_seed(seed)
    for i in range(steps):
        if lrs:
            for g in optimizer.param_groups:
                g["lr"] = lrs[i]
        x = torch.randint(0, 13, (4, 9), generator=gen)
        logits, _ = model(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 13), x.roll(1, 1).reshape(-1))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def _saved(optimizer) -> dict:
    """The state as a checkpoint stores it and `--resume` reads it back."""
    tensors, meta = optimizer_to_tensors(optimizer)
    return optimizer_from_tensors({k.removeprefix("optim."): v for k, v in tensors.items()}, meta)


def _twins():
    torch.manual_seed(5)
    a = RecurrentNet(CFG)
    b = RecurrentNet(CFG)
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_same_weights_as_torch_adam_bit_for_bit(decay):
    ours, theirs = _twins()
    lrs = [3e-3 * (1 - i / 40) for i in range(30)]  # the engine sets lr every step
    _train(ours, Adam(ours.parameters(), lr=1e-3, weight_decay=decay), 30, lrs=lrs)
    reference = torch.optim.Adam(theirs.parameters(), lr=1e-3, weight_decay=decay, fused=True)
    _train(theirs, reference, 30, lrs=lrs)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(p, q), name


def test_decoupled_weight_decay_on_the_matrices_equals_torch_adamw_bit_for_bit():
    ours, theirs = _twins()
    lrs = [3e-3 * (1 - i / 40) for i in range(30)]
    opt = make_adam(ours.parameters(), 1e-3, 0.1, torch.device("cpu"))
    assert [len(g["params"]) for g in opt.param_groups] == [
        sum(p.dim() >= 2 for p in ours.parameters()), sum(p.dim() < 2 for p in ours.parameters())]
    matrices = [p for p in theirs.parameters() if p.dim() >= 2]
    biases = [p for p in theirs.parameters() if p.dim() < 2]
    reference = torch.optim.AdamW([{"params": matrices}, {"params": biases, "weight_decay": 0.0}],
                                  lr=1e-3, weight_decay=0.1, fused=True)
    _train(ours, opt, 30, lrs=lrs)
    _train(theirs, reference, 30, lrs=lrs)
    for (name, p), q in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(p, q), name
    # and the decay changed the matrices
    plain, _ = _twins()
    _train(plain, make_adam(plain.parameters(), 1e-3, 0.0, torch.device("cpu")), 30, lrs=lrs)
    assert not torch.equal(plain.head.weight, ours.head.weight)


def test_state_moves_between_ours_and_torch_through_a_checkpoints_layout():
    ours, theirs = _twins()
    opt_ours = Adam(ours.parameters(), lr=2e-3)
    opt_theirs = torch.optim.Adam(theirs.parameters(), lr=2e-3, fused=True)
    _train(ours, opt_ours, 5)
    _train(theirs, opt_theirs, 5)
    # swap: each continues from the other's saved state, as a resume on another device would
    saved_ours, saved_theirs = _saved(opt_ours), _saved(opt_theirs)
    opt_ours2 = Adam(ours.parameters(), lr=1.0)
    opt_theirs2 = torch.optim.Adam(theirs.parameters(), fused=True)
    opt_ours2.load_state_dict(saved_theirs)
    opt_theirs2.load_state_dict(saved_ours)
    assert opt_ours2.param_groups[0]["lr"] == 2e-3
    _train(ours, opt_ours2, 5, seed=1)
    _train(theirs, opt_theirs2, 5, seed=1)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)
    assert float(opt_ours2.state_dict()["state"][0]["step"]) == 10.0


def test_several_groups_number_and_restore_like_torch():
    """Each group its own lr; zero_grad, the state's numbering and a reload span every group."""
    ours, theirs = _twins()

    def grouped(model, make):
        head = list(model.head.parameters())
        rest = [p for n, p in model.named_parameters() if not n.startswith("head.")]
        opt = make(rest)
        opt.param_groups.append({**opt.param_groups[0], "params": head, "lr": 5e-3})
        return opt

    opt_ours = grouped(ours, lambda ps: Adam(ps, lr=1e-3))
    opt_theirs = grouped(theirs, lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True))
    _train(ours, opt_ours, 4)
    _train(theirs, opt_theirs, 4)
    mine, torchs = opt_ours.state_dict(), opt_theirs.state_dict()
    assert [g["params"] for g in mine["param_groups"]] == [g["params"] for g in
                                                            torchs["param_groups"]]
    assert sorted(mine["state"]) == sorted(torchs["state"]) == list(range(len(list(ours.parameters()))))
    for i, s in torchs["state"].items():
        assert torch.equal(mine["state"][i]["exp_avg"], s["exp_avg"]), i
    opt_ours.zero_grad(set_to_none=True)
    assert all(p.grad is None for p in ours.parameters())
    again = grouped(ours, lambda ps: Adam(ps, lr=1.0))
    again.load_state_dict(_saved(opt_theirs))
    assert [g["lr"] for g in again.param_groups] == [1e-3, 5e-3]
    _train(ours, again, 3, seed=1)
    _train(theirs, opt_theirs, 3, seed=1)
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(p, q)


def test_a_cpu_training_run_does_not_import_the_compiler(tmp_path):
    """torch.optim would import torch._dynamo (about 1.2 s of every training process)."""
    corpus = tmp_path / "c.txt"
    corpus.write_text("hello world, hello charrnn. " * 200)
    probe = ("import sys; from charrnn.cli import main; sys.argv = ['charrnn', 'train-text', "
             f"{str(corpus)!r}, '--max-steps', '2', '--hidden', '16', '--out', "
             f"{str(tmp_path / 'ck')!r}, '--quiet', '--precision', 'fp32']\n"
             "try:\n    main()\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
             "print('torch._dynamo' in sys.modules, file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "False"
