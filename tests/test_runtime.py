"""Process-wide settings of runtime.py that other modules' tests do not reach."""
import platform
import subprocess
import sys

import pytest

# a full-batch step of a small series LSTM, the case that spent 40% of its time in the kernel:
# the page faults of each step after the first two, with and without keep_freed_memory
PROBE = """
import resource, sys, torch
from charrnn.runtime import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
torch.set_num_threads(1)
torch.manual_seed(0)
rnn = torch.nn.LSTM(2, 20, batch_first=True)
x = torch.randn(1000, 96, 2)
def step():
    out, _ = rnn(x)
    out[:, -1].sum().backward()
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(*faults[2:])
"""


def _faults(mode: str) -> int:
    """The fewest faults of a step once the heap has settled: the allocator's layout (and so
    whether a step or two still grows the heap) differs between CPUs' kernels."""
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True,
                          check=True)
    return min(int(n) for n in done.stdout.split())


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                    reason="glibc's malloc settings")
def test_a_training_step_reuses_freed_memory_instead_of_faulting_it_back_in():
    kept, default = _faults("keep"), _faults("default")
    assert default > 2000  # glibc's defaults: the step's buffers come back from the kernel
    assert kept < default / 20
