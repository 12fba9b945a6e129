"""The weights' moving average (--ema): its arithmetic, what validation and the checkpoints
hold, exact resume, and when it is on by default."""
import pytest
import torch

from charrnn import checkpoint
from charrnn.engine.averaging import WeightAverage
from charrnn.model import build_model
from charrnn.text.training import BUDGET_EMA, resolve_configs

from test_engine import make_trainer, weights


def test_update_follows_the_decay_after_a_warm_up():
    model = torch.nn.Linear(2, 1)
    average = WeightAverage(model, decay=0.9)
    start = [p.detach().clone() for p in model.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    average.update(step=1)  # early: decay (1 + 1) / (10 + 1), not 0.9
    for a, s in zip(average.average, start):
        assert torch.allclose(a, s + (1 - 2 / 11))
    average.update(step=1000)  # later the given decay caps it
    for a, s in zip(average.average, start):
        assert torch.allclose(a, s + (1 - 2 / 11) + (2 / 11) * 0.1)


def test_applied_swaps_the_average_in_and_the_trained_weights_back():
    model = torch.nn.Linear(3, 2)
    average = WeightAverage(model, decay=0.5)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    for a in average.average:
        a.fill_(7.0)
    with average.applied():
        assert all(torch.all(p == 7.0) for p in model.parameters())
    assert all(torch.equal(model.state_dict()[k], trained[k]) for k in trained)
    tensors = average.into_payload({f"model.{k}": v for k, v in model.state_dict().items()})
    assert all(torch.all(tensors[f"model.{k}"] == 7.0) for k in trained)
    assert all(torch.equal(tensors[f"trained.{k}"], trained[k]) for k in trained)


def test_checkpoints_hold_the_average_and_validation_scores_it(tmp_path):
    trainer = make_trainer(tmp_path, ema=0.9)
    trainer.run()
    last = checkpoint.load(tmp_path / "last.safetensors")
    averaged, trained = last.group("model"), last.group("trained")
    assert averaged.keys() == trained.keys()
    assert any(not torch.equal(averaged[k], trained[k]) for k in averaged)
    assert all(torch.equal(trainer.weights()[k], averaged[k]) for k in averaged)
    # the last epoch's validation loss is the averaged weights' (the best file is the best epoch)
    model = build_model(trainer.model_cfg)
    model.load_state_dict(averaged)
    model.eval()
    scored = trainer.task.validate(model, trainer.autocast)
    assert scored == pytest.approx(last.meta["history"][-1]["val_loss"], rel=1e-6)
    model.load_state_dict(trained)
    assert trainer.task.validate(model, trainer.autocast) != pytest.approx(scored, rel=1e-6)
    # without --ema nothing changes: no second copy of the weights
    make_trainer(tmp_path / "plain").run()
    assert not checkpoint.load(tmp_path / "plain" / "last.safetensors").group("trained")


def test_resume_with_an_average_is_exact(tmp_path):
    one_go = make_trainer(tmp_path / "a", ema=0.9)
    one_go.run()
    windows = len(one_go.windows)
    make_trainer(tmp_path / "c", ema=0.9, max_steps=windows + 1).run()
    make_trainer(tmp_path / "c", ema=0.9, max_steps=None,
                 resume=checkpoint.load(tmp_path / "c" / "last.safetensors")).run()
    for group in ("model", "trained"):
        a = checkpoint.load(tmp_path / "a" / "last.safetensors").group(group)
        c = checkpoint.load(tmp_path / "c" / "last.safetensors").group(group)
        assert all(torch.equal(a[k], c[k]) for k in a), group


def test_a_run_resumed_without_the_average_goes_on_from_the_trained_weights(tmp_path):
    make_trainer(tmp_path, ema=0.9, epochs=2).run()
    ckpt = checkpoint.load(tmp_path / "last.safetensors")
    trainer = make_trainer(tmp_path, epochs=3, resume=ckpt)
    current = trainer.model.state_dict()
    assert all(torch.equal(current[k], v) for k, v in ckpt.group("trained").items())
    assert trainer.average is None


@pytest.mark.parametrize("options, expected", [
    ({"time_budget": "60"}, BUDGET_EMA),
    ({}, 0.0),
    ({"max_steps": 500}, 0.0),
    ({"time_budget": "60", "ema": 0.0}, 0.0),
    ({"ema": 0.99}, 0.99),
])
def test_the_average_is_on_by_default_with_a_budget(options, expected):
    _, train = resolve_configs({"hidden": 64, **options}, n_chars=100_000, vocab_size=60,
                               resumed=None)
    assert train.ema == expected

