"""Fine-tuning with `train-text NEW --init-from CKPT` (issue 14, must-shows 4 and 5): characters
are matched by identity, never by index."""
import json

import numpy as np
import pytest
import torch

from charrnn import checkpoint
from charrnn.config import ModelConfig, from_dict
from charrnn.model import RecurrentNet
from charrnn.text.data import Vocab
from charrnn.text.evaluate import score_stream
from charrnn.text.finetune import carried_over, merged_vocab
from conftest import STOCK_CSV, run_cli

# A: lower case; B: A's characters first seen in another order, and characters A never had
TEXT_A = "hello world, a cat sat on a mat.\n" * 40
TEXT_B = "Zürich! tom saw a low dog; QED.\n" * 40
ARGS_A = ["--hidden", "16", "--embed", "8", "--layers", "2", "--seq-len", "16", "--epochs", "4",
          "--val-frac", "0", "--seed", "3", "--quiet"]


def _first_seen(text):
    return "".join(dict.fromkeys(text))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpora")
    (folder / "a.txt").write_text(TEXT_A, encoding="utf-8")
    (folder / "b.txt").write_text(TEXT_B, encoding="utf-8")
    return folder / "a.txt", folder / "b.txt"


@pytest.fixture(scope="module")
def model_a(corpora, tmp_path_factory):
    out = tmp_path_factory.mktemp("a")
    result = run_cli(["train-text", corpora[0], "--out", out, *ARGS_A])
    assert result.exit_code == 0, result.stderr
    return out


def test_the_corpora_are_as_the_issue_asks():
    a, b = set(TEXT_A), set(TEXT_B)
    assert b - a and a - b and len(a & b) >= 10
    shared_in_a = [c for c in _first_seen(TEXT_A) if c in b]
    shared_in_b = [c for c in _first_seen(TEXT_B) if c in a]
    assert shared_in_a != shared_in_b  # another order of first appearance


def _loaded_setup(corpus_b, model_a, out):
    """The fine-tuning run's trainer, set up as `train-text` sets it up, before any step."""
    from charrnn.text.training import prepare_training

    setup = prepare_training(str(corpus_b), out, {}, "cpu", None, True, init_from=model_a)
    return setup, setup.trainer()


def test_rows_carried_over_and_the_old_text_scores_as_before(corpora, model_a, tmp_path):
    """Must-show 4, before any step on B: rows by character, and eval on A unchanged."""
    from charrnn.text.commands import load_model

    parent = checkpoint.load(model_a)
    old_model, old_vocab = load_model(parent, "cpu")
    setup, trainer = _loaded_setup(corpora[1], model_a, tmp_path / "b")
    new_vocab = setup.data.vocab
    assert new_vocab.chars == "".join(sorted(set(TEXT_A) | set(TEXT_B)))
    model = trainer.model
    old, new = old_model.state_dict(), model.state_dict()
    for ch in old_vocab.chars:
        i, j = old_vocab.chars.index(ch), new_vocab.chars.index(ch)
        assert torch.equal(new["embed.weight"][j], old["embed.weight"][i]), ch
        assert torch.equal(new["head.weight"][j], old["head.weight"][i]), ch
        assert torch.equal(new["head.bias"][j], old["head.bias"][i]), ch
    for name in old:
        if name not in ("embed.weight", "head.weight", "head.bias"):
            assert torch.equal(new[name], old[name]), name
    # B-only characters: input rows as a fresh model's (the trainer seeds, then builds one),
    # output rows silent
    torch.manual_seed(setup.train_cfg.seed)
    fresh_rows = RecurrentNet(setup.model_cfg).state_dict()["embed.weight"]
    for ch in set(TEXT_B) - set(TEXT_A):
        j = new_vocab.chars.index(ch)
        assert torch.equal(new["embed.weight"][j], fresh_rows[j])
        assert not new["head.weight"][j].any() and new["head.bias"][j] < old["head.bias"].min() - 15
    # the old text, scored by the loaded model before any B step, as by the original
    before = score_stream(old_model, old_vocab.encode(TEXT_A))
    after = score_stream(model.eval(), new_vocab.encode(TEXT_A))
    assert after.chars == before.chars and after.correct == before.correct
    assert after.loss == pytest.approx(before.loss, abs=1e-6)
    eval_a = json.loads(run_cli(["eval", "--ckpt", model_a, corpora[0], "--json"]).stdout)
    assert after.loss == pytest.approx(eval_a["loss"], abs=1e-6)


