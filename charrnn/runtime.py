"""Device, precision, signals and process-wide settings, for every command."""
from __future__ import annotations

import contextlib
import functools
import signal
import threading

import torch

from charrnn.errors import CharrnnError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "bf16")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name not in DEVICES:
        raise CharrnnError(f"--device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise CharrnnError("--device cuda: no CUDA device is available here; use --device cpu")
    if name == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise CharrnnError("--device mps: no Apple GPU is available here; use --device cpu")
    return torch.device(name)


@contextlib.contextmanager
def isolated():
    """Process-wide torch settings a command changes (threads, global RNG, flush-denormal,
    TF32, cudnn benchmark) are put back when it ends, so one command in a process (a test,
    a notebook) does not leak into the next."""
    threads = torch.get_num_threads()
    cuda_flags = (torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32,
                  torch.backends.cudnn.allow_tf32)
    with torch.random.fork_rng(devices=[]):
        try:
            yield
        finally:
            if torch.get_num_threads() != threads:  # setting it rebuilds torch's thread pool
                torch.set_num_threads(threads)
            torch.set_flush_denormal(False)  # torch's default; it cannot be read back
            (torch.backends.cudnn.benchmark, torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32) = cuda_flags


def setup_device(device: torch.device) -> None:
    if device.type == "cpu":
        # A converged small model was measured 35x slower per step with denormals.
        torch.set_flush_denormal(True)
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


AMX_MIN_HIDDEN = 128  # bf16 autocast measured 1.7x (128), 2.1x (256), 2.6x (512) fp32 here


@functools.cache
def cpu_has_amx() -> bool:
    """Intel AMX tiles for bf16 (Sapphire Rapids and later): where CPU autocast pays off."""
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and "amx_bf16" in line.split() for line in f)
    except OSError:
        return False


def resolve_precision(name: str, device: torch.device, hidden_size: int = 0,
                      training: bool = True) -> str:
    """auto: bf16 autocast on CUDA, and for training on CPUs with AMX where the model is wide
    enough for it to help; fp32 otherwise (and for scoring on CPU, which stays exact)."""
    if name not in PRECISIONS:
        raise CharrnnError(f"--precision must be one of {', '.join(PRECISIONS)}, not {name!r}")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16"
    if device.type == "cpu" and training and hidden_size >= AMX_MIN_HIDDEN and cpu_has_amx():
        return "bf16"
    return "fp32"


def autocast_factory(precision: str, device: torch.device):
    if precision == "bf16" and device.type in ("cuda", "cpu"):
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


class StopSignals:
    """Turns SIGINT / SIGTERM into a flag the training loop checks between steps."""

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # a second Ctrl-C stops at once
        self.received = signum

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        return False
