"""Shared fixtures: the lecture's two tiny trainings, run once per test session."""
from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charrnn.cli import app

# encoded corpora are cached; keep the tests' cache out of the user's home, and remove it after
if "CHARRNN_CACHE" not in os.environ:
    os.environ["CHARRNN_CACHE"] = tempfile.mkdtemp(prefix="charrnn-test-cache-")
    atexit.register(shutil.rmtree, os.environ["CHARRNN_CACHE"], ignore_errors=True)

ROOT = Path(__file__).resolve().parent.parent
CORPORA = ROOT / "corpora"
STOCK_CSV = CORPORA / "data-02-stock_daily.csv"  # the lecture's stock prices, shipped

HIHELLO_ARGS = ["--embed", "0", "--hidden", "5", "--layers", "1", "--seq-len", "6", "--lr", "0.1",
                "--epochs", "50", "--val-frac", "0", "--seed", "1"]
SHIP_ARGS = ["--sliding", "--seq-len", "10", "--embed", "0", "--hidden", "25", "--layers", "2",
             "--dropout", "0", "--lr", "0.1", "--epochs", "500", "--val-frac", "0"]


def run_cli(args, input=None):
    result = CliRunner().invoke(app, [str(a) for a in args], input=input)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


ZEN = ("Beautiful is better than ugly. Explicit is better than implicit.\n"
       "Simple is better than complex. Complex is better than complicated.\n"
       "Flat is better than nested. Sparse is better than dense. Readability counts.\n"
       "Special cases aren't special enough to break the rules.\n"
       "Now is better than never. Although never is often better than right now.\n")


@pytest.fixture(scope="session")
def zen_ckpt(tmp_path_factory) -> Path:
    """A small 2-layer LSTM trained on ZEN in fp32 (the fast sampler's and eval's tests)."""
    out = tmp_path_factory.mktemp("zen")
    (out / "corpus.txt").write_text(ZEN * 60)
    result = run_cli(["train-text", out / "corpus.txt", "--hidden", "64", "--embed", "16",
                      "--seq-len", "50", "--batch-size", "32", "--max-steps", "120", "--lr",
                      "0.01", "--seed", "1", "--precision", "fp32", "--out", out / "ck",
                      "--quiet"])
    assert result.exit_code == 0, result.stderr
    return out / "ck"


@pytest.fixture(scope="session")
def hihello_ckpt(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hihello")
    result = run_cli(["train-text", CORPORA / "hihello.txt", *HIHELLO_ARGS, "--out", out,
                      "--json"])
    assert result.exit_code == 0, result.stderr
    return out


@pytest.fixture(scope="session")
def ship_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("ship")
    result = run_cli(["train-text", CORPORA / "ship.txt", *SHIP_ARGS, "--out", out, "--json"])
    assert result.exit_code == 0, result.stderr
    return out, result
