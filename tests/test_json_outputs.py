"""Every `--json` output is strict JSON: a parser that rejects NaN and Infinity reads it.

Each command runs with --json on small data; a series whose values lie near 1e300 (whose
squared errors overflow) and a text model scoring infinitely badly push numbers past what
JSON can hold, which must come out as null.
"""
from __future__ import annotations

import json
import math

import pytest

from conftest import CORPORA, HIHELLO_ARGS, run_cli


def strict(text: str):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def lines(stdout: str) -> list:
    return [strict(line) for line in stdout.splitlines() if line.strip()]


def big_series(path, rows=300, scale=1e300):
    body = "\n".join(f"{2000 + i // 12}-{1 + i % 12:02d}-01,{(1 + 0.5 * math.sin(i / 3)) * scale:.6e}"
                     for i in range(rows))
    path.write_text("date,value\n" + body + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def big_ckpt(tmp_path_factory):
    folder = tmp_path_factory.mktemp("big")
    data = big_series(folder / "big.csv")
    result = run_cli(["train-series", data, "--epochs", "2", "--out", folder / "ck", "--json",
                      "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    return folder, data, result


def test_train_text_json_lines(tmp_path):
    result = run_cli(["train-text", CORPORA / "hihello.txt", *HIHELLO_ARGS, "--epochs", "3",
                      "--out", tmp_path, "--json", "--quiet"])
    assert result.exit_code == 0, result.stderr
    records = lines(result.stdout)
    assert records[-1]["event"] == "end"


def test_sample_json(hihello_ckpt):
    result = run_cli(["sample", "--ckpt", hihello_ckpt, "-n", "20", "--num-samples", "2", "--json"])
    assert result.exit_code == 0, result.stderr
    assert len(lines(result.stdout)[0]["samples"]) == 2


def test_eval_text_json(hihello_ckpt):
    result = run_cli(["eval", "--ckpt", hihello_ckpt, CORPORA / "hihello.txt", "--json"])
    assert result.exit_code == 0, result.stderr
    assert "loss" in lines(result.stdout)[0]


def test_eval_text_json_with_an_infinite_perplexity(hihello_ckpt, monkeypatch):
    import charrnn.text.evaluate as evaluate

    real = evaluate.score_stream

    def hopeless(*args, **kwargs):  # 800 nats a character: perplexity overflows
        scores = real(*args, **kwargs)
        scores.loss_sum = 800.0 * scores.chars
        return scores

    monkeypatch.setattr(evaluate, "score_stream", hopeless)
    result = run_cli(["eval", "--ckpt", hihello_ckpt, CORPORA / "hihello.txt", "--json"])
    assert result.exit_code == 0, result.stderr
    record = lines(result.stdout)[0]
    assert record["perplexity"] is None and "perplexity" in record["non_finite"]
    assert record["loss"] == pytest.approx(800.0)


def test_info_json(hihello_ckpt):
    result = run_cli(["info", "--ckpt", hihello_ckpt, "--json"])
    if result.exit_code == 2 and "--ckpt" in result.stderr:  # takes the checkpoint as argument
        result = run_cli(["info", hihello_ckpt, "--json"])
    assert result.exit_code == 0, result.stderr
    lines(result.stdout)


def test_inspect_json(hihello_ckpt):
    result = run_cli(["inspect", CORPORA / "hihello.txt", "--ckpt", hihello_ckpt, "--json"])
    assert result.exit_code == 0, result.stderr
    lines(result.stdout)


def test_train_series_json_near_1e300(big_ckpt):
    _, _, result = big_ckpt
    records = lines(result.stdout)
    assert records[-1]["event"] == "end"


def test_eval_series_json_near_1e300(big_ckpt):
    folder, data, _ = big_ckpt
    result = run_cli(["eval", "--ckpt", folder / "ck", data, "--json", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    assert "rmse" in lines(result.stdout)[0]


def test_eval_series_json(tmp_path):
    data = big_series(tmp_path / "small.csv", scale=1.0)
    result = run_cli(["train-series", data, "--epochs", "2", "--out", tmp_path / "ck", "--json",
                      "--quiet", "--device", "cpu"])
    assert result.exit_code == 0, result.stderr
    lines(result.stdout)
    result = run_cli(["eval", "--ckpt", tmp_path / "ck", data, "--json", "--all"])
    assert result.exit_code == 0, result.stderr
    lines(result.stdout)
