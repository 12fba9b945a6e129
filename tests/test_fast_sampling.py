"""The fast CPU sampler (int8 weights, lean step) against the exact fp32 path and the model."""

import pytest
import torch

from charrnn import checkpoint
from charrnn.config import ModelConfig
from charrnn.model import RecurrentNet
from charrnn.text import fast_sampling
from charrnn.text.commands import load_model
from charrnn.text.fast_sampling import FastStep, generate_fast, quantized_cost
from charrnn.text.sampling import SamplingSettings, generate, pick, single_step_kernels
from conftest import ZEN as TEXT, run_cli


@torch.inference_mode()
def todays_generate(model, prime_ids, length, settings, num_samples=1, seed=None):
    """The sampler as it was before the fast path (commit 05fff03), CPU branch, verbatim."""
    generator = torch.Generator()
    generator.manual_seed(seed)
    model.eval()
    with single_step_kernels(torch.device("cpu")):
        x = torch.tensor([prime_ids] * num_samples, dtype=torch.long)
        logits, state = model(x)
        logits = logits[:, -1]
        out = []
        for i in range(length):
            nxt = pick(logits, settings, generator)
            out.append(nxt)
            if i < length - 1:
                logits, state = model(nxt.unsqueeze(1), state)
                logits = logits[:, -1]
    return torch.stack(out, dim=1)


@pytest.fixture(scope="module")
def small_ckpt(zen_ckpt):
    return zen_ckpt


@pytest.fixture
def int8_everywhere(monkeypatch):
    """Small test models are below the int8 threshold: force the int8 kernels anyway."""
    monkeypatch.setattr(fast_sampling, "INT8_MIN_ELEMENTS", 0)


def small_model(ckpt):
    return load_model(checkpoint.load(ckpt, kind="text"), "cpu")


@pytest.mark.parametrize("settings", [SamplingSettings(argmax=True), SamplingSettings(),
                                      SamplingSettings(temperature=0.7, top_k=5)])
def test_exact_path_equals_todays_sampler(small_ckpt, settings):
    model, vocab = small_model(small_ckpt)
    prime = vocab.encode("Beautiful ").tolist()
    for samples in (1, 2):
        ours = torch.cat(list(generate(model, prime, 200, settings, num_samples=samples,
                                       seed=11)), 1)
        assert torch.equal(ours, todays_generate(model, prime, 200, settings, samples, seed=11))


def test_cli_exact_prints_todays_text(small_ckpt):
    model, vocab = small_model(small_ckpt)
    for flags, settings in ((["--argmax"], SamplingSettings(argmax=True)),
                            (["--seed", "7"], SamplingSettings())):
        result = run_cli(["sample", "--ckpt", small_ckpt, "-p", "Now ", "-n", "120", "--exact",
                          *flags])
        assert result.exit_code == 0, result.stderr
        ids = todays_generate(model, vocab.encode("Now ").tolist(), 120, settings, seed=7)
        assert result.stdout == "Now " + vocab.decode(ids[0]) + "\n"


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_fast_step_follows_the_model(cell, int8_everywhere):
    torch.manual_seed(0)
    model = RecurrentNet(ModelConfig(cell=cell, input_size=30, output_size=30, embed=8,
                                     hidden_size=48, num_layers=3)).eval()
    ids = torch.randint(0, 30, (2, 40))
    with torch.no_grad():
        exact, _ = model(ids)
        step = FastStep(model, batch=2)
        fast = torch.stack([step(ids[:, t]).clone() for t in range(40)], 1)
        fp32 = FastStep(model, batch=2, int8_min=1 << 62)
        lean = torch.stack([fp32(ids[:, t]).clone() for t in range(40)], 1)
    assert torch.allclose(lean, exact, atol=1e-5)  # the lean step itself is the model's
    assert (fast - exact).abs().max() < 0.02  # int8 weights: close, not equal


