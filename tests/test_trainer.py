"""The shared trainer as series runs see it (resume, NaN, SIGKILL), and the safety both kinds
share: one run per checkpoint folder, and a full disk."""
from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from charrnn import checkpoint
from conftest import CORPORA, run_cli

# the runs below are about the trainer (resume, limits), not retraining (--no-retrain) or the
# forecaster's choice (--linear none: a kept epoch that loses to the linear model gives way to
# it, commands.linear_alone, and the run's checkpoints are replaced)
SERIES = ["--hidden", "6", "--season", "none", "--device", "cpu", "--no-retrain",
          "--linear", "none"]


def series_csv(path: Path, n: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    y = 10 + 3 * np.sin(2 * np.pi * np.arange(n) / 12) + rng.normal(0, 0.3, n)
    path.write_text("date,v\n" + "\n".join(f"{1900 + i // 12}-{i % 12 + 1:02d},{v:.4f}"
                                             for i, v in enumerate(y)) + "\n")
    return path


def weights(path: Path) -> dict:
    return checkpoint.load(path).group("model")


def charrnn(*args: str) -> list[str]:
    return [sys.executable, "-m", "charrnn", *map(str, args)]


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


# ---------------------------------------------------------------------- series through the trainer
def test_series_resume_is_exact(tmp_path):
    data = series_csv(tmp_path / "s.csv")
    assert run_cli(["train-series", data, *SERIES, "--epochs", "50", "--out", tmp_path / "a",
                    "--quiet"]).exit_code == 0
    assert run_cli(["train-series", data, *SERIES, "--epochs", "20", "--out", tmp_path / "b",
                    "--quiet"]).exit_code == 0
    resumed = run_cli(["train-series", data, "--resume", tmp_path / "b", "--epochs", "50",
                       "--device", "cpu", "--quiet"])
    assert resumed.exit_code == 0, resumed.stderr
    one_go, continued = weights(tmp_path / "a" / "last.safetensors"), weights(tmp_path / "b" / "last.safetensors")
    assert all(torch.equal(one_go[k], continued[k]) for k in one_go)  # bit for bit on CPU
    a = checkpoint.load(tmp_path / "a" / "last.safetensors").meta
    b = checkpoint.load(tmp_path / "b" / "last.safetensors").meta
    assert a["epoch"] == b["epoch"] == 50 and a["best_epoch"] == b["best_epoch"]
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]


def test_series_time_budget_and_max_steps(tmp_path):
    data = series_csv(tmp_path / "s.csv")
    result = run_cli(["train-series", data, *SERIES, "--epochs", "100000", "--time-budget", "1",
                      "--out", tmp_path / "t", "--json"])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1].count('"stop_reason": "time_budget"') == 1
    result = run_cli(["train-series", data, *SERIES, "--max-steps", "7", "--out", tmp_path / "m",
                      "--quiet"])
    assert result.exit_code == 0 and checkpoint.load(tmp_path / "m" / "last.safetensors").meta["step"] == 7


def test_series_nan_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    from charrnn.series import task as series_task

    data = series_csv(tmp_path / "s.csv")
    real_loss, calls = series_task.SeriesTask.loss, []

    def poisoned(self, net, batch, carry):
        calls.append(1)
        objective, shown, carry = real_loss(self, net, batch, carry)
        if len(calls) >= 30:  # epoch 30 and on: the loss becomes NaN
            return objective * float("nan"), shown * float("nan"), carry
        return objective, shown, carry

    monkeypatch.setattr(series_task.SeriesTask, "loss", poisoned)
    result = run_cli(["train-series", data, *SERIES, "--epochs", "100", "--out", tmp_path / "o",
                      "--quiet"])
    assert result.exit_code == 1 and result.stdout == ""
    assert "nan" in one_error_line(result.stderr) and "kept" in result.stderr
    best = checkpoint.load(tmp_path / "o" / "best.safetensors")  # the last good weights
    assert 0 < best.meta["epoch"] < 30
    for path in (tmp_path / "o").glob("*.safetensors"):  # nothing saved holds NaN weights
        assert all(torch.isfinite(t).all() for t in checkpoint.load(path).group("model").values())


def test_series_quiet_is_quiet(tmp_path):
    data = tmp_path / "s.csv"
    data.write_text("t,v,note\n" + "\n".join(f"{i},{i % 12},x" for i in range(100)) + "\n")
    result = run_cli(["train-series", data, *SERIES, "--epochs", "3", "--out", tmp_path / "q",
                      "--quiet"])
    assert result.exit_code == 0 and result.stderr == ""


