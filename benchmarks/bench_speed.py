#!/usr/bin/env python3
"""charrnn's own training step and sampling loop against a bare PyTorch loop, one process.

The bare loop is `benchmarks/anchor_lstm.py` (fused nn.LSTM, Adam, clipping, truncated BPTT;
batch-1 sampling with oneDNN off). Rounds alternate between the two so that both see the same
machine state; prints one JSON object with chars/s of each and the ratio charrnn / anchor.
DATA is a UTF-8 text file or @stdlib (the default); BENCHMARKS.md's figures are on
tinyshakespeare (see the README for where to get it).

The batch-1 sampling table (`sample_table`, also printed on stderr) times, at each of
--sample-sizes, a random 2-layer model (embedding 64, vocabulary 96): the bare loop, charrnn's
exact fp32 path (`sample --exact`) and its fast path (the CPU default: int8 weights, lean step),
rounds interleaved, ratios against the bare loop of the same run. --cost-ckpt/--cost-data add
what the fast path costs: loss in nats/char of its step against the fp32 model's.

    python benchmarks/bench_speed.py --threads 2                      # CPU, hidden 256 x 2, @stdlib
    python benchmarks/bench_speed.py tinyshakespeare.txt --hidden 512 --threads 2
    python benchmarks/bench_speed.py --device cuda --precision bf16   # unchanged on CUDA
    python benchmarks/bench_speed.py --cost-ckpt run/ --cost-data held_out.txt
"""
from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from anchor import ANCHOR, load_anchor  # noqa: E402
from charrnn.config import ModelConfig, TrainConfig  # noqa: E402
from charrnn.model import RecurrentNet  # noqa: E402
from charrnn.text.task import TextConfig, split_text, text_trainer  # noqa: E402
from charrnn.runtime import resolve_device, resolve_precision, setup_device  # noqa: E402
from charrnn.text.sampling import SamplingSettings, generate  # noqa: E402
from charrnn.text.data import Vocab, read_text  # noqa: E402


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_charrnn_train(trainer, steps: int, device) -> float:
    windows = trainer.windows
    for i in range(2):  # warm-up
        trainer.train_step(*windows.window(i))
    sync(device)
    t0 = time.perf_counter()
    for i in range(steps):
        trainer.train_step(*windows.window((i + 2) % len(windows)))
    sync(device)
    return time.perf_counter() - t0


def time_charrnn_sample(model, chars: int, device, fast: bool = False) -> float:
    settings = SamplingSettings(temperature=1.0)
    for _ in generate(model, [0], 50, settings, seed=0, fast=fast):
        pass
    sync(device)
    t0 = time.perf_counter()
    for _ in generate(model, [0], chars, settings, seed=0, fast=fast):
        pass
    sync(device)
    return time.perf_counter() - t0


def sample_table(anchor, sizes: list[int], layers: int, chars: int, rounds: int, device) -> list:
    """Batch-1 chars/s of the bare loop, the exact path and the fast path, interleaved."""
    rows = []
    for hidden in sizes:
        torch.manual_seed(0)
        bare = anchor.CharLSTM(96, 64, hidden, layers).to(device)
        ours = RecurrentNet(ModelConfig(input_size=96, output_size=96, embed=64,
                                        hidden_size=hidden, num_layers=layers)).to(device)
        seconds = {"bare": 0.0, "exact": 0.0, "fast": 0.0}
        for _ in range(rounds):
            seconds["bare"] += anchor.sample(bare, chars, 50, 0, 1.0, device, 0)[0]
            seconds["exact"] += time_charrnn_sample(ours, chars, device)
            seconds["fast"] += time_charrnn_sample(ours, chars, device, fast=True)
        row = {"hidden": hidden, "layers": layers}
        row.update({f"{k}_chars_per_s": round(rounds * chars / v, 1) for k, v in seconds.items()})
        row.update({f"{k}_ratio": round(seconds["bare"] / seconds[k], 3) for k in ("exact", "fast")})
        rows.append(row)
    return rows


def print_table(rows: list, device) -> None:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    print(f"batch-1 sampling, chars/s ({device}, {cpu}, {torch.get_num_threads()} threads)",
          file=sys.stderr)
    print("| model | bare loop | exact | fast | exact / bare | fast / bare |", file=sys.stderr)
    print("| --- | --- | --- | --- | --- | --- |", file=sys.stderr)
    for r in rows:
        print(f"| {r['layers']} x {r['hidden']} | {r['bare_chars_per_s']:,.0f} | "
              f"{r['exact_chars_per_s']:,.0f} | {r['fast_chars_per_s']:,.0f} | "
              f"{r['exact_ratio']:.2f}x | {r['fast_ratio']:.2f}x |", file=sys.stderr)


