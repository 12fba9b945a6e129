"""The save policy, the same for every task: `last` (and `best`, if it changed since the last
write) are written whenever the previous write is `--save-every` seconds old, and when a run
ends, is interrupted or fails. `best` is kept in memory until then, so a run of millisecond
epochs does not write a file per epoch, and a failure never writes the weights that failed.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from charrnn import checkpoint
from charrnn.engine.events import CheckpointSaved
from charrnn.errors import TrainingFailed


class Saver:
    def __init__(self, out_dir: Path, writes: bool, emit: Callable[[object], None]):
        self.out_dir, self.writes, self.emit = Path(out_dir), writes, emit  # writes: rank 0
        self.t_saved = time.monotonic()
        self.best: tuple[dict, dict] | None = None  # the best epoch's (tensors, meta)
        self.best_written = True

    def due(self, save_every: float) -> bool:
        return time.monotonic() - self.t_saved >= save_every

    def keep_best(self, payload: tuple[dict, dict]) -> None:
        tensors, meta = payload
        self.best = ({k: v.detach().clone() for k, v in tensors.items()}, meta)
        self.best_written = False

    def best_weights(self) -> dict | None:
        return None if self.best is None else checkpoint.group(self.best[0], "model")

    def save(self, payload: tuple[dict, dict] | None, reason: str = "last") -> Path:
        """`last` from `payload` (everything a resume needs), then `best` if it is new."""
        last = self.out_dir / "last.safetensors"
        self.t_saved = time.monotonic()
        if self.writes:
            self._write(last, *payload, reason)
            self.save_best()
        return last

    def save_best(self) -> None:
        if not self.best_written and self.writes:
            self._write(self.out_dir / "best.safetensors", *self.best, "best")
        self.best_written = True

    def _write(self, path: Path, tensors: dict, meta: dict, reason: str) -> None:
        try:
            checkpoint.save(path, tensors, meta)
        except OSError as e:
            raise TrainingFailed(f"cannot write {path} ({e.strerror or e}); the previous "
                                 f"checkpoint there is kept; free some space or choose another "
                                 f"--out") from None
        self.emit(CheckpointSaved(str(path), reason))
