"""Retraining on the validation windows (--retrain): the validated run chose the epochs and
calibrated the intervals; the final model trains again, as long, on the training and validation
windows together, whose last stretch is the nearest the future. On 13 series (BENCHMARKS.md,
Time series) better on 9, 0.525 -> 0.523 of persistence's RMSE on average (the 7 real ones:
0.535 -> 0.528). For one series (commands.fit_series) and many (panel.fit_panel).
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path


def retrain_on_validation(task, train_cfg, end, out: Path, trainer_for, say, share=None):
    """One series: `task` ran validated to `end`; its calibration goes with the retrained model
    (`share`: the linear model's share of the correction, where it changed after the validated
    run, commands.linear_alone). Returns (TrainEnd, the retraining SeriesTask)."""
    from charrnn import checkpoint
    from charrnn.series.prepare import prepare
    from charrnn.series.task import SeriesTask

    d, cfg = task.data, replace(task.cfg, retrain=True)
    conformal = (checkpoint.load(end.best_path, kind="series").meta.get("conformal")
                 if share is None else linear_calibration(with_share(d, share)))
    data = prepare(d.series, cfg.window, cfg.horizon, cfg.test_frac, train_cfg.val_frac,
                   cfg.scale_fit, cfg.target_mode, season=cfg.season, transform=cfg.transform,
                   baseline=cfg.baseline, calendar=cfg.calendar, linear=cfg.linear,
                   linear_on="fit")
    if share is not None:
        data = with_share(data, share)
    again = SeriesTask(data, cfg, task.device, conformal)
    done = train_beside(out, end, train_cfg,
                        lambda shorter, folder: trainer_for(again, shorter, folder, ()))
    say(retrained_note(end, out))
    return done, again


def with_share(data, share: float):
    """`data` whose linear model gives `share` of the correction."""
    return replace(data, coder=replace(data.coder, linear={**data.coder.linear, "share": share}))


def linear_calibration(data) -> dict | None:
    """The interval calibration of the baseline and linear model alone (share 1: the network's
    output counts for nothing) on `data`'s validation windows, as the validated run would
    have made it."""
    import numpy as np

    from charrnn.series.intervals import calibration

    val, coder = data.part("val"), data.coder
    return calibration(coder.decode(np.zeros_like(val.y, dtype=float), val), val.y,
                       coder.transform)


def validated_config(train_cfg, retrain: bool):
    """The validated run's config: half the time budget when a retraining follows."""
    budget = train_cfg.time_budget
    return train_cfg if budget is None or not retrain else replace(train_cfg,
                                                                   time_budget=budget / 2)


def train_beside(out: Path, end, train_cfg, make_trainer):
    """Retraining for the validated run's `end.best_epoch` epochs (and half the time budget) in
    a temporary folder inside `out`, its checkpoints moved over the validated ones at the end;
    interrupted, it leaves them. `make_trainer(train_cfg, folder)`. Returns its TrainEnd."""
    import os
    import tempfile

    from charrnn.errors import Interrupted

    epochs = replace(validated_config(train_cfg, True), epochs=end.best_epoch)
    with tempfile.TemporaryDirectory(dir=out, prefix=".retrain-") as tmp:
        try:
            done = make_trainer(epochs, Path(tmp)).run()
        except Interrupted as e:  # what it saved goes with the folder: keep the validated model
            raise Interrupted(f"{str(e).split(':')[0]}: stopped retraining; "
                              f"{out / 'best.safetensors'} holds the validated model",
                              e.exit_code) from None
        for name in ("last", "best"):
            os.replace(Path(tmp) / f"{name}.safetensors", out / f"{name}.safetensors")
    return replace(done, best_path=str(out / "best.safetensors"),
                   last_path=str(out / "last.safetensors"))


def retrained_note(end, out: Path) -> str:
    if not end.best_epoch:  # the untrained network: only a linear model is fitted again
        return (f"note: no epoch was kept, so none is trained again; the linear model, if "
                f"any, is fitted again on the training and validation windows together: "
                f"{out / 'best.safetensors'} (--no-retrain keeps the validated model)")
    return (f"note: trained again for the {end.best_epoch} epochs chosen on the validation "
            f"windows, on the training and validation windows together: "
            f"{out / 'best.safetensors'} (--no-retrain keeps the validated model)")
