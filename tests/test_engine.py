import math
import signal

import pytest
import torch

from charrnn import checkpoint
from charrnn.config import ModelConfig, TrainConfig
from charrnn.text.task import TextConfig, split_text, text_trainer
from charrnn.errors import CharrnnError, Interrupted, TrainingFailed
from charrnn.engine.events import EpochEnd, Progress, TrainEnd
from charrnn.text.data import Vocab

from conftest import CORPORA

SHIP = (CORPORA / "ship.txt").read_text()


def make_trainer(out, listeners=(), resume=None, reset_every=0, **train):
    vocab = Vocab.from_text(SHIP)
    cfg = TrainConfig(**{"batch_size": 4, "val_frac": 0.2, "lr": 0.01, "epochs": 4, "seed": 7,
                         **train})
    data = split_text(vocab.encode(SHIP), vocab, "ship", 10, cfg.val_frac)
    model_cfg = ModelConfig(input_size=len(vocab), output_size=len(vocab), embed=8,
                            hidden_size=16, num_layers=2, dropout=0.1)
    return text_trainer(data, model_cfg, cfg, TextConfig(seq_len=10, reset_every=reset_every),
                        out, torch.device("cpu"), "fp32", listeners, resume)


def weights(path):
    return checkpoint.load(path).group("model")


@pytest.mark.parametrize("reset_every", [0, 20])  # 20: half the rows restart at each window
def test_resume_is_exact_at_epoch_and_mid_epoch(tmp_path, reset_every):
    one_go = make_trainer(tmp_path / "a", reset_every=reset_every)
    one_go.run()
    # stop after two epochs, resume to four
    make_trainer(tmp_path / "b", epochs=2, reset_every=reset_every).run()
    make_trainer(tmp_path / "b", resume=checkpoint.load(tmp_path / "b" / "last.safetensors"),
                 reset_every=reset_every).run()
    # stop in the middle of an epoch (a step limit), resume to four
    windows = len(one_go.windows)
    make_trainer(tmp_path / "c", max_steps=windows + 1, reset_every=reset_every).run()
    ckpt = checkpoint.load(tmp_path / "c" / "last.safetensors")
    assert ckpt.meta["window"] == 1 and "carry.0" in ckpt.tensors
    make_trainer(tmp_path / "c", resume=ckpt, max_steps=None, reset_every=reset_every).run()
    reference = weights(tmp_path / "a" / "last.safetensors")
    history = checkpoint.load(tmp_path / "a" / "last.safetensors").meta["history"]
    for folder in ("b", "c"):
        resumed = weights(tmp_path / folder / "last.safetensors")
        assert all(torch.equal(reference[k], resumed[k]) for k in reference), folder
        resumed_history = checkpoint.load(tmp_path / folder / "last.safetensors").meta["history"]
        complete = [h for h in resumed_history if h["step"] % windows == 0]
        assert [h["val_loss"] for h in complete] == [h["val_loss"] for h in history]
        assert [h["train_loss"] for h in complete] == pytest.approx([h["train_loss"] for h in history], abs=1e-6)


def test_state_resets_reach_the_carried_state(tmp_path):
    """reset_every = seq_len restarts every row at every window: each window then trains from
    a zero state, as if nothing were carried."""
    carried = make_trainer(tmp_path / "a", epochs=1, reset_every=10)
    seen = []
    step = carried.train_step
    carried.train_step = lambda *batch: (seen.append(carried.carry), step(*batch))[1]
    carried.run()
    later = [c for c in seen[1:]]
    assert later and all(c is not None and all(not t.any() for t in c) for c in later)
    plain = make_trainer(tmp_path / "b", epochs=1)
    seen = []
    step_b = plain.train_step
    plain.train_step = lambda *batch: (seen.append(plain.carry), step_b(*batch))[1]
    plain.run()
    assert any(t.any() for c in seen[1:] for t in c)


