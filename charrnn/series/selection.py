"""Which baseline the forecaster should correct, decided by training on each and comparing
on the validation windows.

A seasonal baseline's own RMSE says little about what the network earns on top of it: on an
AR(1) noise + yearly season series, seasonal naive scored 0.41, seasonal drift 0.48, and the
network scored 0.36 on top of persistence (window 24) but 0.43 on top of seasonal drift. So,
when a season is known, each candidate is trained quietly in full (series runs take seconds)
and the one whose best model scores the lowest validation RMSE in real units wins, persistence
on ties; the command then trains the winner in the open.
"""
from __future__ import annotations

import tempfile
from dataclasses import replace

import numpy as np

from charrnn.series.prepare import BASELINES, prepare, take

MARGIN = 0.05  # a seasonal baseline must beat persistence by 5% to be chosen


def choose_by_training(series, cfg, train_cfg, transform: str, device, make_trainer,
                       candidates=BASELINES) -> tuple[str, dict[str, float]]:
    """(winning baseline, validation RMSE of each candidate). `make_trainer(task, train_cfg,
    out, listeners)` builds the trainer the command would."""
    from charrnn.series.task import SeriesTask, predict

    trial_cfg = train_cfg
    if train_cfg.time_budget is not None:  # the trials and the final run share the budget
        trial_cfg = replace(train_cfg, time_budget=train_cfg.time_budget / (len(candidates) + 1))
    scores: dict[str, float] = {}
    for baseline in candidates:
        data = prepare(series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                       cfg.scale_fit, cfg.target_mode, season=cfg.season,
                       transform=transform, baseline=baseline)
        if not len(data.part("val").y):
            return "persistence", {}
        task = SeriesTask(data, replace(cfg, baseline=baseline), device)
        with tempfile.TemporaryDirectory(prefix="charrnn-baseline-") as out:
            trainer = make_trainer(task, trial_cfg, out, ())
            trainer.run()
        trainer.model.load_state_dict(trainer.best_state)
        seen = take(data.windows, 0, data.split.fit)  # training and validation windows
        scores[baseline] = float(np.sqrt(np.mean((predict(trainer.model, seen, data.coder)
                                                  - seen.y) ** 2)))
    best = min(scores, key=scores.__getitem__)
    return (best if scores[best] < (1 - MARGIN) * scores["persistence"] else "persistence"), scores
