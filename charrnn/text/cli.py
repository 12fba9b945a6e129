"""The text commands as typer declares them: `train-text` and `sample`. Each maps its options
onto config fields and makes one call into text/training.py or text/commands.py."""
from typing import Annotated, Optional

import typer

from charrnn import options as o


# the options whose default is this kind's own
LayersOpt = o.layers("2")
HiddenOpt = o.hidden("sized to the corpus and, with --time-budget, to this machine: 128 to 1024")
BatchSizeOpt = o.batch_size("32, cut to the corpus; --sliding: all windows")
LrOpt = o.lr("0.003")
GradClipOpt = o.grad_clip("5")
EpochsOpt = o.epochs("20; with --time-budget, as many as fit")
ValFracOpt = o.val_frac("0.1; 0 on tiny corpora")
ExactSample = Annotated[bool, typer.Option("--exact", help="The fp32 model step by step, as trained; without it CPU sampling uses int8 weights and a lean step (faster, slightly other numbers).")]
ExactEval = Annotated[bool, typer.Option("--exact", help="Text: score the text as one stream; without it a long text is scored as several streams side by side, each after a burn-in (faster, the same characters counted).")]

def train_text(
    corpus: Annotated[str, typer.Argument(help="UTF-8 text file, a folder or glob of them, '-' for stdin, or @stdlib.")],
    out: o.Out = None,
    cell: o.CellOpt = None,
    layers: LayersOpt = None,
    hidden: HiddenOpt = None,
    embed: Annotated[Optional[int], typer.Option("--embed", min=0, help="Embedding width; 0 feeds one-hot vectors [default: 64].")] = None,
    dropout: o.Dropout = None,
    seq_len: Annotated[Optional[int], typer.Option("--seq-len", min=1, help="Window length (BPTT steps) [default: 50, cut to the corpus].")] = None,
    batch_size: BatchSizeOpt = None,
    sliding: Annotated[bool, typer.Option("--sliding", help="Every offset a window from a zero state (the lecture's dataset).")] = False,
    reset_every: Annotated[Optional[int], typer.Option("--reset-every", min=0, help="Restart a stream's carried state from zero on average every this many characters, so the model learns the zero start that sampling and eval make; 0: only at each epoch's start [default: 5000].")] = None,
    lr: LrOpt = None,
    lr_decay: o.LrDecay = None,
    lr_schedule: o.LrSchedule = None,
    warmup: o.Warmup = None,
    grad_clip: GradClipOpt = None,
    weight_decay: o.WeightDecay = None,
    ema: o.Ema = None,
    epochs: EpochsOpt = None,
    max_steps: o.MaxSteps = None,
    time_budget: o.TimeBudget = None,
    patience: o.Patience = None,
    val_frac: ValFracOpt = None,
    seed: o.Seed = None,
    device: o.DeviceOpt = o.Device.auto,
    precision: o.PrecisionOpt = None,
    save_every: o.SaveEvery = None,
    resume: o.Resume = None,
    init_from: o.InitFrom = None,
    json_out: o.JsonOut = False,
    quiet: o.Quiet = False,
):
    """Train a character language model on a text corpus.

    Prints the best checkpoint's path (or JSON lines with --json) on stdout.
    """
    from charrnn.text import training

    options = dict(cell=cell and cell.value, layers=layers, hidden=hidden, embed=embed,
                   dropout=dropout, seq_len=seq_len, batch_size=batch_size, sliding=sliding,
                   reset_every=reset_every,
                   lr=lr, lr_decay=lr_decay, lr_schedule=lr_schedule and lr_schedule.value,
                   warmup_steps=warmup, grad_clip=grad_clip, weight_decay=weight_decay, ema=ema,
                   epochs=epochs, max_steps=max_steps, time_budget=time_budget,
                   patience=patience, val_frac=val_frac,
                   seed=seed, precision=precision and precision.value, save_every=save_every)
    training.train(corpus, out, options, device.value, resume, json_out, quiet, init_from)


def sample(
    ckpt: o.Ckpt,
    prime: Annotated[Optional[str], typer.Option("--prime", "-p", help="Text to start from [default: a newline, else the corpus's first character].")] = None,
    length: Annotated[int, typer.Option("--length", "-n", min=0, help="Characters to generate.")] = 500,
    temperature: Annotated[float, typer.Option("--temperature", "-t", **o.POSITIVE, help="Softmax temperature (> 0).")] = 1.0,
    top_k: Annotated[Optional[int], typer.Option("--top-k", min=1, help="Sample among the k likeliest characters.")] = None,
    top_p: Annotated[Optional[float], typer.Option("--top-p", **o.interval(0.0, 1.0, low_open=True), help="Nucleus sampling: the likeliest characters covering probability p.")] = None,
    argmax: Annotated[bool, typer.Option("--argmax", help="Greedy: always the likeliest character.")] = False,
    seed: o.SampleSeed = None,
    num_samples: Annotated[int, typer.Option("--num-samples", min=1, help="Independent samples, computed as one batch.")] = 1,
    skip_unknown: Annotated[bool, typer.Option("--skip-unknown", help="Drop prime characters the model does not know instead of failing.")] = False,
    device: Annotated[o.Device, typer.Option("--device", help="Where to sample (batch-1 steps are fastest on CPU).")] = o.Device.cpu,
    exact: ExactSample = False,
    json_out: o.JsonOut = False,
):
    """Generate text from a trained model; stdout carries only the text."""
    from charrnn.text import commands

    commands.sample(ckpt, prime, length, temperature, top_k, top_p, argmax, seed, num_samples,
                    skip_unknown, device.value, json_out, exact)

