"""Shared fixtures: the lecture's two tiny trainings, run once per test session."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from charrnn.cli import app

# encoded corpora are cached; keep the tests' cache out of the user's home
os.environ.setdefault("CHARRNN_CACHE", tempfile.mkdtemp(prefix="charrnn-test-cache-"))

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
