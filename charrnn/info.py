"""`charrnn info`: a checkpoint's model card, for text and series models alike.

What it is (kind, configs, vocabulary or columns, parameters), how far it trained (epochs,
steps, characters or windows seen, wall time), how (precision, device), where it started
(lineage) and how it learned (best epoch, the history with sparklines, learning curves as a
PNG). Everything is read from the metadata; no tensor but the weights' sizes is touched.
Knows nothing of typer: `card` computes; info_text.py shows it as text, `write_plot` as a PNG.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from charrnn.errors import CharrnnError
from charrnn.info_text import epoch_text, no_history_reason, plain_lines, print_rich
from charrnn.plotting import check_plot_path, pyplot, save_png



# ---------------------------------------------------------------------- the card (data only)
def card(ckpt) -> dict:
    """The model card of a loaded checkpoint as one JSON-ready dict (no NaN: None)."""
    meta = ckpt.meta
    model, train, task = meta["model"], meta["train"], meta.get("task", {})
    windows_per_epoch = _count(meta.get("windows_per_epoch"))
    epoch, window = _count(meta.get("epoch")) or 0, _count(meta.get("window")) or 0
    history = _history(meta.get("history") or [], windows_per_epoch)
    best = _best(meta, history)
    for entry in history:
        entry["best"] = best is not None and entry is best.get("entry")
    best = {k: v for k, v in best.items() if k != "entry"} if best else None
    result = {
        "path": str(ckpt.path),
        "kind": ckpt.kind,
        "name": meta.get("corpus") if ckpt.kind == "text" else meta.get("data"),
        "charrnn_version": meta.get("charrnn_version"),
        "format_version": meta.get("version"),
        "config": {"model": model, "train": train, "task": task},
        "parameters": sum(t.numel() for t in ckpt.group("model").values()),
        "epochs": epoch + (window / windows_per_epoch if windows_per_epoch else 0.0),
        "complete_epochs": epoch,
        "mid_epoch": window > 0,
        "steps": _count(meta.get("step")) or 0,
        "windows_per_epoch": windows_per_epoch,
        "seen": _seen(ckpt.kind, meta, train, task, epoch, window, windows_per_epoch),
        "wall_time_s": _wall_time(meta),
        "precision": meta.get("precision"),
        "device": meta.get("device"),
        "world_size": meta.get("world_size"),
        "best": best,
        "init_from": meta.get("init_from") if isinstance(meta.get("init_from"), dict) else None,
        "history": history,
    }
    if ckpt.kind == "text":
        result["vocab"] = meta.get("vocab", "")
        result["vocab_size"] = len(result["vocab"])
    else:
        result["columns"] = meta.get("columns")
        result["split"] = meta.get("split")
    return finite(result)


def finite(value):
    """NaN and infinities become None, everywhere in a nested structure."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def to_json(card_: dict) -> str:
    return json.dumps(finite(card_), ensure_ascii=False, allow_nan=False)


