"""Device, precision, signals and process-wide settings, for every command."""
from __future__ import annotations

import contextlib
import functools
import os
import signal
import threading
from dataclasses import dataclass

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
        keep_freed_memory()
        # A converged small model was measured 35x slower per step with denormals.
        torch.set_flush_denormal(True)
    elif device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


# Up to this much freed memory stays with the process instead of going back to the kernel
KEPT_FREE_BYTES = 1 << 30


@functools.cache
def keep_freed_memory() -> bool:
    """Training allocates and frees the same large buffers every step. glibc serves large
    blocks with mmap (over a threshold that starts at 128 KiB and rises to 32 MiB at most) and
    returns them on free, and trims the heap's freed top; the next step faults the pages back
    in, zeroed. A full-batch step of the default series LSTM over 1,929 windows of 96 rows
    spent 40% of its time in the kernel (220 ms a step; 119 ms with the memory kept). So large
    blocks come from the heap, and up to KEPT_FREE_BYTES of it stays with the process. Once
    per process; False where the C library is not glibc (nothing changed)."""
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # malloc.h
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, KEPT_FREE_BYTES))


BF16_MIN_HIDDEN = 128  # narrower models are bound by per-call costs, not arithmetic
BF16_MIN_SPEEDUP = 1.15  # bf16 autocast must train this much faster than fp32 to be chosen


@dataclass(frozen=True)
class PrecisionProbe:
    """What `auto` measured on this CPU for one width: forward+backward chars/s in each."""

    hidden_size: int
    fp32: float
    bf16: float

    @property
    def choice(self) -> str:
        return choose_cpu_precision(self.fp32, self.bf16)

    def fact(self) -> str:
        """The run header's short form."""
        return (f"{self.choice} by measurement (bf16 {self.bf16 / max(self.fp32, 1e-9):.2f}x "
                f"fp32)")

    def note(self) -> str:
        return (f"--precision auto chose {self.choice} (forward+backward chars/s at --hidden "
                f"{self.hidden_size}: bf16 {self.bf16:,.0f}, fp32 {self.fp32:,.0f}, "
                f"{self.bf16 / max(self.fp32, 1e-9):.2f}x; bf16 needs {BF16_MIN_SPEEDUP:g}x)")


PROBES: dict[int, PrecisionProbe] = {}  # this process's measurements by width; nothing on disk


def choose_cpu_precision(fp32_speed: float, bf16_speed: float,
                         min_speedup: float = BF16_MIN_SPEEDUP) -> str:
    """bf16 where it measured clearly faster (AMX, AVX512-BF16, whatever comes next)."""
    return "bf16" if bf16_speed >= min_speedup * fp32_speed else "fp32"


def cpu_precision_probe(hidden_size: int, measure=None) -> PrecisionProbe:
    """The measured speeds for this width, once per process. `measure()` -> (fp32, bf16)
    chars/s of the real model shape; without it, the default text model of that width."""
    if hidden_size not in PROBES:
        if measure is None:
            from charrnn.text.sizing import default_precision_speeds

            fp32, bf16 = default_precision_speeds(hidden_size)
        else:
            fp32, bf16 = measure()
        PROBES[hidden_size] = PrecisionProbe(hidden_size, fp32, bf16)
    return PROBES[hidden_size]


def resolve_precision(name: str, device: torch.device, hidden_size: int = 0,
                      training: bool = True, measure=None) -> str:
    """auto: bf16 autocast on CUDA; for training on CPU, bf16 where a short timed step of the
    model (hidden >= 128) is >= 1.15x faster in it than in fp32; fp32 otherwise (and for
    scoring on CPU, which stays exact). An explicit precision is always kept."""
    if name not in PRECISIONS:
        raise CharrnnError(f"--precision must be one of {', '.join(PRECISIONS)}, not {name!r}")
    if name != "auto":
        return name
    if device.type == "cuda":
        return "bf16"
    if device.type == "cpu" and training and hidden_size >= BF16_MIN_HIDDEN:
        return cpu_precision_probe(hidden_size, measure).choice
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


# fp32 copies of the weights a training run holds at its peak: the weights, gradients, Adam's
# two moments, the best epoch's copy and a checkpoint's tensors and bytes as it is written.
# Measured peaks: 16-17 copies (train-series --ensemble 16 and 32 of --hidden 200: 2.9 and
# 10.6 GB for 157 and 626 MB of weights); this floor is under them
TRAINING_COPIES = 12


def available_memory() -> int | None:
    """Bytes this process could still come to hold, or None where unknown: what the kernel
    says is available (MemAvailable) plus free swap plus what the process holds already (its
    freed heap is kept and reused, runtime.keep_freed_memory), within a cgroup's limit where
    one is set (a container's /proc/meminfo shows the host's memory)."""
    try:
        with open("/proc/meminfo") as f:
            info = {line.split(":")[0]: int(line.split()[1]) * 1024 for line in f
                    if line.split(":")[0] in ("MemAvailable", "SwapFree")}
        with open("/proc/self/statm") as f:
            held = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
    if "MemAvailable" not in info:
        return None
    available = info["MemAvailable"] + info.get("SwapFree", 0) + held
    try:
        limit = open("/sys/fs/cgroup/memory.max").read().strip()
        used = int(open("/sys/fs/cgroup/memory.current").read())
        if limit != "max":
            available = min(available, int(limit) - used + held)
    except (OSError, ValueError):
        pass
    return available


def check_fits_in_memory(model_cfg, device: torch.device) -> None:
    """Refuse a model whose training cannot fit in the CPU's memory before any of it is made:
    `--ensemble 64 --hidden 200` (one block-diagonal LSTM of 12,800 units) grew to 19 GB and
    the kernel killed the process without a word. CUDA reports its own out-of-memory error."""
    from charrnn.model import build_model

    if device.type != "cpu":
        return
    available = available_memory()
    if available is None:
        return
    with torch.device("meta"):
        weights = sum(p.numel() for p in build_model(model_cfg).parameters())
    needed = weights * 4 * TRAINING_COPIES
    if needed > available:
        shape = (f"--hidden {model_cfg.hidden_size} --layers {model_cfg.num_layers}"
                 + (f" --ensemble {model_cfg.ensemble}" if model_cfg.ensemble > 1 else ""))
        raise CharrnnError(f"{shape}: {weights:,} weights need at least {needed / 2**30:.1f} GiB "
                           f"to train (the weights, their gradients, Adam's moments and the "
                           f"checkpoints' copies), and this process can have "
                           f"{available / 2**30:.1f} GiB (memory available, free swap and what "
                           f"it holds); choose a smaller model")
