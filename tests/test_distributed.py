"""torchrun with two CPU processes (gloo): one data-parallel step equals one big-batch step."""
from __future__ import annotations

import os
import subprocess
import sys

import torch

from charrnn import checkpoint
from charrnn.config import ModelConfig, TrainConfig
from charrnn.distributed import World, shard
from charrnn.text.task import TextConfig, split_text, text_trainer
from charrnn.text.data import StreamWindows, Vocab

from conftest import CORPORA, run_cli

ARGS = ["--hidden", "16", "--embed", "8", "--seq-len", "10", "--batch-size", "3",
        "--val-frac", "0", "--seed", "5", "--quiet"]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           "-m", "charrnn", "train-text", *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)


def test_two_processes_take_one_big_batch_step_together(tmp_path):
    out = tmp_path / "ddp"
    done = torchrun(str(CORPORA / "ship.txt"), *ARGS, "--max-steps", "1", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("best.safetensors")  # rank 0 alone prints
    saved = checkpoint.load(out / "last.safetensors")
    assert saved.meta["world_size"] == 2 and saved.meta["step"] == 1

    # the same step in one process: both ranks' windows stacked into one batch
    text = (CORPORA / "ship.txt").read_text()
    vocab = Vocab.from_text(text)
    cfg = TrainConfig(batch_size=3, val_frac=0.0, seed=5, max_steps=1)
    data = split_text(vocab.encode(text), vocab, "ship", 10, cfg.val_frac)
    model_cfg = ModelConfig(input_size=len(vocab), output_size=len(vocab), embed=8, hidden_size=16)
    single = text_trainer(data, model_cfg, cfg, TextConfig(seq_len=10), tmp_path / "one",
                          torch.device("cpu"), "fp32")
    xs, ys = [], []
    for rank in range(2):
        x, y = StreamWindows(shard(data.train_ids, World(rank, 2)), 3, 10).window(0)
        xs.append(x)
        ys.append(y)
    single.train_step(torch.cat(xs), torch.cat(ys))
    expected = single.model.state_dict()
    got = saved.group("model")
    for name, value in expected.items():
        assert torch.allclose(got[name], value, atol=1e-5), name


def test_a_two_process_run_resumes_in_one_process(tmp_path):
    out = tmp_path / "ddp"
    assert torchrun(str(CORPORA / "ship.txt"), *ARGS, "--epochs", "2", "--out", str(out)).returncode == 0
    result = run_cli(["train-text", CORPORA / "ship.txt", "--resume", out / "last.safetensors",
                      "--epochs", "3", "--quiet"])
    assert result.exit_code == 0, result.stderr
    meta = checkpoint.load(out / "last.safetensors").meta
    assert meta["epoch"] == 3 and meta["world_size"] == 1
