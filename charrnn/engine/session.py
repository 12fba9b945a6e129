"""A training run as a command runs it: its views, the folder lock, and closing both."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from charrnn.engine.events import TrainEnd
from charrnn.engine.lock import run_lock
from charrnn.engine.views import close_views, training_views


def train_with_views(make_trainer: Callable, out: Path, json_out: bool, quiet: bool,
                     is_main: bool = True, lock: bool = True) -> TrainEnd:
    """`make_trainer(listeners)` runs under the lock of `out` (unless the caller holds it),
    watched by the chosen views."""
    views = training_views(json_out, quiet) if is_main else []
    with run_lock(out, enabled=is_main and lock):
        try:
            return make_trainer(views).run()
        finally:
            close_views(views)