def test_series_sigkill_at_random_moments_leaves_loadable_checkpoints(tmp_path):
    data, out = series_csv(tmp_path / "s.csv", n=400), tmp_path / "out"
    last, rng, steps = out / "last.safetensors", random.Random(2), []
    for _ in range(4):
        # the shape comes from the checkpoint on resume
        shape = ["--resume", last] if last.exists() else [*SERIES, "--hidden", "32"]
        t0 = time.time()
        proc = subprocess.Popen(charrnn("train-series", data, *shape, "--device", "cpu",
                                        "--epochs", "100000", "--save-every", "0.001", "--out",
                                        out, "--quiet"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        while not (last.exists() and last.stat().st_mtime > t0) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()[1]
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in out.glob("*.safetensors"):
            assert checkpoint.load(path).kind == "series"  # every checkpoint left behind loads
        steps.append(checkpoint.load(last).meta["step"])
    assert steps == sorted(steps) and steps[-1] > steps[0], steps
    done = subprocess.run(charrnn("train-series", data, "--resume", last, "--max-steps",
                                  steps[-1] + 2, "--device", "cpu", "--quiet"),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert checkpoint.load(last).meta["step"] == steps[-1] + 2
    assert not list(out.glob(".*.safetensors.*.tmp"))


# ---------------------------------------------------------------------- one run per folder
def test_a_second_run_into_the_same_folder_is_refused(tmp_path):
    out = tmp_path / "out"
    first = subprocess.Popen(charrnn("train-text", CORPORA / "ship.txt", "--hidden", "32",
                                     "--epochs", "100000", "--out", out, "--quiet"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        lock = out / ".lock"
        while not (lock.exists() and lock.read_text().strip()) and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        second = run_cli(["train-text", CORPORA / "hihello.txt", "--out", out, "--epochs", "1"])
        assert second.exit_code == 2 and second.stdout == ""
        line = one_error_line(second.stderr)
        assert str(first.pid) in line and "--out" in line
        series = run_cli(["train-series", series_csv(tmp_path / "s.csv"), *SERIES, "--out", out])
        assert series.exit_code == 2 and "another charrnn run" in one_error_line(series.stderr)
        assert first.poll() is None  # the first run goes on, undisturbed
    finally:
        first.send_signal(signal.SIGKILL)  # a killed run leaves its lock file behind
        first.wait()
    assert (out / ".lock").exists()
    again = run_cli(["train-text", CORPORA / "ship.txt", "--hidden", "8", "--epochs", "1",
                     "--out", out, "--quiet"])
    assert again.exit_code == 0, again.stderr  # a stale lock blocks nothing


# ---------------------------------------------------------------------- a full disk
def _tiny_filesystem(path: Path, kib: int) -> bool:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={kib}k", "tmpfs", str(path)],
                          capture_output=True)
    return done.returncode == 0


def test_a_full_disk_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    """ENOSPC while saving: one line, exit 1, the previous checkpoint still loads. On a real
    small filesystem where this machine lets the test mount one, else by failing the write."""
    out = tmp_path / "disk"
    args = ["train-text", CORPORA / "ship.txt", "--hidden", "16", "--embed", "8", "--seq-len", "20",
            "--out", out, "--quiet"]
    # 66 kB checkpoints: `last` and `best` fit in 160 kB, a third file (the next write) does not
    mounted = os.geteuid() == 0 and _tiny_filesystem(out, 160)
    try:
        assert run_cli(args + ["--epochs", "1"]).exit_code == 0
        before = (out / "last.safetensors").read_bytes()
        if not mounted:
            import charrnn.checkpoint as ckpt_module

            def full(path, *a, **k):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

            monkeypatch.setattr(ckpt_module, "atomic_writer", full)
        result = run_cli(args + ["--resume", out / "last.safetensors", "--epochs", "3"])
        assert result.exit_code == 1 and result.stdout == ""
        line = one_error_line(result.stderr)
        assert "No space left" in line and "kept" in line
        assert (out / "last.safetensors").read_bytes() == before  # still whole, still loads
        checkpoint.load(out / "last.safetensors")
        assert not list(out.glob(".*.tmp"))
    finally:
        if mounted:
            subprocess.run(["umount", str(out)], capture_output=True)


# ---------------------------------------------------------------------- early stopping
def test_patience_stops_an_overfitting_run_and_keeps_the_best_epoch(tmp_path):
    import json

    result = run_cli(["train-text", CORPORA / "ship.txt", "--hidden", "64", "--seq-len", "10",
                      "--val-frac", "0.3", "--lr", "0.01", "--epochs", "60", "--patience", "2",
                      "--out", tmp_path, "--json", "--quiet"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    epochs, end = records[:-1], records[-1]
    assert end["event"] == "end" and end["stop_reason"] == "patience" and len(epochs) < 60
    best = min(epochs, key=lambda r: r["val_loss"])
    assert end["best_epoch"] == best["epoch"] == epochs[-1]["epoch"] - 2
    assert checkpoint.load(tmp_path / "best.safetensors").meta["epoch"] == best["epoch"]


def test_patience_without_validation_text_is_noted(tmp_path):
    result = run_cli(["train-text", CORPORA / "ship.txt", "--hidden", "8", "--epochs", "2",
                      "--patience", "2", "--out", tmp_path])  # under 1,000 chars: --val-frac 0
    assert result.exit_code == 0, result.stderr
    assert "note: --patience 2" in result.stderr and "will not stop early" in result.stderr