def test_sampled_distribution_matches_the_softmax(small_ckpt, int8_everywhere):
    """Many draws from one fixed state: the frequencies are the model's softmax."""
    model, vocab = small_model(small_ckpt)
    draws = 20000
    prime = torch.tensor([vocab.encode("Flat is ").tolist()] * draws)
    with torch.inference_mode():
        logits, state = model(prime)
        expected = torch.softmax(logits[0, -1] / 1.5, -1)
        fresh = torch.Generator().manual_seed(3)
        first = next(generate_fast(model, logits[:, -1], state, 2,
                                   SamplingSettings(temperature=1.5), fresh))
    for column in (0, 1):  # the prime's own logits, then one fast step's
        if column == 1:
            with torch.inference_mode():
                nxt, _ = model(torch.cat([prime, first[:, :1]], 1))
            expected = torch.softmax(nxt[:, -1] / 1.5, -1).mean(0)
        freq = torch.bincount(first[:, column], minlength=len(vocab)).float() / draws
        assert 0.5 * (freq - expected).abs().sum() < 0.03  # total variation


def test_fast_argmax_mostly_agrees_and_costs_little(small_ckpt, int8_everywhere):
    model, vocab = small_model(small_ckpt)
    prime = vocab.encode("Special cases ").tolist()
    settings = SamplingSettings(argmax=True)
    exact = torch.cat(list(generate(model, prime, 300, settings)), 1)
    fast = torch.cat(list(generate(model, prime, 300, settings, fast=True)), 1)
    assert (exact == fast).float().mean() > 0.8
    fp32, int8 = quantized_cost(model, vocab.encode(TEXT * 2), streams=4)
    assert abs(int8 - fp32) < 0.02


def test_fast_seed_repeats_and_streams_chunks(small_ckpt):
    model, _ = small_model(small_ckpt)
    pieces = list(generate(model, [1, 2], 150, SamplingSettings(), seed=4, fast=True))
    assert [p.shape[1] for p in pieces] == [64, 64, 22]
    again = torch.cat(list(generate(model, [1, 2], 150, SamplingSettings(), seed=4, fast=True)), 1)
    assert torch.equal(torch.cat(pieces, 1), again)


def test_fast_is_the_cli_default_and_diverged_weights_fail(small_ckpt, tmp_path):
    result = run_cli(["sample", "--ckpt", small_ckpt, "-n", "50", "--seed", "2"])
    assert result.exit_code == 0 and len(result.stdout) > 50
    model, _ = small_model(small_ckpt)
    with torch.no_grad():
        model.rnn.weight_hh_l1.fill_(float("nan"))
    with pytest.raises(Exception, match="not finite"):
        list(generate(model, [1], 10, SamplingSettings(), seed=0, fast=True))


def test_the_step_threads_are_chosen_once_and_do_not_change_the_text(small_ckpt, monkeypatch,
                                                                     int8_everywhere):
    model, _ = small_model(small_ckpt)
    threads = torch.get_num_threads()
    monkeypatch.setattr(fast_sampling, "_STEP_THREADS", {})
    assert fast_sampling.step_threads(model, 1) == 1
    if threads > 1:
        chosen = fast_sampling.step_threads(model, threads)
        assert chosen in (1, threads) and torch.get_num_threads() == threads
        built = []
        monkeypatch.setattr(fast_sampling, "FastStep",
                            lambda *a, **k: built.append(1) or FastStep(*a, **k))
        assert fast_sampling.step_threads(model, threads) == chosen and not built  # not again
    texts = []
    for forced in (1, 2):  # the same draws whichever the probe picks
        key = (model.cfg.cell, model.cfg.num_layers, model.cfg.hidden_size,
               model.cfg.input_size, threads)
        monkeypatch.setitem(fast_sampling._STEP_THREADS, key, min(forced, threads))
        texts.append(torch.cat(list(generate(model, [1, 2], 200, SamplingSettings(), seed=4,
                                             fast=True)), 1))
    assert torch.equal(*texts)
    assert torch.get_num_threads() == threads