def test_weight_decay_cannot_be_turned_on_in_a_resumed_run(tmp_path):
    make_trainer(tmp_path, epochs=1).run()
    ckpt = checkpoint.load(tmp_path / "last.safetensors")
    with pytest.raises(CharrnnError, match="weight decay cannot be turned on or off"):
        make_trainer(tmp_path, epochs=2, weight_decay=0.1, resume=ckpt)
    make_trainer(tmp_path / "wd", epochs=1, weight_decay=0.1).run()
    ckpt = checkpoint.load(tmp_path / "wd" / "last.safetensors")
    make_trainer(tmp_path / "wd", epochs=2, weight_decay=0.1, resume=ckpt).run()


def test_same_seed_same_run(tmp_path):
    make_trainer(tmp_path / "a", epochs=1).run()
    make_trainer(tmp_path / "b", epochs=1).run()
    a, b = weights(tmp_path / "a" / "last.safetensors"), weights(tmp_path / "b" / "last.safetensors")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_non_finite_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, epochs=3)
    trainer.run()
    before = (tmp_path / "last.safetensors").read_bytes()
    trainer = make_trainer(tmp_path, epochs=6, resume=checkpoint.load(tmp_path / "last.safetensors"))
    import charrnn.text.task as engine
    monkeypatch.setattr(engine, "sequence_loss", lambda logits, y: logits.sum() * float("nan"))
    with pytest.raises(TrainingFailed, match="nan.*the last good checkpoint in .* is kept"):
        trainer.run()
    assert (tmp_path / "last.safetensors").read_bytes() == before


def test_non_finite_loss_before_any_checkpoint_says_none_is_kept(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, epochs=3)
    import charrnn.text.task as engine
    monkeypatch.setattr(engine, "sequence_loss", lambda logits, y: logits.sum() * float("nan"))
    with pytest.raises(TrainingFailed, match="nan.*holds no checkpoint"):
        trainer.run()
    assert not list(tmp_path.glob("*.safetensors"))


def test_signal_saves_last_and_exits_130(tmp_path):
    def stop(event):
        if isinstance(event, Progress):
            trainer.signals.received = signal.SIGINT

    trainer = make_trainer(tmp_path, listeners=[stop])
    with pytest.raises(Interrupted) as info:
        trainer.run()
    assert info.value.exit_code == 130
    assert checkpoint.load(tmp_path / "last.safetensors").meta["step"] >= 1


def test_time_budget_and_step_limit_end_the_run(tmp_path):
    events = []
    end = make_trainer(tmp_path, listeners=[events.append], epochs=1000, time_budget=1.0).run()
    assert end.stop_reason == "time_budget"
    # the last epoch (cut short) is reported, then the final checkpoints, then the end
    last_epoch = [e for e in events if isinstance(e, EpochEnd)][-1]
    assert isinstance(events[-1], TrainEnd) and events.index(last_epoch) < len(events) - 1
    assert last_epoch.step == checkpoint.load(tmp_path / "last.safetensors").meta["step"]
    end = make_trainer(tmp_path / "s", epochs=1000, max_steps=5).run()
    assert end.stop_reason == "max_steps"
    assert checkpoint.load(tmp_path / "s" / "last.safetensors").meta["step"] == 5


def test_too_short_corpus_is_refused():
    vocab = Vocab.from_text("abc")
    with pytest.raises(CharrnnError, match="shorter than one window"):
        split_text(vocab.encode("abcabc"), vocab, "x", seq_len=10, val_frac=0)
    with pytest.raises(CharrnnError, match="--val-frac 0"):
        split_text(vocab.encode("abcabcabcabc"), vocab, "x", seq_len=10, val_frac=0.1)


def test_events_carry_predicted_strings(tmp_path):
    class Watcher(list):
        wants_preview = True

        def __call__(self, event):
            self.append(event)

    watcher = Watcher()
    make_trainer(tmp_path, listeners=[watcher], epochs=1).run()
    seen = [e for e in watcher if isinstance(e, EpochEnd)]
    assert seen and seen[0].predictions[0][0] == SHIP[:10]
    assert all(len(given) == len(guess) for given, guess in seen[0].predictions)
    assert not math.isnan(seen[0].val_loss)
