"""What the CPU text benchmarks share: the corpus argument, --threads, and the device set up as
charrnn sets it up before training (imported by bench_precision.py and bench_sizing.py)."""
from __future__ import annotations

import argparse


def add_corpus_and_threads(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", nargs="?", default="@stdlib", help="text file or @stdlib (default: @stdlib)")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")


def cpu_corpus(args: argparse.Namespace) -> str:
    """Sets the threads and the CPU as a training run would, and returns the corpus's text."""
    import torch

    from charrnn.runtime import setup_device
    from charrnn.text.data import read_text

    if args.threads:
        torch.set_num_threads(args.threads)
    setup_device(torch.device("cpu"))
    return read_text(args.data)
