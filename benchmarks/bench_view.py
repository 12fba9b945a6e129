"""What the live view costs: the same training run in a pseudo-terminal (80 x 24, the live view
drawing) and with --quiet, interleaved, as whole processes.

Two workloads: the lecture's ship sentence (a tiny model, 500 epochs of a few milliseconds,
where a view that redraws per step would dominate) compared by wall time, and a 2 x 512 model on
a real corpus for a fixed --time-budget, compared by the optimizer steps it got through.
Prints a markdown table; the goal is a cost of at most 5% on both.

    python benchmarks/bench_view.py [CORPUS] [--rounds 3] [--budget 60]
"""
from __future__ import annotations

import argparse
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHIP = ["--sliding", "--seq-len", "10", "--embed", "0", "--hidden", "25", "--layers", "2",
        "--dropout", "0", "--lr", "0.1", "--epochs", "500", "--val-frac", "0"]
CHILDREN: list[subprocess.Popen] = []


def run(args: list[str], terminal: bool) -> tuple[float, int]:
    """(wall seconds, bytes the run wrote to its terminal) of `charrnn ARGS`."""
    command = [sys.executable, "-m", "charrnn", *args] + ([] if terminal else ["--quiet"])
    env = {**os.environ, "COLUMNS": "80", "LINES": "24"}
    env.pop("NO_COLOR", None)
    t0 = time.perf_counter()
    if not terminal:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=env)
        CHILDREN.append(proc)
        proc.wait()
        return time.perf_counter() - t0, 0
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    proc = subprocess.Popen(command, stdin=follower, stdout=follower, stderr=follower, env=env)
    CHILDREN.append(proc)
    os.close(follower)
    written = 0
    while True:  # drain the terminal, as a terminal emulator would
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed its side
                break
            if not chunk:
                break
            written += len(chunk)
        elif proc.poll() is not None:
            break
    proc.wait()
    os.close(leader)
    return time.perf_counter() - t0, written


def steps_of(out: Path) -> int:
    from charrnn import checkpoint

    return checkpoint.load(out / "last.safetensors").meta["step"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("corpus", nargs="?", default="@stdlib", help="corpus of the 2 x 512 run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--budget", type=float, default=60.0, help="seconds of the 2 x 512 run")
    args = p.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-view-") as tmp:
            ship = {True: [], False: []}
            for _ in range(args.rounds):
                for terminal in (True, False):
                    out = Path(tmp) / f"ship-{terminal}"
                    ship[terminal].append(run(["train-text", str(ROOT / "corpora" / "ship.txt"),
                                               *SHIP, "--out", str(out)], terminal))
            live, quiet = min(t for t, _ in ship[True]), min(t for t, _ in ship[False])
            rows.append(("ship sentence, 500 epochs (wall s, best of "
                         f"{args.rounds})", f"{live:.2f}", f"{quiet:.2f}", live / quiet - 1,
                         max(b for _, b in ship[True])))
            big = {True: [], False: []}
            for _ in range(args.rounds):
                for terminal in (True, False):
                    out = Path(tmp) / f"big-{terminal}"
                    _, written = run(["train-text", args.corpus, "--hidden", "512",
                                      "--time-budget", f"{args.budget:g}", "--out", str(out)],
                                     terminal)
                    big[terminal].append((steps_of(out), written))
            live, quiet = max(s for s, _ in big[True]), max(s for s, _ in big[False])
            rows.append((f"2 x 512, {args.budget:g} s budget (steps, best of {args.rounds})",
                         str(live), str(quiet), quiet / live - 1, max(b for _, b in big[True])))
    finally:
        for child in CHILDREN:
            if child.poll() is None:
                child.kill()
    print("| run | live view | --quiet | cost of the view | terminal output |")
    print("| --- | --- | --- | --- | --- |")
    for name, live, quiet, cost, written in rows:
        print(f"| {name} | {live} | {quiet} | {100 * cost:+.1f}% | {written / 1024:.0f} kB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