def _count(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _number(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _history(raw: list, windows_per_epoch: int | None) -> list[dict]:
    """History entries with `epochs_done`: an unfinished epoch's entry (a step limit, a time
    budget) counts the part of the epoch it trained, from the steps since the epoch began."""
    out, epoch_start = [], {0: 0}
    for item in raw:
        if not isinstance(item, dict):
            continue
        epoch, step = _count(item.get("epoch")) or 0, _count(item.get("step")) or 0
        complete = bool(item.get("complete", True))
        done = float(epoch)
        if not complete and windows_per_epoch:
            start = epoch_start.get(epoch, step)
            done = epoch + min(0.999, max(0.0, (step - start) / windows_per_epoch))
        if complete:
            epoch_start[epoch] = step
        out.append({"epoch": epoch, "epochs_done": done, "step": step,
                    "train_loss": _number(item.get("train_loss")),
                    "val_loss": _number(item.get("val_loss")), "complete": complete})
    return out


def _score(entry: dict) -> float | None:
    """What the trainer picks `best` on: validation, or training where nothing is held out."""
    return entry["val_loss"] if entry["val_loss"] is not None else entry["train_loss"]


def _best(meta: dict, history: list[dict]) -> dict | None:
    loss = _number(meta.get("best_loss"))
    if loss is None:
        return None
    entry = next((h for h in history if _score(h) is not None
                  and math.isclose(_score(h), loss, rel_tol=1e-12, abs_tol=1e-15)), None)
    if entry is not None:
        on = "validation" if entry["val_loss"] is not None else "training"
    else:  # a series run scores its untrained model as epoch 0
        on = "validation" if any(h["val_loss"] is not None for h in history) or not history \
            else "training"
    return {"epoch": _count(meta.get("best_epoch")) or 0,
            "epochs_done": entry["epochs_done"] if entry else float(meta.get("best_epoch") or 0),
            "step": entry["step"] if entry else None, "loss": loss, "on": on, "entry": entry}


def _seen(kind: str, meta: dict, train: dict, task: dict, epoch: int, window: int,
          windows_per_epoch: int | None) -> dict:
    """Characters (text) or windows (series) trained on, counting repeats."""
    if kind == "text":
        steps, batch, seq_len = _count(meta.get("step")) or 0, train.get("batch_size"), \
            task.get("seq_len")
        if not isinstance(batch, int) or not isinstance(seq_len, int):
            return {"unit": "chars", "count": None, "approximate": True,
                    "how": "full-batch sliding windows: the corpus size is not recorded"}
        return {"unit": "chars", "count": steps * batch * seq_len, "approximate": True,
                "how": f"steps x batch {batch} x seq_len {seq_len}; an epoch's last window "
                       f"may be shorter"}
    split = meta.get("split") if isinstance(meta.get("split"), dict) else {}
    per_epoch = _count(split.get("train"))
    if per_epoch is None:
        return {"unit": "windows", "count": None, "approximate": True,
                "how": "the split is not recorded"}
    which = "training"
    task = meta.get("task") if isinstance(meta.get("task"), dict) else {}
    if task.get("retrain") and _count(split.get("val")) is not None:
        per_epoch += _count(split.get("val"))  # retrained on both (horizon gaps aside)
        which = "training and validation"
    part = window / windows_per_epoch if windows_per_epoch else 0.0
    return {"unit": "windows", "count": int(round(per_epoch * (epoch + part))),
            "approximate": bool(window), "how": f"epochs x {per_epoch} {which} windows"}


def _wall_time(meta: dict) -> float | None:
    """Seconds of training, where the trainer recorded them (`elapsed`)."""
    value = _number(meta.get("elapsed"))
    if value is None:
        history = [h for h in meta.get("history") or [] if isinstance(h, dict)]
        value = _number(history[-1].get("elapsed")) if history else None
    return value


# ---------------------------------------------------------------------- learning curves
def write_plot(c: dict, path: Path) -> None:
    """Train and validation loss per epoch, the best epoch marked."""
    history = c["history"]
    if not history:
        raise CharrnnError(f"--plot {path}: {c['path']} holds no history: "
                           f"{no_history_reason(c).removeprefix('none: ').removeprefix('none ')}; "
                           f"nothing to plot (a folder's last: --last)")
    plt = pyplot()
    x = [h["epochs_done"] for h in history]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(x, [h["train_loss"] for h in history], color="tab:blue", lw=1.4, label="train",
            marker="o" if len(x) < 30 else None, ms=3)
    val = [(xi, h["val_loss"]) for xi, h in zip(x, history) if h["val_loss"] is not None]
    if val:
        ax.plot(*zip(*val), color="tab:orange", lw=1.4, label="validation",
                marker="o" if len(val) < 30 else None, ms=3)
    best = c["best"]
    if best is not None and best["step"] is not None:
        ax.axvline(best["epochs_done"], color="gray", ls="--", lw=0.9)
        ax.plot([best["epochs_done"]], [best["loss"]], marker="*", ms=14, color="tab:red",
                ls="none", label=f"best: epoch {epoch_text(best['epochs_done'])}, "
                                 f"{best['on']} {best['loss']:.4g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per char)" if c["kind"] == "text"
                  else f"loss ({c['config']['task'].get('loss', 'mse')}, scaled)")
    ax.set_title(f"{c.get('name') or Path(c['path']).parent.name}: learning curves")
    ax.grid(alpha=0.3)
    ax.legend()
    save_png(fig, path)


# ---------------------------------------------------------------------- the command's work
def show(ckpt_path: Path, last: bool, json_out: bool, plot: Path | None) -> None:
    """What `charrnn info` does: the card on stdout (JSON, a rich table, or plain text)."""
    import os
    import sys

    from charrnn import checkpoint

    if plot is not None:
        check_plot_path(plot)
    if last and not os.path.isfile(os.path.join(ckpt_path, "last.safetensors")):
        from charrnn.errors import CharrnnError  # resolve() would fall back to best silently

        raise CharrnnError(f"--last: {ckpt_path} is not a run's folder holding last.safetensors"
                           f" (drop --last for its best)")
    c = card(checkpoint.load(ckpt_path, prefer="last" if last else "best"))
    if plot is not None:  # before any output, so a failure leaves stdout empty
        write_plot(c, plot)
        print(f"wrote {plot}", file=sys.stderr)
    if json_out:
        sys.stdout.write(to_json(c) + "\n")
    elif sys.stdout.isatty():
        from rich.console import Console

        print_rich(c, Console(highlight=False, no_color=bool(os.environ.get("NO_COLOR"))))
    else:
        sys.stdout.write("\n".join(plain_lines(c)) + "\n")
    sys.stdout.flush()
