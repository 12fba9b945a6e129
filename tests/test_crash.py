"""Crashes and interruptions lose nothing: SIGKILL at random moments, SIGINT, SIGTERM."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from charrnn import checkpoint

KILL_TRIALS = 8


def corpus(tmp_path: Path) -> Path:
    rng = random.Random(0)
    words = ["the", "ship", "sea", "wood", "drum", "people", "long", "endless", "task", "work"]
    path = tmp_path / "corpus.txt"
    path.write_text(" ".join(rng.choice(words) for _ in range(6000)))
    return path


def start(data: Path, out: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "charrnn", "train-text", str(data), "--out", str(out),
            "--hidden", "128", "--embed", "16", "--seq-len", "25", "--batch-size", "16",
            "--epochs", "1000", "--seed", "3", "--quiet", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_for_write(path: Path, after: float, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_mtime > after:
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} was not written within {timeout} s")


def test_sigkill_at_random_moments_leaves_loadable_checkpoints(tmp_path):
    data, out = corpus(tmp_path), tmp_path / "out"
    rng = random.Random(1)
    last = out / "last.safetensors"
    steps = []
    for trial in range(KILL_TRIALS):
        resume = ["--resume", str(last)] if last.exists() else []
        t0 = time.time()
        proc = start(data, out, "--save-every", "0.001", *resume)
        wait_for_write(last, t0)
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        for path in out.glob("*.safetensors"):
            ckpt = checkpoint.load(path)  # every checkpoint left behind loads
            assert ckpt.kind == "text"
        steps.append(checkpoint.load(last).meta["step"])
    assert steps == sorted(steps) and steps[-1] > steps[0], steps  # each resume moved on
    done = subprocess.run([sys.executable, "-m", "charrnn", "train-text", str(data), "--resume",
                           str(last), "--max-steps", str(steps[-1] + 3), "--quiet"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert checkpoint.load(last).meta["step"] == steps[-1] + 3


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_saves_last_and_exits_with_its_code(tmp_path, sig, code):
    data, out = corpus(tmp_path), tmp_path / "out"
    t0 = time.time()
    proc = start(data, out, "--save-every", "0.2")
    wait_for_write(out / "last.safetensors", t0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--resume" in lines[0]
    assert stdout == ""
    assert checkpoint.load(out / "last.safetensors").meta["step"] > 0
