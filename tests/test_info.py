"""`charrnn info`, the model card (issue 14, must-show 2), and newlines at the end of every
plain output."""
import json
import sys

import pytest

from charrnn import checkpoint
from conftest import CORPORA, STOCK_CSV, run_cli

TEXT_ARGS = ["--hidden", "8", "--embed", "4", "--layers", "1", "--seq-len", "20", "--epochs", "3",
             "--val-frac", "0.2", "--seed", "1", "--quiet"]
# --no-retrain: the card of a run of 4 validated epochs (a retrained model has no validation)
SERIES_ARGS = ["--hidden", "4", "--epochs", "4", "--newest-first", "--device", "cpu", "--quiet",
               "--no-retrain"]


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("text")
    text = "the cat sat on the mat.\nthe dog\tsat on the log. " * 30
    result = run_cli(["train-text", "-", "--out", out, *TEXT_ARGS], input=text)
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def series_ckpt(tmp_path_factory):
    out = tmp_path_factory.mktemp("series")
    result = run_cli(["train-series", STOCK_CSV, "--out", out, *SERIES_ARGS])
    assert result.exit_code == 0, result.stderr
    return out


def card(ckpt, *args):
    result = run_cli(["info", "--ckpt", ckpt, "--json", *args])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("}\n") and result.stdout.count("\n") == 1
    return json.loads(result.stdout)


def test_text_card_json(text_ckpt):
    c = card(text_ckpt)
    meta = checkpoint.load(text_ckpt).meta
    assert c["kind"] == "text" and c["path"].endswith("best.safetensors")
    assert c["config"]["model"]["hidden_size"] == 8 and c["config"]["task"]["seq_len"] == 20
    assert c["vocab"] == meta["vocab"] and "\n" in c["vocab"] and c["vocab_size"] == len(c["vocab"])
    assert c["parameters"] == sum(t.numel() for t in checkpoint.load(text_ckpt).group("model").values())
    assert c["steps"] == meta["step"] > 0 and c["complete_epochs"] == 3
    batch = meta["train"]["batch_size"]
    assert c["seen"] == {**c["seen"], "unit": "chars", "count": meta["step"] * batch * 20}
    assert 0 < c["wall_time_s"] < 600 and c["device"] == "cpu"  # recorded by the trainer
    assert c["precision"] == "fp32" and c["init_from"] is None
    assert [h["epoch"] for h in c["history"]] == [1, 2, 3]
    best = min(c["history"], key=lambda h: h["val_loss"])
    assert c["best"]["on"] == "validation" and c["best"]["loss"] == best["val_loss"]
    assert best["best"] and sum(h["best"] for h in c["history"]) == 1


def test_text_card_plain(text_ckpt):
    result = run_cli(["info", "--ckpt", text_ckpt])
    assert result.exit_code == 0 and result.stderr == ""
    out = result.stdout
    assert out.endswith("\n") and "\x1b[" not in out  # not a terminal: plain text
    vocab_line = next(line for line in out.splitlines() if line.startswith("vocabulary"))
    assert "⏎" in vocab_line and "→" in vocab_line and "␣" in vocab_line
    for needle in ("kind        text model", "parameters", "chars seen  about", "bpc",
                   "wall time   ", "device      cpu", "precision   fp32", "lineage     trained from scratch",
                   "history (3 entries; * best)", "train  ", "val    "):
        assert needle in out, needle
    sparks = [line[7:] for line in out.splitlines() if line.startswith(("train  ", "val    "))
              and set(line[7:]) <= set("▁▂▃▄▅▆▇█")]
    assert [len(line) for line in sparks] == [3, 3]  # one block per epoch


def test_series_card_plain_and_json(series_ckpt):
    c = card(series_ckpt, "--last")  # best may be the untrained model, epoch 0
    meta = checkpoint.load(series_ckpt, prefer="last").meta
    assert c["kind"] == "series" and c["columns"]["target"] == meta["columns"]["target"]
    assert c["seen"]["unit"] == "windows" and c["seen"]["count"] == 4 * meta["split"]["train"]
    assert len(c["history"]) == 4 and c["best"]["loss"] == meta["best_loss"]
    result = run_cli(["info", "--ckpt", series_ckpt])
    assert result.exit_code == 0 and result.stdout.endswith("\n")
    lines = {line.split("  ")[0]: line for line in result.stdout.splitlines()}
    assert "series model" in lines["kind"] and "untrained model" in lines["best"]
    assert lines["columns"].split()[1:3] == ["target", meta["columns"]["target"] + ";"]
    assert "windows seen" in lines


def test_a_last_written_mid_run(tmp_path):
    """A `last` saved mid-epoch (a step limit): part of an epoch, the history so far."""
    text = "abcdefghij" * 200
    result = run_cli(["train-text", "-", "--out", tmp_path, "--hidden", "8", "--embed", "4",
                      "--layers", "1", "--seq-len", "10", "--batch-size", "4", "--val-frac", "0",
                      "--max-steps", "70", "--quiet"], input=text)
    assert result.exit_code == 0, result.stderr
    c = card(tmp_path, "--last")
    assert c["path"].endswith("last.safetensors") and c["mid_epoch"] and c["steps"] == 70
    assert c["complete_epochs"] == 1 and 1 < c["epochs"] < 2
    assert [h["complete"] for h in c["history"]] == [True, False]
    assert 1 < c["history"][-1]["epochs_done"] < 2 and c["best"]["on"] == "training"
    plain = run_cli(["info", "--ckpt", tmp_path, "--last"]).stdout
    assert "(written mid-epoch)" in plain and "(part)" in plain


