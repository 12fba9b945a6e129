"""Which baseline the forecaster should correct, decided by training on each.

A seasonal baseline's own RMSE says little about what the network earns on top of it: on an
AR(1) noise + yearly season series, seasonal naive scored 0.41, seasonal drift 0.48, and the
network scored 0.36 on top of persistence (window 24) but 0.43 on top of seasonal drift. So,
when a season is known, each candidate is trained quietly in full (series runs take seconds)
and scored two ways: on the validation windows (unbiased, but a few dozen windows) and on all
the windows it was fitted and selected on (many, but flattering a flexible fit). A seasonal
baseline replaces persistence only when it wins both by MARGIN: on a noisy cycle whose period
drifts, either score alone let a seasonal baseline win by chance in one seed of five and lose
the test part by 2x. The command then trains the winner in the open.
"""
from __future__ import annotations

import tempfile
from dataclasses import replace

import numpy as np

from charrnn.series.prepare import BASELINES, prepare, take

MARGIN = 0.05  # a seasonal baseline must beat persistence by 5% to be chosen


def choose_by_training(series, cfg, train_cfg, transform: str, device, make_trainer,
                       candidates=BASELINES) -> tuple[str, dict[str, float]]:
    """(winning baseline, {candidate: (validation RMSE, fitted-windows RMSE)}).
    `make_trainer(task, train_cfg, out, listeners)` builds the trainer the command would."""
    from charrnn.series.task import SeriesTask

    trial_cfg = train_cfg
    if train_cfg.time_budget is not None:  # the trials and the final run share the budget
        trial_cfg = replace(train_cfg, time_budget=train_cfg.time_budget / (len(candidates) + 1))
    scores: dict[str, tuple[float, float]] = {}
    for baseline in candidates:
        data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                       cfg.scale_fit, cfg.target_mode, season=cfg.season,
                       transform=transform, baseline=baseline, calendar=cfg.calendar)
        if not len(data.part("val").y):
            return "persistence", {}
        task = SeriesTask(data, replace(cfg, baseline=baseline), device)
        with tempfile.TemporaryDirectory(prefix="charrnn-baseline-") as out:
            trainer = make_trainer(task, trial_cfg, out, ())
            trainer.run()
        trainer.model.load_state_dict(trainer.best_state)
        scores[baseline] = (rmse(trainer.model, data.part("val"), data.coder),
                            rmse(trainer.model, take(data.windows, 0, data.split.fit), data.coder))
    bar = [(1 - MARGIN) * score for score in scores["persistence"]]
    winners = [b for b in candidates if all(mine < limit for mine, limit in zip(scores[b], bar))]
    best = min(winners, key=lambda b: scores[b][0], default="persistence")
    return best, scores


def rmse(model, windows, coder) -> float:
    from charrnn.series.task import predict

    return float(np.sqrt(np.mean((predict(model, windows, coder) - windows.y) ** 2)))
