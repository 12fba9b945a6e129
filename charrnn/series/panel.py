"""Many series in one file (long format: an id column, a date column, a target), trained as one
global model.

Each series keeps its own split, scaling, transform, baseline and coder (prepare.py, as for one
series); the delta coder makes every series' windows read alike whatever its level and scale, so
one network learns from all of them. Intervals are calibrated on the validation windows of
every series together, in coder units (each residual divided by its series' scale), and scaled
back per series: a short series alone would have too few windows to calibrate anything.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from charrnn.config import SeriesConfig
from charrnn.errors import CharrnnError
from charrnn.series.prepare import (Prepared, check_split, check_trend_season, model_rows,
                                    prepare, rebuild)
from charrnn.series.numeric import _is_missing
from charrnn.series.table import Series, Table, read_table, select
from charrnn.series.panel_task import PanelTask, series_calibration


@dataclass
class Panel:
    """The series of a long-format file, in order of first appearance of their ids."""

    name: str
    id_column: str
    ids: list[str]
    series: list[Series]
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


def _id_index(table: Table, id_column: str, trained: bool) -> int:
    wanted = id_column.strip()
    exact = [j for j, n in enumerate(table.names) if n == wanted]
    folded = [j for j, n in enumerate(table.names) if n.strip().casefold() == wanted.casefold()]
    found = exact or folded
    option = "the model's id column" if trained else "--id"
    if len(found) != 1:
        what = ("matches " + ", ".join(table.names[j] for j in found) + " (they differ only in "
                "case); rename one") if found else (
            f"no such column in {table.name} (columns: {', '.join(table.names) or 'none'})")
        raise CharrnnError(f"{option} {wanted}: {what}")
    return found[0]


def load_panel(source: str, id_column: str, target: str | None, features: list[str] | None,
               fill: bool = False, trained: bool = False, future: list[str] | None = None) -> Panel:
    """Reads the file once, groups its rows by id, and reads each group as its own series (the
    date column orders each). The target and default features are chosen over the whole file,
    never the id column."""
    table = read_table(source)
    j = _id_index(table, id_column, trained)
    keep = [k for k in range(len(table.names)) if k != j]
    names = [table.names[k] for k in keep]
    groups: dict[str, list[int]] = {}
    for i, row in enumerate(table.rows):
        key = row[j].strip()
        if not key:
            raise CharrnnError(f"data {table.name}: line {table.lines[i]}: no value in the id "
                               f"column {table.names[j]}")
        groups.setdefault(key, []).append(i)
    whole = Table(table.name, names, [[r[k] for k in keep] for r in table.rows], table.lines, [],
                  table.delimiter)
    if target is None:  # the last numeric column of the whole file, as for one series
        target = _default_target(whole, future or [], table.names[j])
    notes = list(table.notes)
    series, ids, empty = [], [], []
    t = next((k for k, n in enumerate(names) if n.strip() == target.strip()), None)
    for key, rows in groups.items():
        if t is not None and all(_is_missing(whole.rows[i][t]) for i in rows):
            empty.append(key)  # no history (rows to forecast only): nothing to read
            continue
        part = Table(f"{table.name} [{table.names[j]}={key}]", names,
                     [whole.rows[i] for i in rows], [table.lines[i] for i in rows], [],
                     table.delimiter)
        s = select(part, target, features, fill=fill, trained=trained, future=future)
        notes += [n for n in s.notes if n not in notes]
        series.append(s)
        ids.append(key)
    if empty:
        notes.append(f"note: {len(empty)} series without a {target} value, skipped: "
                     f"{', '.join(empty[:5])}{' ...' if len(empty) > 5 else ''}")
    if not series:
        raise CharrnnError(f"data {table.name}: no series has a {target} value")
    return Panel(table.name, table.names[j], ids, series, notes)


def _default_target(table: Table, future: list[str], id_column: str) -> str:
    from charrnn.series.table import _kind

    known = {f.strip().casefold() for f in future}
    numeric = [n for k, n in enumerate(table.names)
               if _kind(table, k) == "numeric" and n.strip().casefold() not in known]
    if not numeric:
        taken = ", ".join([f"--id takes {id_column}"] + ([f"--future {', '.join(future)}"]
                                                         if future else []))
        raise CharrnnError(f"data {table.name}: no numeric column to forecast (columns: "
                           f"{', '.join(table.names)}); {taken}, which leaves none")
    return numeric[-1]


# ---------------------------------------------------------------------- preparing every series
def panel_season(panel: Panel, asked: str | None, test_frac: float) -> int | None:
    """auto: the period detected in most series (from each one's rows before its test part)."""
    from charrnn.series.season import detect_season

    asked = asked or "auto"
    if asked == "none":
        return None
    if asked != "auto":
        try:
            return int(asked)
        except ValueError:
            raise CharrnnError(f"--season {asked}: give auto, none or a whole number of rows "
                               f"per cycle") from None
    found = Counter()
    for s in panel.series:
        rows = model_rows(len(s), test_frac)
        found[detect_season(s.target_values[:rows], s.dates[:rows] if s.dates else None)] += 1
    return max(found, key=lambda m: (found[m], m or 0))


def panel_window(panel: Panel, season: int | None, cfg: SeriesConfig, val_frac: float) -> int:
    """The default window: what the shortest series that can hold its own default allows
    (series too short for any are skipped later, and do not shorten everyone's window)."""
    from charrnn.series.season import default_window

    fits = []
    for s in panel.series:
        window = default_window(season, len(s), cfg.horizon, cfg.test_frac, val_frac)
        try:
            check_split(s.name, len(s), window, cfg.horizon, cfg.test_frac, val_frac)
        except CharrnnError:
            continue
        fits.append(window)
    return min(fits, default=default_window(None, 0))


def prepare_panel(panel: Panel, cfg: SeriesConfig, val_frac: float, transform: str,
                  baseline: str, notes: list,
                  linear_on: str = "train") -> tuple[list[str], list[Prepared]]:
    """Each series prepared on its own; one too short for a training, a validation and a test
    window is named in `notes` and skipped. `linear_on`: as prepare's."""
    from charrnn.series.season import mean_reverting

    ids, parts = [], []
    residuals = bool(cfg.season) and cfg.target_mode == "delta"  # one input width for all
    votes = [mean_reverting(s.target_values[:model_rows(len(s), cfg.test_frac)])
             for s in panel.series]
    level_input = 2 * sum(votes) > len(votes)  # ...and one rule for all: most series' own
    for key, s in zip(panel.ids, panel.series):
        if cfg.season and cfg.season >= model_rows(len(s), cfg.test_frac):
            notes.append(f"note: series {key}: {len(s)} rows, no row before its test part with "
                         f"one a season of {cfg.season} back; skipped")
            continue
        try:
            split = check_split(s.name, len(s), cfg.window, cfg.horizon, cfg.test_frac,
                                val_frac)
        except CharrnnError:
            notes.append(f"note: series {key}: {len(s)} rows, too few for a training, a "
                         f"validation and a test window of --window {cfg.window}; skipped")
            continue
        try:
            check_trend_season(split, cfg.window, cfg.season, baseline)
        except CharrnnError:
            notes.append(f"note: series {key}: {len(s)} rows, too few for {baseline}'s two "
                         f"seasons before its validation windows; skipped")
            continue
        parts.append(prepare(s, cfg.window, cfg.horizon, cfg.test_frac, val_frac, cfg.scale_fit,
                             cfg.target_mode, season=cfg.season, transform=transform,
                             baseline=baseline, residuals=residuals, calendar=cfg.calendar,
                             linear=cfg.linear, linear_on=linear_on,
                             level_input=level_input))
        ids.append(key)
    if not parts:
        season = f" and --season {cfg.season}" if cfg.season else ""
        raise CharrnnError(f"data {panel.name}: no series is long enough for --window "
                           f"{cfg.window}{season} (the longest has "
                           f"{max(map(len, panel.series))} rows)")
    return ids, parts


# ---------------------------------------------------------------------- training
def fit_panel(panel: Panel, model: dict, train_cfg, cfg: SeriesConfig, transform: str,
              baseline: str, device, out, run, say=lambda line: None, resumed=None):
    """Prepare every series (`say`ing which are skipped), then train one model on all of them
    under the lock of `out`, and with cfg.retrain again on their training and validation
    windows (as commands.fit_series does for one). Returns (TrainEnd, the PanelTask trained
    last)."""
    from charrnn import checkpoint
    from charrnn.engine.lock import run_lock
    from charrnn.engine.trainer import Trainer
    from charrnn.runtime import setup_device
    from charrnn.series.retrain import retrained_note, train_beside, validated_config
    from charrnn.series.task import cpu_threads, model_config, model_work

    setup_device(device)
    precision = "fp32" if train_cfg.precision == "auto" else train_cfg.precision
    retrain = cfg.retrain and cfg.target_mode == "delta"
    notes: list[str] = []
    ids, parts = prepare_panel(panel, cfg, train_cfg.val_frac, transform, baseline, notes,
                               "fit" if retrain and resumed is not None else "train")
    for line in notes:
        say(line)
    retrain = retrain and any(len(p.part("val").y) for p in parts)
    cfg = replace(cfg, retrain=retrain)
    units = resumed.meta["panel"].get("conformal_units") if resumed is not None else None
    task = PanelTask(ids, parts, cfg if resumed is not None else replace(cfg, retrain=False),
                     panel, device, units)
    inputs = len(parts[0].series.features) + parts[0].coder.extra_inputs
    model_cfg = model_config(model, inputs, cfg.horizon)
    rows = sum(len(p.series) for p in parts)
    shown = validated_config(train_cfg, retrain and resumed is None)
    with run_lock(out), cpu_threads(device, model_work(model_cfg, rows)):
        end = run(lambda views: Trainer(task, model_cfg, shown, out, device, precision,
                                        views, resumed))
        if not retrain or resumed is not None:
            return end, task
        units = checkpoint.load(end.best_path, kind="series").meta["panel"].get(
            "conformal_units")
        ids, parts = prepare_panel(panel, cfg, train_cfg.val_frac, transform, baseline, [],
                                   "fit")
        again = PanelTask(ids, parts, cfg, panel, device, units)
        done = train_beside(out, end, train_cfg, lambda shorter, folder: Trainer(
            again, model_cfg, shorter, folder, device, precision, (), None))
    say(retrained_note(end, out))
    return done, again


def resolve_panel_config(cfg: SeriesConfig, panel: Panel, options: dict,
                         val_frac: float) -> SeriesConfig:
    from charrnn.series.commands import auto_calendar

    season = panel_season(panel, options.get("season"), cfg.test_frac)
    window = options.get("window") or panel_window(panel, season, cfg, val_frac)
    calendar = options.get("calendar")
    if calendar is None:
        longest = max(panel.series, key=len)
        calendar = auto_calendar(longest, season, window, cfg.test_frac)
    return replace(cfg, season=season, window=window, calendar=calendar)


# ---------------------------------------------------------------------- using a trained panel
@dataclass
class Member:
    """One series of a trained panel, rebuilt from the checkpoint."""

    key: str
    series: Series
    scaler: object
    coder: object
    train_rows: int
    calibration: dict | None


def members(meta: dict, panel: Panel, notes: list) -> list[Member]:
    """The file's series the model was trained on, each with its own scaler and coder; others
    are named in `notes` and skipped."""
    from charrnn.series.prepare import Coder, Scaler

    stored = meta["panel"]["series"]
    units = meta["panel"].get("conformal_units")
    out, unknown = [], []
    for key, s in zip(panel.ids, panel.series):
        if key not in stored:
            unknown.append(key)
            continue
        coder = Coder.from_dict(stored[key]["coder"])
        out.append(Member(key, s, Scaler.from_dict(stored[key]["scaler"]), coder,
                          int(stored[key]["scaler"].get("rows") or 0),
                          series_calibration(units, coder)))
    if unknown:
        notes.append(f"note: {len(unknown)} series not in the model, skipped: "
                     f"{', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}")
    absent = [key for key in stored if key not in panel.ids]
    if absent:  # scored or forecast without them: said, as the unknown ones are
        notes.append(f"note: {len(absent)} of the model's series not in the data: "
                     f"{', '.join(absent[:5])}{' ...' if len(absent) > 5 else ''}")
    if not out:
        raise CharrnnError(f"data {panel.name}: none of its series ({', '.join(panel.ids[:5])}) "
                           f"is one the model was trained on")
    return out


def rebuild_member(m: Member, cfg: SeriesConfig) -> Prepared:
    return rebuild(m.series, cfg.window, cfg.horizon, cfg.test_frac, m.scaler, m.coder)