def test_plot_writes_png(text_ckpt, series_ckpt, tmp_path):
    from matplotlib import image

    for ckpt in (text_ckpt, series_ckpt):
        png = tmp_path / f"{ckpt.name}.png"
        result = run_cli(["info", "--ckpt", ckpt, "--last", "--plot", png])
        assert result.exit_code == 0, result.stderr
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and image.imread(png).ndim == 3
        assert f"wrote {png}" in result.stderr
    early = run_cli(["info", "--ckpt", series_ckpt, "--plot", tmp_path / "early.png"])
    if not card(series_ckpt)["history"]:  # its best is the untrained model
        assert early.exit_code == 2 and "--last" in early.stderr and early.stdout == ""


def test_plot_without_matplotlib_or_bad_name(text_ckpt, tmp_path, monkeypatch):
    bad = run_cli(["info", "--ckpt", text_ckpt, "--plot", tmp_path / "curves.jpg"])
    assert bad.exit_code == 2 and bad.stdout == "" and "give a .png" in bad.stderr
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import now fails
    result = run_cli(["info", "--ckpt", text_ckpt, "--plot", tmp_path / "p.png"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1].startswith("error: --plot needs matplotlib")


def test_missing_checkpoint_is_one_clear_line(tmp_path):
    result = run_cli(["info", "--ckpt", tmp_path / "gone"])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "no such" in result.stderr


def test_card_json_has_no_nan():
    from charrnn.info import finite, to_json

    assert json.loads(to_json({"a": float("nan"), "b": [float("inf"), 1.5]})) == {"a": None,
                                                                                  "b": [None, 1.5]}
    assert finite((1.0, float("-inf"))) == [1.0, None]


# ---------------------------------------------------------------------- every plain output
def test_plain_outputs_end_with_a_newline(text_ckpt, series_ckpt, hihello_ckpt):
    """The shell prompt never lands on the last line of an output."""
    outputs = {
        "eval text": run_cli(["eval", "--ckpt", text_ckpt, CORPORA / "hihello.txt"]),
        "eval series": run_cli(["eval", "--ckpt", series_ckpt, STOCK_CSV]),
        "sample": run_cli(["sample", "--ckpt", hihello_ckpt, "-p", "h", "--argmax", "-n", "6"]),
        "samples": run_cli(["sample", "--ckpt", hihello_ckpt, "-n", "5", "--num-samples", "2"]),
        "forecast": run_cli(["forecast", "--ckpt", series_ckpt, STOCK_CSV, "--steps", "1"]),
        "inspect": run_cli(["inspect", "--ckpt", hihello_ckpt, CORPORA / "hihello.txt"]),
        "info": run_cli(["info", "--ckpt", hihello_ckpt]),
        "train-text": run_cli(["train-text", CORPORA / "hihello.txt", "--out",
                               text_ckpt.parent / "nl", "--hidden", "4", "--epochs", "1",
                               "--quiet"]),
    }
    for name, result in outputs.items():
        assert result.exit_code == 0, (name, result.stderr)
        assert result.stdout and result.stdout.endswith("\n"), (name, result.stdout[-40:])
    assert outputs["sample"].stdout == "hihello\n"


def test_version_and_completion():
    version = run_cli(["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("charrnn ")
    assert version.stdout.endswith("\n")
    helped = run_cli(["--help"]).stdout
    assert "--install-completion" in helped and "--show-completion" in helped


def test_last_where_there_is_no_last_is_refused(text_ckpt, tmp_path):
    only_best = tmp_path / "run"
    only_best.mkdir()
    (only_best / "best.safetensors").write_bytes((text_ckpt / "best.safetensors").read_bytes())
    for ckpt in (only_best, only_best / "best.safetensors"):
        result = run_cli(["info", "--ckpt", ckpt, "--last"])
        assert result.exit_code == 2 and result.stdout == "" and "--last" in result.stderr
    assert run_cli(["info", "--ckpt", only_best]).exit_code == 0


def test_names_from_the_metadata_reach_the_terminal_escaped(hihello_ckpt, tmp_path):
    from test_bad_input import _crafted

    crafted = _crafted(hihello_ckpt, tmp_path, lambda header, meta: meta.update(
        corpus="evil\x1b[31mred\nnext"))
    result = run_cli(["info", "--ckpt", crafted])
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout and "evil\\x1b[31mred\\nnext" in result.stdout


def test_plot_of_a_run_that_kept_no_epoch_says_why(tmp_path):
    result = run_cli(["train-series", STOCK_CSV, "--newest-first", "--epochs", "3", "--hidden",
                      "5", "--out", tmp_path / "s", "--quiet"])
    assert result.exit_code == 0, result.stderr
    result = run_cli(["info", "--ckpt", tmp_path / "s", "--plot", tmp_path / "s.png"])
    assert result.exit_code == 2
    assert "validation kept no epoch" in result.stderr and "before any" not in result.stderr