def test_fine_tuned_model_samples_new_and_old_characters(corpora, model_a, tmp_path):
    out = tmp_path / "b"
    result = run_cli(["train-text", corpora[1], "--init-from", model_a, "--out", out,
                      "--epochs", "2", "--quiet"])
    assert result.exit_code == 0, result.stderr
    meta = checkpoint.load(out).meta
    parent = checkpoint.load(model_a).meta
    assert meta["vocab"] == "".join(sorted(set(TEXT_A) | set(TEXT_B)))
    assert {k: meta["model"][k] for k in ("cell", "hidden_size", "num_layers", "embed")} == \
        {k: parent["model"][k] for k in ("cell", "hidden_size", "num_layers", "embed")}
    assert meta["step"] == len(meta["history"]) * meta["windows_per_epoch"]  # a fresh run
    assert meta["init_from"]["path"] == str(model_a / "best.safetensors")
    assert meta["init_from"]["corpus"] == "a" and meta["init_from"]["step"] == parent["step"]
    for prime in ("Z", "ü", "QE", "h"):  # B only, and A only: the model still reads its old text
        sampled = run_cli(["sample", "--ckpt", out, "--prime", prime, "-n", "10", "--seed", "1"])
        assert sampled.exit_code == 0, sampled.stderr
        assert sampled.stdout.startswith(prime) and len(sampled.stdout) == len(prime) + 11
    card = json.loads(run_cli(["info", "--ckpt", out, "--json"]).stdout)
    assert card["init_from"]["path"] == str(model_a / "best.safetensors")
    plain = run_cli(["info", "--ckpt", out]).stdout
    assert f"fine-tuned from {model_a / 'best.safetensors'} (corpus a, step" in plain


def test_one_hot_input_columns_follow_their_characters():
    """With --embed 0 the first layer's input columns are the characters' rows."""
    old_vocab, corpus_vocab = Vocab("abc"), Vocab("cxa")
    new_vocab = merged_vocab(old_vocab, corpus_vocab)
    assert new_vocab.chars == "abcx"
    cfg = ModelConfig(cell="gru", input_size=3, output_size=3, embed=0, hidden_size=4, num_layers=1)
    torch.manual_seed(0)
    trained = RecurrentNet(cfg).state_dict()
    fresh = RecurrentNet(from_dict(ModelConfig, {**cfg.__dict__, "input_size": 4,
                                                 "output_size": 4})).state_dict()
    state = carried_over(fresh, trained, old_vocab, new_vocab)
    for i, j in ((0, 0), (1, 1), (2, 2)):
        assert torch.equal(state["rnn.weight_ih_l0"][:, j], trained["rnn.weight_ih_l0"][:, i])
        assert torch.equal(state["head.weight"][j], trained["head.weight"][i])
    assert torch.equal(state["rnn.weight_ih_l0"][:, 3], fresh["rnn.weight_ih_l0"][:, 3])
    assert torch.equal(state["head.weight"][3], torch.zeros(4))
    assert torch.equal(state["rnn.weight_hh_l0"], trained["rnn.weight_hh_l0"])


def test_a_reordered_vocabulary_is_matched_by_identity_not_index():
    """The same characters under other ids: each row lands on its own character."""
    old_vocab, new_vocab = Vocab("bdf"), Vocab("abcdef")
    cfg = ModelConfig(input_size=3, output_size=3, embed=2, hidden_size=3, num_layers=1)
    trained = RecurrentNet(cfg).state_dict()
    trained["embed.weight"] = torch.tensor([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    fresh = RecurrentNet(from_dict(ModelConfig, {**cfg.__dict__, "input_size": 6,
                                                 "output_size": 6})).state_dict()
    state = carried_over(fresh, trained, old_vocab, new_vocab)
    assert state["embed.weight"][[1, 3, 5], 0].tolist() == [1.0, 2.0, 3.0]
    assert np.allclose(state["embed.weight"][[0, 2, 4]].numpy(), fresh["embed.weight"][[0, 2, 4]].numpy())


# ---------------------------------------------------------------------- must-show 5
def _clean_error(result, *needles):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stdout == "" and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_bad_init_from_is_one_clear_line(corpora, model_a, tmp_path):
    series = tmp_path / "series"
    trained = run_cli(["train-series", STOCK_CSV, "--out", series, "--hidden", "3", "--epochs", "1",
                       "--newest-first", "--quiet"])
    assert trained.exit_code == 0, trained.stderr
    out = tmp_path / "never"
    _clean_error(run_cli(["train-text", corpora[1], "--init-from", series, "--out", out]),
                 "--init-from", "series model")
    _clean_error(run_cli(["train-text", corpora[1], "--init-from", model_a, "--resume", model_a,
                          "--out", out]), "--init-from", "--resume")
    _clean_error(run_cli(["train-text", corpora[1], "--init-from", model_a, "--cell", "gru",
                          "--out", out]), "--cell gru", "lstm")
    _clean_error(run_cli(["train-text", corpora[1], "--init-from", model_a, "--hidden", "32",
                          "--out", out]), "--hidden 32", "16")
    _clean_error(run_cli(["train-text", corpora[1], "--init-from", tmp_path / "gone",
                          "--out", out]), "no such")
    assert not out.exists()  # nothing written
