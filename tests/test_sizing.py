"""Default sizing: the data limit, the time limit, and explicit options winning."""
import math

import pytest
import torch

from charrnn.config import ModelConfig
from charrnn.model import RecurrentNet, count_parameters
from charrnn.runtime import autocast_factory
from charrnn.text.sizing import (CHARS_PER_PARAM, PARAMS_PER_CHAR, WIDTHS, choose_hidden,
                            measure_chars_per_sec, parameters)
from charrnn.text.training import DEFAULT_DROPOUT, resolve_configs

BASE = ModelConfig(input_size=65, output_size=65, embed=64, num_layers=2)


def width_params(width: int) -> int:
    return parameters(ModelConfig(input_size=65, output_size=65, embed=64, num_layers=2,
                                  hidden_size=width))


def never(width):
    raise AssertionError("speed must not be measured here")


def test_parameters_counts_without_allocating():
    cfg = ModelConfig(input_size=65, output_size=65, embed=64, hidden_size=96, num_layers=3)
    assert parameters(cfg) == count_parameters(RecurrentNet(cfg))


@pytest.mark.parametrize("width", WIDTHS[:-1])
def test_data_limit_picks_the_widest_model_the_corpus_supports(width):
    just_enough = math.ceil(width_params(width) / PARAMS_PER_CHAR)
    assert choose_hidden(BASE, just_enough, None, never) == width
    narrower = WIDTHS[WIDTHS.index(width) + 1]
    assert choose_hidden(BASE, just_enough - 1, None, never) == narrower


def test_tiny_corpus_gets_the_floor():
    assert choose_hidden(BASE, 6, None, never) == WIDTHS[-1]
    assert choose_hidden(BASE, 6, 60.0, never) == WIDTHS[-1]


def test_time_limit_narrows_the_model_for_a_short_budget():
    """A machine that trains every width at 10,000 chars/s: 2 x 512 needs enough seconds to see
    CHARS_PER_PARAM characters per parameter, else the next width down is chosen."""
    huge_corpus = 10**9
    need_512 = CHARS_PER_PARAM * width_params(512) / 10_000
    need_1024 = CHARS_PER_PARAM * width_params(1024) / 10_000
    speed = lambda width: 10_000.0  # noqa: E731
    assert choose_hidden(BASE, huge_corpus, need_512 / 0.89, speed) == 512
    assert choose_hidden(BASE, huge_corpus, need_512 / 0.91, speed) == 256
    assert choose_hidden(BASE, huge_corpus, need_1024 / 0.89, speed) == 1024


def test_measured_speed_is_real():
    cfg = ModelConfig(input_size=20, output_size=20, embed=8, hidden_size=16, num_layers=1)
    speed = measure_chars_per_sec(cfg, 4, 10, torch.device("cpu"), autocast_factory("fp32", None))
    assert math.isfinite(speed) and speed > 100


def test_resolve_configs_adapts_and_explicit_options_win():
    model, train = resolve_configs({}, 1_115_394, 65, None)
    assert (model.hidden_size, model.num_layers, model.embed) == (512, 2, 64)
    assert model.dropout == DEFAULT_DROPOUT and (train.lr, train.batch_size) == (3e-3, 32)
    assert train.lr_schedule == "constant" and train.epochs == 20
    model, train = resolve_configs({"time_budget": "10m"}, 1_115_394, 65, None,
                                   lambda cfg, batch, seq: 1e9)
    assert model.hidden_size == 512 and train.lr_schedule == "cosine" and train.time_budget == 600
    model, _ = resolve_configs({"time_budget": "10m"}, 1_115_394, 65, None,
                               lambda cfg, batch, seq: 100.0)
    assert model.hidden_size == WIDTHS[-1]
    model, train = resolve_configs({"hidden": 64, "dropout": 0.0, "lr": 0.1,
                                    "time_budget": "1m"}, 1_115_394, 65, None, never)
    assert (model.hidden_size, model.dropout, train.lr) == (64, 0.0, 0.1)
    model, train = resolve_configs({}, 180, 30, None)
    assert model.hidden_size == WIDTHS[-1] and model.dropout == 0.0 and train.val_frac == 0.0
