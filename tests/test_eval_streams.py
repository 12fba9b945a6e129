"""Eval of a long text as several streams side by side, against the one-stream figure."""
import json

import numpy as np
import pytest

from charrnn import checkpoint
from charrnn.text.commands import load_model
from charrnn.text.evaluate import score_stream, score_streams, stream_count
from conftest import ZEN as TEXT, run_cli


@pytest.fixture(scope="module")
def small_ckpt(zen_ckpt):
    return zen_ckpt


@pytest.mark.parametrize("streams", [2, 7, 16])
def test_streams_count_every_character_once_and_match_one_stream(small_ckpt, streams):
    model, vocab = load_model(checkpoint.load(small_ckpt, kind="text"), "cpu")
    ids = np.asarray(vocab.encode(TEXT * 10 + "Now is better than never."))
    one = score_stream(model, ids)
    many = score_streams(model, ids, streams=streams, burn_in=200)
    assert many.chars == one.chars == len(ids) - 1
    assert abs(many.loss - one.loss) < 0.002


def test_one_stream_is_the_same_figure(small_ckpt):
    model, vocab = load_model(checkpoint.load(small_ckpt, kind="text"), "cpu")
    ids = np.asarray(vocab.encode(TEXT * 3))
    one = score_stream(model, ids)
    assert score_streams(model, ids, streams=1).loss == one.loss
    short = score_streams(model, ids[:300])  # too short to split: one stream
    assert short.loss == score_stream(model, ids[:300]).loss
    assert stream_count(300) == 1 and stream_count(10**6) > 8


def test_eval_command_exact_and_default_agree(small_ckpt, tmp_path):
    text = tmp_path / "held.txt"
    text.write_text(TEXT * 8)
    from charrnn.text import commands
    results = []
    for exact in (False, True):
        import io
        import contextlib
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            commands.evaluate(checkpoint.load(small_ckpt), str(text), True, "cpu", exact=exact)
        results.append(json.loads(buf.getvalue()))
    assert results[0]["chars"] == results[1]["chars"] == len(TEXT * 8) - 1
    assert abs(results[0]["loss"] - results[1]["loss"]) < 0.002
    default = run_cli(["eval", text, "--ckpt", small_ckpt, "--json"])
    assert default.exit_code == 0 and json.loads(default.stdout)["chars"] == len(TEXT * 8) - 1
