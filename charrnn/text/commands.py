"""The text commands' work: `sample` and `eval` of a text model (training: text/training.py).

Prints data to stdout and nothing else there; notes go to stderr.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from charrnn import checkpoint, jsonout
from charrnn.config import ModelConfig, TrainConfig, from_dict
from charrnn.errors import CharrnnError
from charrnn.text.task import TextConfig


def load_model(ckpt: checkpoint.Checkpoint, device_name: str):
    """The trained network, on the asked device, wherever it was trained."""
    from charrnn.model import RecurrentNet
    from charrnn.runtime import resolve_device, setup_device
    from charrnn.text.data import Vocab

    device = resolve_device(device_name)
    setup_device(device)
    model = RecurrentNet(from_dict(ModelConfig, ckpt.meta["model"]))
    model.load_state_dict(ckpt.group("model"))
    return model.to(device).eval(), Vocab(ckpt.meta["vocab"])


def default_prime(vocab, meta: dict) -> str:
    if "\n" in vocab.chars:
        return "\n"
    start = meta.get("start_char")  # a hand-edited one of another type is ignored
    return start if isinstance(start, str) and start and start in vocab.chars else vocab.chars[0]


def utf8_argument(value: str) -> str:
    """A command-line argument as UTF-8 text: under a C or Latin-1 locale Python decodes argv
    bytes with the locale's codec (surrogate-escaped), so `-p 안` would arrive mangled."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    try:
        return os.fsencode(value).decode("utf-8")
    except (UnicodeError, ValueError):
        return value


def sample(ckpt_path: Path, prime: str | None, length: int, temperature: float,
           top_k: int | None, top_p: float | None, argmax: bool, seed: int | None,
           num_samples: int, skip_unknown: bool, device_name: str, json_out: bool,
           exact: bool = False) -> None:
    from charrnn.text.data import show_chars
    from charrnn.text.sampling import SamplingSettings, generate

    ckpt = checkpoint.load(ckpt_path, kind="text")
    model, vocab = load_model(ckpt, device_name)
    if prime is None or prime == "":
        prime = default_prime(vocab, ckpt.meta)
    prime = utf8_argument(prime)
    ids, unknown = vocab.encode_known(prime)
    if unknown and not skip_unknown:
        raise CharrnnError(f"--prime holds characters the model never saw: "
                           f"{show_chars(unknown)}; change the prime or pass "
                           f"--skip-unknown")
    if len(ids) == 0:
        raise CharrnnError("--prime: no character of it is in the model's vocabulary")
    prime = vocab.decode(ids)
    settings = SamplingSettings(temperature=temperature, top_k=top_k, top_p=top_p, argmax=argmax)
    pieces = generate(model, ids.tolist(), length, settings, num_samples=num_samples, seed=seed,
                      fast=not exact)
    out = sys.stdout
    if num_samples == 1 and not json_out:
        out.write(prime)
        out.flush()
        for piece in pieces:
            out.write(vocab.decode(piece[0]))
            out.flush()
        out.write("\n")  # the shell prompt starts on a line of its own
        out.flush()
        return
    rows = [[] for _ in range(num_samples)]
    for piece in pieces:
        for row, ids_row in zip(rows, piece):
            row.append(vocab.decode(ids_row))
    texts = [prime + "".join(row) for row in rows]
    if json_out:
        out.write(jsonout.dumps({"samples": texts}) + "\n")
    else:
        out.write("\n\n".join(texts) + "\n")
    out.flush()


def evaluate(ckpt: checkpoint.Checkpoint, data: str, json_out: bool, device_name: str,
             exact: bool = False) -> None:
    """exact: one stream over the whole text; else several side by side (text/evaluate.py)."""
    from charrnn.text.evaluate import score_sliding, score_stream, score_streams
    from charrnn.runtime import autocast_factory, resolve_precision
    from charrnn.text.data import corpus_name, decode_utf8, read_bytes

    if Path(data).suffix.lower() in (".csv", ".tsv") and corpus_name(data) != ckpt.meta.get("corpus"):
        raise CharrnnError(f"{ckpt.path} is a text model, but {data} looks like a series; score "
                           f"a CSV with a model from `charrnn train-series`")
    model, vocab = load_model(ckpt, device_name)
    text = decode_utf8(read_bytes(data, "data"), f"data {data}")
    ids, _ = vocab.encode_known(text)
    unknown_count = len(text) - len(ids)
    train_cfg = from_dict(TrainConfig, ckpt.meta["train"])
    text_cfg = from_dict(TextConfig, ckpt.meta["task"])
    device = next(model.parameters()).device
    if text_cfg.sliding:
        if len(ids) < text_cfg.seq_len + 1:
            raise CharrnnError(f"data {data}: {len(ids)} known characters is shorter than the "
                               f"model's window of {text_cfg.seq_len} + 1")
        scores = score_sliding(model, ids, text_cfg.seq_len)
    else:
        if len(ids) < 2:
            raise CharrnnError(f"data {data}: fewer than two characters the model knows; "
                               f"nothing to score")
        precision = resolve_precision(train_cfg.precision, device, training=False)
        score = score_stream if exact else score_streams
        scores = score(model, ids, autocast=autocast_factory(precision, device))
    scores.unknown_chars = unknown_count
    if unknown_count:
        print(f"note: {unknown_count} characters outside the model's vocabulary were left out "
              f"of the text before scoring", file=sys.stderr)
    if json_out:
        print(jsonout.dumps(scores.as_dict()))
    else:
        s = scores
        print(f"loss {s.loss:.4f} nats/char  bpc {s.bpc:.4f}  perplexity {s.perplexity:.3f}  "
              f"accuracy {s.accuracy:.4f}  chars {s.chars}  unknown {s.unknown_chars}")
