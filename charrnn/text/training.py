"""How `train-text` sets up a run: defaults that adapt to the corpus and, with a time budget,
to this machine (explicit options always win), the data split, and the trainer with the text
task plugged in. The CLI and the benchmarks share it."""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from charrnn import checkpoint
from charrnn.config import UNLIMITED_EPOCHS, ModelConfig, TrainConfig, from_dict
from charrnn.configure import (check_options, check_writable, given_options, parse_duration,
                               refuse_new_shape)
from charrnn.errors import CharrnnError
from charrnn.text.task import TextConfig

DEFAULT_BATCH = TrainConfig.batch_size
# 50, as char-rnn and torch-rnn: half the characters a step for 1.56 times the steps in the
# same time (BENCHMARKS.md, "Shorter windows"; the state carries across windows, so the
# context is not cut). Ten minutes on tinyshakespeare, 2 x 512, dropout 0.2, scored on its
# tail: 1.4337 (seq 100: 1.4402); at equal time, seeds 2 and 3, 1.4388 and 1.4416 against
# 1.4414 and 1.4521
DEFAULT_SEQ = 50
DEFAULT_EMBED = 64
DEFAULT_LAYERS = 2
DEFAULT_DROPOUT = 0.1
# ...and more where the run could learn its training text by heart: where the passes over it
# that the run allows (epochs, steps, or the budget at this machine's measured speed), times
# the model's parameters per training character, reach EXPOSURE. On tinyshakespeare's tail
# (BENCHMARKS.md, "Dropout that grows with the run"): 2 x 512 for 3,100 steps (9.9 passes x 3.3
# = 33) scored 1.4473 with 0.1 and 1.4436 with 0.2 (means of three seeds; 0.2 won two);
# 2 x 256 for 2,300 steps (7.3 passes x 1.1 = 8) 1.5629 with 0.1 and 1.5715 with 0.2.
LONG_RUN_DROPOUT = 0.2
EXPOSURE = 16.0
# ...and decoupled weight decay (AdamW's, on the weight matrices: engine/adam.py), as nanoGPT's
# 0.1: paired runs at equal time on tinyshakespeare's tail (2 x 512, dropout 0.2, averaged
# weights), BENCHMARKS.md "Weight decay"
LONG_RUN_WEIGHT_DECAY = 0.1
# A stream's carried state restarts from zero on average every RESET_EVERY characters
# (StreamWindows.fresh_rows). Trained on only the zero starts each pass makes, at the same places
# each pass, six of ten 2 x 512 models with weight decay fell, from some of 100 other zero
# starts on tinyshakespeare's tail, into a state they kept for thousands of characters (up to
# 5 nats/char worse); with these restarts none of five did, and paired at 4,000 steps the tail
# scored 1.4270 against 1.4563 and 1.4196 against 1.4205 (BENCHMARKS.md, "Zero starts")
RESET_EVERY = 5000
TINY_CORPUS = 1000  # below this many characters: no validation tail and no dropout unless asked
BUDGET_WARMUP_STEPS = 100
# A budget's run is long enough to average its weights over its last steps (engine/averaging.py):
# six runs on tinyshakespeare, 0.002-0.008 nats/char better than their trained weights
BUDGET_EMA = 0.999


def text_config(options: dict, n_chars: int, resumed: dict | None) -> TextConfig:
    """Window length and kind: explicit options win, a resumed run keeps its own."""
    given = given_options(options)
    sliding = bool(given.get("sliding") or resumed and resumed.get("task", {}).get("sliding"))
    if sliding and given.get("reset_every"):
        raise CharrnnError("--reset-every restarts a carried state, and --sliding carries none: "
                           "give one of them")
    if resumed is not None:
        stored = from_dict(TextConfig, resumed.get("task", {}))
        return replace(stored, **{k: v for k, v in given.items()
                                  if k in TextConfig.__dataclass_fields__})
    n_train = n_chars - int(round(n_chars * _val_frac(given, n_chars)))
    return TextConfig(seq_len=given.get("seq_len", max(1, min(DEFAULT_SEQ, n_train - 1))),
                      sliding=sliding,
                      reset_every=given.get("reset_every", 0 if sliding else RESET_EVERY))


def _val_frac(given: dict, n_chars: int) -> float:
    return given.get("val_frac", 0.0 if n_chars < TINY_CORPUS else 0.1)