def fast_path_cost(ckpt_path: str, data: str) -> dict:
    """Loss in nats/char of the fp32 model and of the fast path's step on held-out text."""
    from charrnn import checkpoint
    from charrnn.text.commands import load_model
    from charrnn.text.fast_sampling import quantized_cost

    model, vocab = load_model(checkpoint.load(Path(ckpt_path), kind="text"), "cpu")
    ids, _ = vocab.encode_known(read_text(data))
    t0 = time.perf_counter()
    fp32, fast = quantized_cost(model, ids)
    return {"ckpt": ckpt_path, "hidden": model.cfg.hidden_size, "layers": model.cfg.num_layers,
            "chars": len(ids) - 1, "fp32_nats": round(fp32, 5), "fast_nats": round(fast, 5),
            "cost_nats": round(fast - fp32, 5), "seconds": round(time.perf_counter() - t0, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("data", nargs="?", default="@stdlib", help="text file or @stdlib (default: @stdlib)")
    p.add_argument("--anchor", default=str(ANCHOR))
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20, help="timed training steps per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--sample-chars", type=int, default=1000)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="auto", help="charrnn's precision; the anchor gets --amp on CUDA bf16")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--sample-sizes", default="256,512", help="hidden widths of the sampling table")
    p.add_argument("--sample-rounds", type=int, default=3)
    p.add_argument("--skip-train", action="store_true", help="only the sampling table")
    p.add_argument("--cost-ckpt", help="a text checkpoint: measure the fast path's cost on it")
    p.add_argument("--cost-data", help="held-out text for --cost-ckpt")
    args = p.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    anchor = load_anchor(Path(args.anchor))
    device = resolve_device(args.device)
    setup_device(device)
    precision = resolve_precision(args.precision, device, args.hidden)
    text = read_text(args.data)
    vocab = Vocab.from_text(text)
    ids = vocab.encode(text)

    # charrnn: the engine's own trainer and train_step, embedding width = hidden as the anchor
    train_cfg = TrainConfig(batch_size=args.batch, val_frac=0.1, precision=precision)
    model_cfg = ModelConfig(input_size=len(vocab), output_size=len(vocab), embed=args.hidden,
                            hidden_size=args.hidden, num_layers=args.layers)
    data = split_text(ids, vocab, "bench", args.seq, train_cfg.val_frac)
    trainer = text_trainer(data, model_cfg, train_cfg, TextConfig(seq_len=args.seq),
                           Path("/nonexistent"), device, precision)

    # the bare loop, same configuration
    a_args = argparse.Namespace(warmup=2, steps=args.steps, lr=2e-3, clip=5.0)
    xb, yb = anchor.stream_chunks(data.train_ids, args.batch, args.seq, device)
    a_model = anchor.CharLSTM(len(vocab), args.hidden, args.hidden, args.layers).to(device)
    amp = precision == "bf16" and device.type == "cuda"
    a_ctx = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if amp else contextlib.nullcontext

    result = {"device": str(device), "precision": precision, "threads": torch.get_num_threads(),
              "torch": torch.__version__, "hidden": args.hidden, "layers": args.layers,
              "seq": args.seq, "batch": args.batch}
    if not args.skip_train:
        ours, theirs = 0.0, 0.0
        for _ in range(args.rounds):
            theirs += anchor.train(a_model, xb, yb, a_args, device, a_ctx)[0]
            ours += time_charrnn_train(trainer, args.steps, device)
        chars = args.rounds * args.steps * args.batch * args.seq
        s_ours, s_theirs = 0.0, 0.0
        for _ in range(args.rounds):
            s_theirs += anchor.sample(a_model, args.sample_chars, 50, 0, 1.0, device, 0)[0]
            s_ours += time_charrnn_sample(trainer.model, args.sample_chars, device)
        s_chars = args.rounds * args.sample_chars
        result["train"] = {"charrnn_chars_per_s": round(chars / ours, 1),
                           "anchor_chars_per_s": round(chars / theirs, 1),
                           "ratio": round(theirs / ours, 3)}
        result["sample"] = {"charrnn_chars_per_s": round(s_chars / s_ours, 1),
                            "anchor_chars_per_s": round(s_chars / s_theirs, 1),
                            "ratio": round(s_theirs / s_ours, 3)}
    sizes = [int(v) for v in args.sample_sizes.split(",") if v]
    if sizes:
        result["sample_table"] = sample_table(anchor, sizes, args.layers, args.sample_chars,
                                              args.sample_rounds, device)
        print_table(result["sample_table"], device)
    if args.cost_ckpt:
        result["fast_path_cost"] = fast_path_cost(args.cost_ckpt, args.cost_data or args.data)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
