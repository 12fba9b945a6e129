"""The bare PyTorch loop the benchmarks compare against: `benchmarks/anchor_lstm.py`."""
from __future__ import annotations

import importlib.util
from pathlib import Path

ANCHOR = Path(__file__).resolve().parent / "anchor_lstm.py"


def load_anchor(path: Path = ANCHOR):
    """Imports the anchor script by path (it is not a package)."""
    spec = importlib.util.spec_from_file_location("anchor_lstm", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