def resolve_configs(options: dict, n_chars: int, vocab_size: int, resumed: dict | None,
                    speed: Callable[[ModelConfig, int, int], float] | None = None,
                    ) -> tuple[ModelConfig, TrainConfig]:
    """Defaults that adapt to the corpus (and, with a budget, to the machine: `speed(width)` is
    how many characters a second it trains a model shaped so); explicit options always win;
    resume keeps the shape."""
    given = given_options(options)
    if "time_budget" in given:
        given["time_budget"] = parse_duration(given["time_budget"])
    if resumed is not None:
        model_cfg = from_dict(ModelConfig, resumed["model"])
        refuse_new_shape(given, model_cfg)
        # limits belong to one invocation: a resumed run is not stopped by the old ones
        train_cfg = replace(from_dict(TrainConfig, resumed["train"]), max_steps=None,
                            time_budget=None)
        train_fields = {k: v for k, v in given.items() if hasattr(train_cfg, k)}
        return model_cfg, replace(train_cfg, **train_fields)

    text = text_config(options, n_chars, None)
    val_frac = _val_frac(given, n_chars)
    n_train = n_chars - int(round(n_chars * val_frac))
    if text.sliding:
        batch_size = given.get("batch_size")  # None: all windows in one batch
    else:
        batch_size = given.get("batch_size",
                               max(1, min(DEFAULT_BATCH, (n_train - 1) // max(text.seq_len, 1))))
    model_cfg = ModelConfig(
        cell=given.get("cell", "lstm"), input_size=vocab_size, output_size=vocab_size,
        embed=given.get("embed", DEFAULT_EMBED), num_layers=given.get("layers", DEFAULT_LAYERS),
        dropout=given.get("dropout", 0.0 if n_chars < TINY_CORPUS else DEFAULT_DROPOUT),
        tokens=True)
    speeds: dict[int, float] = {}

    def chars_per_sec(width: int) -> float:  # each width measured once
        if width not in speeds:
            speeds[width] = (speed(replace(model_cfg, hidden_size=width), batch_size or 1,
                                   text.seq_len) if speed else math.inf)
        return speeds[width]

    hidden = given.get("hidden")
    if hidden is None:
        from charrnn.text.sizing import choose_hidden

        hidden = choose_hidden(model_cfg, n_train, given.get("time_budget"), chars_per_sec)
    model_cfg = replace(model_cfg, hidden_size=hidden)
    train_fields = {k: v for k, v in given.items() if k in TrainConfig.__dataclass_fields__}
    train_fields.update(batch_size=batch_size, val_frac=val_frac)
    if "time_budget" in given:  # the budget is the horizon: warm up, decay to its end
        train_fields.setdefault("lr_schedule", "cosine")
        train_fields.setdefault("warmup_steps", BUDGET_WARMUP_STEPS)
        train_fields.setdefault("ema", BUDGET_EMA)
        train_fields.setdefault("epochs", UNLIMITED_EPOCHS)
    train_cfg = TrainConfig(**train_fields)
    if not {"dropout", "weight_decay"} <= given.keys() and n_chars >= TINY_CORPUS:
        passes = expected_passes(train_cfg, text.seq_len, n_train, lambda: chars_per_sec(hidden))
        long_run = learns_by_heart(model_cfg, n_train, passes)
        model_cfg = replace(model_cfg, dropout=given.get(
            "dropout", LONG_RUN_DROPOUT if long_run else DEFAULT_DROPOUT))
        train_cfg = replace(train_cfg, weight_decay=given.get(
            "weight_decay", LONG_RUN_WEIGHT_DECAY if long_run else 0.0))
    return model_cfg, train_cfg


def expected_passes(train: TrainConfig, seq_len: int, n_train: int,
                    chars_per_sec: Callable[[], float]) -> float:
    """How many times the run will read its training text: the first of its limits to end it
    (epochs, steps, or the budget at the measured speed)."""
    limits = [float(train.epochs)]
    if train.max_steps:
        limits.append(train.max_steps * (train.batch_size or 1) * seq_len / n_train)
    if train.time_budget:
        from charrnn.text.sizing import BUDGET_OVERHEAD

        limits.append(chars_per_sec() * train.time_budget * BUDGET_OVERHEAD / n_train)
    return min(limits)


def learns_by_heart(model_cfg: ModelConfig, n_train: int, passes: float) -> bool:
    """Whether passes x parameters per training character reach EXPOSURE (a model with many
    parameters a character learns the text by heart in fewer passes): then LONG_RUN_DROPOUT
    and LONG_RUN_WEIGHT_DECAY."""
    from charrnn.text.sizing import parameters

    return passes * parameters(model_cfg) / max(n_train, 1) >= EXPOSURE


@dataclass
class TrainingSetup:
    """Everything a text run needs before its first step (the CLI and the benchmarks share it)."""

    data: object  # text.task.TextData
    model_cfg: ModelConfig
    train_cfg: TrainConfig
    text_cfg: TextConfig
    out: Path
    device: object  # torch.device
    precision: str
    resumed: object  # checkpoint.Checkpoint | None
    world: object  # distributed.World
    init_from: object = None  # checkpoint.Checkpoint | None: fine-tune from its weights
    lineage: dict | None = None  # recorded as `init_from` in every checkpoint of the run
    precision_fact: str | None = None  # what --precision auto measured, for the run's header

    def trainer(self, listeners=()):
        from charrnn.engine.trainer import Trainer
        from charrnn.text.task import TextTask

        task = TextTask(self.data, self.text_cfg, self.train_cfg.seed, self.lineage,
                        [self.precision_fact] if self.precision_fact else [])
        trainer = Trainer(task, self.model_cfg, self.train_cfg, self.out, self.device,
                          self.precision, listeners, self.resumed, self.world)
        if self.init_from is not None:  # before any step; the optimizer starts fresh
            from charrnn.text.data import Vocab
            from charrnn.text.finetune import carried_over

            fresh = {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()}
            trainer.model.load_state_dict(carried_over(
                fresh, self.init_from.group("model"), Vocab(self.init_from.meta["vocab"]),
                self.data.vocab))
        return trainer


def prepare_training(corpus: str, out: Path | None, options: dict, device_name: str,
                     resume: Path | None, quiet: bool, init_from: Path | None = None
                     ) -> TrainingSetup:
    from charrnn.distributed import from_main, init_world
    from charrnn.runtime import (PROBES, autocast_factory, check_fits_in_memory, resolve_device,
                                 resolve_precision, setup_device)
    from charrnn.text.corpus import load_corpus
    from charrnn.text.data import Vocab, corpus_name
    from charrnn.text.sizing import measure_chars_per_sec, precision_speeds
    from charrnn.text.task import split_text

    if init_from is not None and resume is not None:
        raise CharrnnError(f"--init-from {init_from} and --resume {resume}: give one; --resume "
                           f"continues a run, --init-from starts a new run from a model's weights")
    resumed = checkpoint.load(resume, kind="text", prefer="last") if resume is not None else None
    parent = _parent(init_from, options) if init_from is not None else None
    # every option and the folder checked before the corpus is read or any file written
    resolve_device(device_name)
    check_options(options, resumed.meta if resumed else None)
    if out is None:
        out = (resumed.path.parent if resumed is not None
               else Path("checkpoints") / corpus_name(corpus))
    if parent is not None and out.resolve() == parent.path.parent.resolve():
        raise CharrnnError(f"--init-from {init_from} and --out {out}: the same folder; the new "
                           f"run's checkpoints would replace the model it starts from, so give "
                           f"another --out")
    if int(os.environ.get("RANK", "0")) == 0:
        check_writable(out, kind="text")
    if parent is not None:
        loaded = _load_with_parent_vocab(corpus, Vocab(parent.meta["vocab"]))
        options = _finetune_options(options, parent, len(loaded.ids))
    else:
        loaded = load_corpus(corpus, Vocab(resumed.meta["vocab"]) if resumed else None)
    for note in loaded.notes:
        if not quiet:
            print(f"note: {note}", file=sys.stderr)
    world, device = init_world(resolve_device(device_name))
    setup_device(device)
    measured: dict[int, float] = {}

    def speed(cfg: ModelConfig, batch: int, seq_len: int) -> float:
        check_fits_in_memory(cfg, device)  # before the probes train a few steps of it
        precision = resolve_precision(  # auto on CPU: bf16 where this shape trains faster in it
            options.get("precision") or "auto", device, cfg.hidden_size,
            measure=lambda: precision_speeds(cfg, batch, seq_len, device))
        measured[cfg.hidden_size] = measure_chars_per_sec(cfg, batch, seq_len, device,
                                                          autocast_factory(precision, device))
        return measured[cfg.hidden_size]

    resumed_meta = resumed.meta if resumed else None
    text_cfg = text_config(options, len(loaded.ids), resumed_meta)
    model_cfg, train_cfg = resolve_configs(options, len(loaded.ids), len(loaded.vocab),
                                           resumed_meta, speed)
    model_cfg = replace(model_cfg, hidden_size=from_main(model_cfg.hidden_size, world))
    name = corpus_name(corpus)
    data = split_text(loaded.ids, loaded.vocab, name, text_cfg.seq_len, train_cfg.val_frac,
                      text_cfg.sliding)
    if world.distributed and text_cfg.sliding:
        raise CharrnnError("--sliding trains in one process; run it without torchrun")
    if train_cfg.patience and data.val_ids is None and not quiet and world.is_main:
        print(f"note: --patience {train_cfg.patience} counts epochs without a better validation "
              f"loss, and this run holds out no validation text (--val-frac "
              f"{train_cfg.val_frac:g}): it will not stop early", file=sys.stderr)
    # measured once the data is known to be good, so a refused run measures nothing
    precision = resolve_precision(
        train_cfg.precision, device, model_cfg.hidden_size,
        measure=lambda: precision_speeds(model_cfg, train_cfg.batch_size or 1, text_cfg.seq_len,
                                         device))
    precision = from_main(precision, world)  # measured per process: rank 0's choice for all
    probe = PROBES.get(model_cfg.hidden_size) if train_cfg.precision == "auto" else None
    if measured and options.get("hidden") is None and not quiet and world.is_main:
        speeds = ", ".join(f"{w}: {v:,.0f}" for w, v in sorted(measured.items(), reverse=True))
        chosen = [f"{name} {value:g}" for name, value, long_run in (
            ("dropout", model_cfg.dropout, LONG_RUN_DROPOUT),
            ("weight decay", train_cfg.weight_decay, LONG_RUN_WEIGHT_DECAY))
            if options.get(name.replace(" ", "_")) is None and value == long_run]
        dropout = (f"; {' and '.join(chosen)}: the run is long enough to learn the text by heart"
                   if chosen else "")
        print(f"note: --hidden {model_cfg.hidden_size} fits the data and the "
              f"{train_cfg.time_budget:g} s budget on this machine (training chars/s by width: "
              f"{speeds}){'; ' + probe.note() if probe else ''}{dropout}; give --hidden to choose",
              file=sys.stderr)
    fact = probe.fact() if probe is not None and device.type == "cpu" else None
    if parent is not None:
        from charrnn.text.finetune import lineage as parent_lineage

        lineage = parent_lineage(parent.path, parent.meta)
    else:
        lineage = resumed.meta.get("init_from") if resumed is not None else None
    return TrainingSetup(data, model_cfg, train_cfg, text_cfg, out, device, precision, resumed,
                         world, parent, lineage, fact)


def _parent(path: Path, options: dict) -> checkpoint.Checkpoint:
    """The checkpoint a fine-tuning run starts from: a text model of the shape asked for."""
    from charrnn.text.finetune import refuse_other_shape

    parent = checkpoint.load(path)
    if parent.kind != "text":
        raise CharrnnError(f"--init-from {parent.path}: is a {parent.kind} model; fine-tuning on "
                           f"a text corpus starts from a text model")
    refuse_other_shape(given_options(options), from_dict(ModelConfig, parent.meta["model"]),
                       parent.path)
    return parent


def _finetune_options(options: dict, parent: checkpoint.Checkpoint, n_chars: int) -> dict:
    """The model's shape, and unless given its dropout and its way of reading windows (cut to
    the corpus), come from the checkpoint; the training settings start fresh, as a new run's."""
    model_cfg = from_dict(ModelConfig, parent.meta["model"])
    task = from_dict(TextConfig, parent.meta.get("task", {}))
    given = given_options(options)
    n_train = n_chars - int(round(n_chars * _val_frac(given, n_chars)))
    filled = dict(cell=model_cfg.cell, hidden=model_cfg.hidden_size, layers=model_cfg.num_layers,
                  embed=model_cfg.embed, dropout=model_cfg.dropout, sliding=task.sliding,
                  seq_len=max(1, min(task.seq_len, n_train - 1)))
    return {**options, **{k: v for k, v in filled.items() if k not in given}}


def _load_with_parent_vocab(corpus: str, parent_vocab):
    """The corpus encoded over the union of its characters and the model's (sorted)."""
    import numpy as np

    from charrnn.text.corpus import Corpus, load_corpus
    from charrnn.text.finetune import merged_vocab

    loaded = load_corpus(corpus)
    vocab = merged_vocab(parent_vocab, loaded.vocab)
    if vocab == loaded.vocab:
        return loaded
    if corpus != "-":  # encoded again over the new vocabulary (cached, memory-mapped)
        again = load_corpus(corpus, vocab)
        return Corpus(again.ids, again.vocab, loaded.notes)
    index = {ch: i for i, ch in enumerate(vocab.chars)}  # stdin cannot be read twice
    table = np.array([index[ch] for ch in loaded.vocab.chars], dtype=vocab.dtype)
    return Corpus(table[np.asarray(loaded.ids)], vocab, loaded.notes)


def train(corpus: str, out: Path | None, options: dict, device_name: str, resume: Path | None,
          json_out: bool, quiet: bool, init_from: Path | None = None) -> None:
    from charrnn.distributed import close_world
    from charrnn.engine.session import train_with_views

    setup = prepare_training(corpus, out, options, device_name, resume, quiet, init_from)
    try:
        end = train_with_views(setup.trainer, setup.out, json_out, quiet, setup.world.is_main)
    finally:
        close_world(setup.world)
    if not json_out and setup.world.is_main:
        print(end.best_path)
