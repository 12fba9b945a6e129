"""RMS and spread that fit wherever the values do, and a forecaster that does not depend on units:
the same series near 1, 1e300 and 1e-200 makes the same choices and scores the same MASE."""
import json
import re
import warnings

import numpy as np
import pytest

from charrnn.series.moments import rms, spread
from conftest import run_cli

X = np.random.default_rng(0).standard_normal((40, 3))


def test_ordinary_values_give_numpys_numbers_bit_for_bit():
    assert rms(X) == np.sqrt(np.mean(X ** 2))
    assert np.array_equal(rms(X, axis=0), np.sqrt(np.mean(X ** 2, axis=0)))
    assert spread(X) == np.std(X)


@pytest.mark.parametrize("scale", [1e300, 1e-200, 1e150, 1e-160])
def test_huge_and_tiny_values_scale_instead_of_overflowing(scale):
    assert rms(X * scale) / scale == pytest.approx(rms(X), rel=1e-12)
    assert np.allclose(rms(X * scale, axis=0) / scale, rms(X, axis=0), rtol=1e-12)
    assert spread(X * scale) / scale == pytest.approx(np.std(X), rel=1e-12)
    assert spread(X * scale + 3 * scale) / scale == pytest.approx(np.std(X), rel=1e-9)


def test_columns_of_different_magnitudes_each_get_their_own_care():
    scales = np.array([1.0, 1e300, 1e-200])
    assert np.allclose(rms(X * scales, axis=0) / scales, rms(X, axis=0), rtol=1e-12)
    assert rms(X * scales, axis=0)[0] == rms(X, axis=0)[0]  # the ordinary column: numpy's


def test_what_is_not_finite_stays_so():
    assert rms(np.array([np.inf, 1.0])) == np.inf
    assert np.isnan(rms(np.array([np.nan, 1e300])))
    assert rms(np.zeros(3)) == 0.0


def _seasonal_csv(path, scale):
    rng = np.random.default_rng(0)
    t = np.arange(120)
    v = (1 + 0.5 * np.sin(2 * np.pi * t / 12)) * (1 + 0.01 * rng.standard_normal(120))
    path.write_text("value\n" + "".join(f"{x * scale:.6e}\n" for x in v), encoding="utf-8")
    return path


def test_a_series_reads_the_same_near_1e300_and_1e_200(tmp_path):
    """Near 1e300 the squared errors used to overflow: every RMSE tied at infinity, the
    seasonal baseline lost to persistence and the model scored MASE 12.9 instead of 0.8."""
    scores = {}
    for scale in (1.0, 1e300, 1e-200):
        data = _seasonal_csv(tmp_path / f"s{scale:g}.csv", scale)
        out = tmp_path / f"ck{scale:g}"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = run_cli(["train-series", data, "--epochs", "3", "--out", out, "--device",
                              "cpu"])
        assert result.exit_code == 0, result.stderr
        assert re.search(r"--baseline mean:[a-z_:\d.,]*(seasonal|smoothed:[\d.,]+)",
                         result.stderr)  # not persistence alone
        assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], scale
        result = run_cli(["eval", "--ckpt", out, data, "--json"])
        assert result.exit_code == 0, result.stderr
        record = json.loads(result.stdout)
        scores[scale] = (record["mase"], record["rmse"] / scale)
    assert scores[1.0][0] < 1.0  # the season is learned, not persistence's 13.9
    for scale in (1e300, 1e-200):
        assert scores[scale] == pytest.approx(scores[1.0], rel=1e-4)
