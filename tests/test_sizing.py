"""Default sizing: the data limit, the time limit, and explicit options winning."""
import math

import pytest
import torch

from charrnn.config import ModelConfig
from charrnn.model import RecurrentNet, count_parameters
from charrnn.runtime import autocast_factory
from charrnn.text.sizing import (CHARS_PER_PARAM, PARAMS_PER_CHAR, WIDTHS, choose_hidden,
                            measure_chars_per_sec, parameters)
from charrnn.text.training import (DEFAULT_DROPOUT, LONG_RUN_DROPOUT, LONG_RUN_WEIGHT_DECAY,
                                   expected_passes,
                                   resolve_configs)

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
    assert (train.lr, train.batch_size) == (3e-3, 32)
    assert model.dropout == LONG_RUN_DROPOUT  # 20 epochs of 3.3 parameters a character
    assert train.lr_schedule == "constant" and train.epochs == 20
    model, train = resolve_configs({"time_budget": "10m"}, 1_115_394, 65, None,
                                   lambda cfg, batch, seq: 1e9)
    assert model.hidden_size == 512 and train.lr_schedule == "cosine" and train.time_budget == 600
    model, _ = resolve_configs({"time_budget": "10m"}, 1_115_394, 65, None,
                               lambda cfg, batch, seq: 100.0)
    assert model.hidden_size == WIDTHS[-1]
    model, train = resolve_configs({"hidden": 64, "dropout": 0.0, "weight_decay": 0.0, "lr": 0.1,
                                    "time_budget": "1m"}, 1_115_394, 65, None, never)
    assert (model.hidden_size, model.dropout, train.weight_decay, train.lr) == (64, 0.0, 0.0, 0.1)
    model, train = resolve_configs({}, 180, 30, None)
    assert model.hidden_size == WIDTHS[-1] and model.dropout == 0.0 and train.val_frac == 0.0


SHAKESPEARE = 1_115_394  # characters; 1,003,855 of them train


@pytest.mark.parametrize("options, chars_per_sec, hidden, dropout", [
    # ten minutes at the EPYC's bf16 speed: 8.6 passes x 3.3 parameters a character = 28
    ({"time_budget": "10m"}, 16_000, 512, LONG_RUN_DROPOUT),
    # the same model for two minutes: 1.7 passes, 6
    ({"time_budget": "2m", "hidden": 512}, 16_000, 512, DEFAULT_DROPOUT),
    # 2 x 256 for 2,300 steps: 7.3 passes x 1.1 = 8
    ({"max_steps": 2300, "hidden": 256}, None, 256, DEFAULT_DROPOUT),
    # ...and for 20 epochs: 22
    ({"hidden": 256}, None, 256, LONG_RUN_DROPOUT),
    ({"time_budget": "10m", "dropout": 0.05}, 16_000, 512, 0.05),  # given wins
])
def test_dropout_grows_with_the_passes_a_model_of_its_size_makes(options, chars_per_sec,
                                                                   hidden, dropout):
    model, train = resolve_configs(options, SHAKESPEARE, 65, None,
                                   chars_per_sec and (lambda cfg, batch, seq: chars_per_sec))
    assert (model.hidden_size, model.dropout) == (hidden, dropout)
    # weight decay follows the same rule (given dropout or not: that case is a ten-minute run)
    long_run = dropout == LONG_RUN_DROPOUT or "dropout" in options
    assert train.weight_decay == (LONG_RUN_WEIGHT_DECAY if long_run else 0.0)


@pytest.mark.parametrize("options, weight_decay", [
    ({"time_budget": "10m", "weight_decay": 0.0}, 0.0),
    ({"time_budget": "10m", "weight_decay": 0.5, "dropout": 0.0}, 0.5),
    ({"time_budget": "2m", "hidden": 512, "weight_decay": 0.3}, 0.3),
])
def test_a_given_weight_decay_wins(options, weight_decay):
    _, train = resolve_configs(options, SHAKESPEARE, 65, None, lambda cfg, batch, seq: 16_000)
    assert train.weight_decay == weight_decay


def test_a_large_corpus_keeps_light_dropout_for_its_twenty_epochs():
    model, _ = resolve_configs({}, 1_000_000_000, 200, None)
    assert model.hidden_size == WIDTHS[0] and model.dropout == DEFAULT_DROPOUT


def test_expected_passes_is_the_first_limit_to_end_the_run():
    _, train = resolve_configs({"time_budget": "10m", "max_steps": 1000, "hidden": 64},
                               SHAKESPEARE, 65, None, lambda cfg, batch, seq: 1e9)
    n_train = SHAKESPEARE - round(SHAKESPEARE * 0.1)
    assert expected_passes(train, 100, n_train, lambda: 1e9) == pytest.approx(
        1000 * 32 * 100 / n_train)  # the steps end it
    assert expected_passes(train, 100, n_train, lambda: 100.0) == pytest.approx(
        100.0 * 600 * 0.9 / n_train)  # a slow machine: the budget ends it
    _, train = resolve_configs({"epochs": 3, "hidden": 64}, SHAKESPEARE, 65, None)
    assert expected_passes(train, 100, n_train, lambda: 1.0) == 3.0
