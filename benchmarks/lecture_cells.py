#!/usr/bin/env python3
"""The lecture swaps cells to compare them: hihello and the ship sentence with rnn, lstm, gru.

For each run: the first epoch from which the lecture's predictions hold to the end
(`hihell -> ihello`; `if you wan -> ? you want`), and the final training loss.

    python benchmarks/lecture_cells.py                   # the bundled corpora/ (about a minute)
    python benchmarks/lecture_cells.py --corpora DIR --cells lstm,gru
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from charrnn.config import ModelConfig, TrainConfig  # noqa: E402
from charrnn.text.task import TextConfig, split_text, text_trainer  # noqa: E402
from charrnn.engine.events import EpochEnd  # noqa: E402
from charrnn.text.data import Vocab  # noqa: E402

RUNS = {
    "hihello": (dict(lr=0.1, epochs=50, val_frac=0.0, seed=1, batch_size=1), TextConfig(seq_len=6),
                dict(embed=0, hidden_size=5, num_layers=1),
                lambda given, guess: given == "hihell" and guess == "ihello"),
    "ship": (dict(lr=0.1, epochs=500, val_frac=0.0, batch_size=None),
             TextConfig(seq_len=10, sliding=True),
             dict(embed=0, hidden_size=25, num_layers=2, dropout=0.0),
             lambda given, guess: given == "if you wan" and guess[1:] == " you want"),
}


class Recorder:
    wants_preview = True
    preview_seconds = 0.0  # the predicted strings of every epoch

    def __init__(self):
        self.epochs = []

    def __call__(self, event):
        if isinstance(event, EpochEnd):
            self.epochs.append(event)


def run(corpus: str, cell: str, folder: Path = ROOT / "corpora") -> dict:
    train, text_cfg, model, matches = RUNS[corpus]
    text = (folder / f"{corpus}.txt").read_text()
    vocab = Vocab.from_text(text)
    cfg = TrainConfig(**train)
    data = split_text(vocab.encode(text), vocab, corpus, text_cfg.seq_len, cfg.val_frac,
                      text_cfg.sliding)
    model_cfg = ModelConfig(cell=cell, input_size=len(vocab), output_size=len(vocab), **model)
    recorder = Recorder()
    with tempfile.TemporaryDirectory() as out:
        text_trainer(data, model_cfg, cfg, text_cfg, Path(out), torch.device("cpu"), "fp32",
                     [recorder]).run()
    hits = [matches(*e.predictions[0]) for e in recorder.epochs]
    since = next((i + 1 for i in range(len(hits)) if all(hits[i:])), None)
    return {"corpus": corpus, "cell": cell, "epochs": cfg.epochs,
            "predicts_from_epoch": since, "final_loss": round(recorder.epochs[-1].train_loss, 4),
            "final_prediction": " -> ".join(recorder.epochs[-1].predictions[0])}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--corpora", type=Path, default=ROOT / "corpora",
                   help="folder holding hihello.txt and ship.txt (default: the bundled corpora/)")
    p.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated cells (default rnn,lstm,gru)")
    p.add_argument("--only", choices=sorted(RUNS), help="one corpus only")
    args = p.parse_args(argv)
    torch.set_flush_denormal(True)
    for corpus in [args.only] if args.only else RUNS:
        for cell in [c.strip() for c in args.cells.split(",") if c.strip()]:
            print(json.dumps(run(corpus, cell, args.corpora)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
