"""--precision auto on CPU: bf16 where a timed step measured it clearly faster, else fp32."""
import pytest
import torch

from charrnn import runtime
from charrnn.runtime import (BF16_MIN_SPEEDUP, PROBES, choose_cpu_precision, cpu_precision_probe,
                             resolve_precision)

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def fresh_probes():
    PROBES.clear()
    yield
    PROBES.clear()


def test_decision_follows_the_measured_speeds():
    assert choose_cpu_precision(10_000, 18_000) == "bf16"
    assert choose_cpu_precision(10_000, 10_000 * BF16_MIN_SPEEDUP) == "bf16"
    assert choose_cpu_precision(10_000, 11_000) == "fp32"  # faster, not clearly
    assert choose_cpu_precision(10_000, 4_000) == "fp32"  # no fast bf16 kernels


@pytest.mark.parametrize("speeds, chosen", [((10_000, 20_000), "bf16"), ((10_000, 9_000), "fp32")])
def test_auto_uses_the_injected_timings_and_notes_them(speeds, chosen):
    calls = []
    measure = lambda: calls.append(1) or speeds  # noqa: E731
    assert resolve_precision("auto", CPU, 256, measure=measure) == chosen
    assert resolve_precision("auto", CPU, 256, measure=measure) == chosen
    assert len(calls) == 1  # once per width and process, nothing on disk
    note = cpu_precision_probe(256).note()
    assert chosen in note and ("20,000" in note or "9,000" in note)


def test_explicit_precision_is_never_overridden(monkeypatch):
    def never():
        raise AssertionError("an explicit precision must not be measured")

    for name in ("fp32", "bf16"):
        assert resolve_precision(name, CPU, 512, measure=never) == name
    monkeypatch.setattr(runtime, "cpu_precision_probe", lambda *a, **k: never())
    assert resolve_precision("fp32", CPU, 512) == "fp32"
    assert resolve_precision("bf16", CPU, 512) == "bf16"


def test_narrow_models_scoring_and_cuda_keep_their_rules():
    never = lambda: (_ for _ in ()).throw(AssertionError("measured"))  # noqa: E731
    assert resolve_precision("auto", CPU, 64, measure=never) == "fp32"
    assert resolve_precision("auto", CPU, 512, training=False, measure=never) == "fp32"
    assert resolve_precision("auto", torch.device("cuda"), 512, measure=never) == "bf16"


def test_the_real_measurement_runs():
    from charrnn.config import ModelConfig
    from charrnn.text.sizing import precision_speeds
    import time

    cfg = ModelConfig(input_size=20, output_size=20, embed=8, hidden_size=32, num_layers=1)
    start = time.perf_counter()
    fp32, bf16 = precision_speeds(cfg, 4, 100, CPU, rounds=1)
    assert fp32 > 0 and bf16 > 0 and time.perf_counter() - start < 60
