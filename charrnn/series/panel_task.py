"""The series task over the many series of a long-format file (train-series --id): their
windows in one batch, validation and interval calibration pooled in coder units (each residual
over its series' scale), the preview from the longest series."""
from __future__ import annotations

import numpy as np
import torch

from charrnn.config import SeriesConfig, to_dict
from charrnn.errors import CharrnnError
from charrnn.series.baselines import forward
from charrnn.series.moments import rms
from charrnn.series.prepare import Prepared
from charrnn.series.task import SeriesTask, SeriesWindows, _covariate_facts, predict


def coded(part: Prepared, values: np.ndarray) -> np.ndarray:
    """Real values -> coder units (the transformed target over the series' scale), so the
    residuals of different series can be pooled."""
    return forward(values, part.coder.transform) / part.coder.scale


def unit_calibration(model, parts: list[Prepared]) -> dict | None:
    """Pooled validation residuals of every series, in coder units."""
    from charrnn.series.intervals import calibration

    preds, actuals = [], []
    for p in parts:
        val = p.part("val")
        if len(val.y):
            preds.append(coded(p, predict(model, val, p.coder)))
            actuals.append(coded(p, val.y))
    if not preds:
        return None
    return calibration(np.concatenate(preds), np.concatenate(actuals), "none")


def series_calibration(units: dict | None, coder) -> dict | None:
    """The pooled calibration in one series' space: each residual times its scale."""
    if not units:
        return None
    return {"space": coder.transform, "windows": units["windows"],
            "residuals_per_step": [[v * coder.scale for v in row]
                                   for row in units["residuals_per_step"]]}


class PanelTask(SeriesTask):
    """The series task over many series: their windows in one batch, validation pooled in
    coder units, the preview from the longest series."""

    def __init__(self, ids: list[str], parts: list[Prepared], cfg: SeriesConfig, panel,
                 device: torch.device, units: dict | None = None):
        """cfg.retrain: learn from every series' training and validation windows, with the
        calibration `units` of the validated run."""
        lead = max(range(len(parts)), key=lambda i: len(parts[i].series))
        super().__init__(parts[lead], cfg, device)
        self.ids, self.parts, self.panel, self.lead_id = ids, parts, panel, ids[lead]
        self.units = units
        self.to_scaled = 1.0  # losses in coder units: each series' baseline errors have RMS ~1
        self.val_x, self.val_t = (None, None) if cfg.retrain else self._stack("val")
        self.val_blend = None
        if self.val_x is not None:  # in _stack's order: the series that have validation windows
            vals = [(p, p.part("val")) for p in self.parts if len(p.part("val").y)]
            self.val_blend = self._blend([(p.coder, val) for p, val in vals])
            self.val_persistence = rms(np.concatenate(
                [coded(p, val.y) - coded(p, val.last[:, None]) for p, val in vals]))

    def _stack(self, name: str):
        xs, ts = [], []
        for p in self.parts:
            w = p.part(name)
            if len(w.y):
                xs.append(p.coder.inputs(w))
                ts.append(p.coder.encode(w.y, w))
        if not xs:
            return None, None
        return (torch.from_numpy(np.concatenate(xs)).to(self.device),
                torch.from_numpy(np.concatenate(ts)).float().to(self.device))

    def name(self) -> str:
        return self.panel.name

    def start_facts(self) -> list[str]:
        cfg, lead = self.cfg, self.data
        how = "level (the lecture)" if cfg.target_mode == "level" else "corrects each series' baseline"
        windows = [sum(getattr(p.split, k) for p in self.parts) for k in ("train", "val", "test")]
        return [f"{len(self.parts)} series by {self.panel.id_column}",
                f"{sum(len(p.series) for p in self.parts)} rows",
                f"{lead.series.target} from {', '.join(lead.series.features)}",
                f"season {cfg.season}" if cfg.season else "no season", f"window {cfg.window}",
                how] + _covariate_facts(lead.coder) + [
                "windows {} train {} {} val / {} test".format(
                    windows[0], "+" if cfg.retrain else "/", *windows[1:])]

    def batches(self, train, world) -> SeriesWindows:
        if world.distributed:
            raise CharrnnError("train-series trains in one process; run it without torchrun")
        return SeriesWindows(*self._stack("fit" if self.cfg.retrain else "train"),
                             train.batch_size, train.seed)

    def epoch_fields(self, model, val_loss, preview: bool) -> dict:
        fields = super().epoch_fields(model, val_loss, preview)  # the preview: the longest series
        rmse = None if val_loss is None else float(np.sqrt(val_loss))
        return {**fields, "val_rmse": rmse, "val_rmse_persistence": self.val_persistence}

    def meta(self, model) -> dict:
        lead = self.data.series
        per_series = {key: {"scaler": {**p.scaler.to_dict(), "fit": self.cfg.scale_fit,
                                       "rows": p.fit_rows},
                            "coder": p.coder.to_dict(),
                            "split": {"train": p.split.train, "val": p.split.val,
                                      "test": p.split.test}}
                      for key, p in zip(self.ids, self.parts)}
        return {"task": to_dict(self.cfg), "data": self.panel.name,
                "columns": {"features": lead.features, "target": lead.target,
                            "date": lead.date_column, "id": self.panel.id_column},
                "order": {"date_column": lead.date_column, "newest_first": self.cfg.newest_first},
                "panel": {"id": self.panel.id_column, "series": per_series,
                          "conformal_units": self.calibration(model)}}

    def calibration(self, model) -> dict | None:
        return self.units if self.cfg.retrain else unit_calibration(model, self.parts)
