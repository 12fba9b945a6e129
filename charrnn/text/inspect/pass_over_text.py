"""The one pass over the shown text that computes everything `charrnn inspect` shows.

The state is carried from the text's first character exactly as `eval` scores a stream (a model
trained with --sliding is read the way `eval` scores it: the first window carried, every later
character from its own window), so the losses shown are the losses `eval` averages. The stack
runs layer by layer (layer_stack) so that every layer's units can be read. Memory is bounded:
the text runs in chunks and only what is shown is kept (one value per character per asked unit;
correlations accumulate as sums).
"""
from __future__ import annotations

import contextlib

import numpy as np
import torch

from charrnn.errors import CharrnnError
from charrnn.text.inspect.features import FEATURES, Correlations, strongest_units, text_features
from charrnn.text.inspect.inspection import Inspection
from charrnn.text.inspect.layer_stack import LayerStack
from charrnn.text.inspect.units import UnitRef

DEFAULT_CHARS = 2000
DEFAULT_TOP_CHARS = 100  # --top prints a row per character: a short range by default
CHUNK = 512  # the chunk score_stream uses
SLIDING_BATCH_STEPS = 65536  # windows x steps per batch for --sliding models


def read_shown_text(source: str, start: int, chars: int) -> str:
    from charrnn.text.data import decode_utf8, read_bytes

    if chars < 1:
        raise CharrnnError(f"--chars {chars}: give at least 1 (the characters to show)")
    if start < 0:
        raise CharrnnError(f"--start {start}: give an offset of 0 or more characters")
    text = decode_utf8(read_bytes(source, "data"), f"data {source}")
    if start >= len(text):
        raise CharrnnError(f"--start {start}: data {source} holds only {len(text)} characters")
    return text[start:start + chars]


def _sliding_seq_len(meta: dict) -> int | None:
    """The window length of a model trained with --sliding (where eval scores windows)."""
    for section in ("task", "train"):
        part = meta.get(section)
        if isinstance(part, dict) and part.get("sliding"):
            seq = part.get("seq_len")
            if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0:
                return seq
    return None


@contextlib.contextmanager
def _one_thread(device: torch.device):
    """A batch-1 stream on CPU: each step's matrices are too small to share, and on a busy
    machine the threads' spinning costs orders of magnitude (measured 0.5 ms against 1.4 s for
    512 steps of a 32-wide LSTM on 2 loaded cores)."""
    if device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_inspection(model, vocab, meta: dict, text: str, source: str, start: int, *,
                   unit: UnitRef | None = None, top_k: int = 0, find_states: tuple = (),
                   find_feature: str | None = None) -> Inspection:
    """One pass over `text`: per-character loss, and what the options ask for."""
    with _one_thread(next(model.parameters()).device), torch.inference_mode():
        return _run(model, vocab, meta, text, source, start, unit, top_k, find_states,
                    find_feature)


def _run(model, vocab, meta, text, source, start, unit, top_k, find_states, find_feature):
    model.eval()
    device = next(model.parameters()).device
    codes = np.array([ord(c) for c in text], dtype=np.int64)
    table = np.array([ord(c) for c in vocab.chars], dtype=np.int64)
    pos = np.searchsorted(table, codes).clip(0, len(table) - 1)
    known = table[pos] == codes
    ids = pos[known]
    where = np.flatnonzero(known)  # text index of each known character
    n = len(ids)
    if n < 2:
        raise CharrnnError(f"data {source}: fewer than two characters the model knows in the "
                           f"shown text; nothing to score")
    unknown = "".join(dict.fromkeys(c for c, k in zip(text, known) if not k))
    cfg = model.cfg
    stack = LayerStack(model)
    layers, hidden = cfg.num_layers, cfg.hidden_size

    loss_known = np.full(n, np.nan)
    values_known = np.full(n, np.nan) if unit is not None else None
    k = min(top_k, len(vocab)) if top_k else 0
    top_ids = np.zeros((n, k), dtype=np.int64) if k else None
    top_p = np.zeros((n, k), dtype=np.float32) if k else None
    want_c = (unit is not None and unit.state == "c") or "c" in find_states
    feats_known = text_features(text)[known] if find_states else None
    corr = Correlations(len(FEATURES), layers * hidden * len(find_states)) if find_states else None
    ids_t = torch.from_numpy(ids)

    def take(k0: int, hs, cs, logits):
        """Positions k0.. of the known stream: their states, and the logits they give for
        the next character."""
        t = logits.shape[0]
        logp = torch.log_softmax(logits.float(), dim=-1)
        nxt = ids_t[k0 + 1:k0 + t + 1].to(device)
        m = len(nxt)
        if m:
            lp = logp[:m].gather(1, nxt[:, None])[:, 0]
            loss_known[k0 + 1:k0 + 1 + m] = (-lp).double().cpu().numpy()
            if k:
                p, j = logp[:m].exp().topk(k, dim=-1)
                top_ids[k0 + 1:k0 + 1 + m] = j.cpu().numpy()
                top_p[k0 + 1:k0 + 1 + m] = p.cpu().numpy()
        if unit is not None:
            src = cs if unit.state == "c" else hs
            values_known[k0:k0 + t] = src[unit.layer - 1][:, unit.index].double().cpu().numpy()
        if corr is not None:
            parts = [(cs if s == "c" else hs)[layer] for s in find_states for layer in range(layers)]
            acts = torch.cat(parts, dim=1).double().cpu().numpy()
            corr.add(acts, feats_known[k0:k0 + t])

    seq = _sliding_seq_len(meta)
    first = n if seq is None else min(n, seq)
    states = None
    for k0 in range(0, first, CHUNK):  # the carried stream (a sliding model's first window)
        chunk = ids_t[k0:min(k0 + CHUNK, first)].to(device)[None]
        hs, cs, states = stack.run(chunk, states, want_c)
        take(k0, [h[0] for h in hs], [c[0] for c in cs] if cs is not None else None,
             model.head(hs[-1][0]))
    if seq is not None and n > seq:  # every later character from its own window
        batch = max(1, SLIDING_BATCH_STEPS // seq)
        for j0 in range(seq, n, batch):
            ends = torch.arange(j0, min(j0 + batch, n))
            windows = ids_t[(ends - seq + 1)[:, None] + torch.arange(seq)[None, :]].to(device)
            _, _, finals = stack.run(windows, None, False)
            if cfg.cell == "lstm":
                hs = [s[0][0] for s in finals]
                cs = [s[1][0] for s in finals]
            else:
                hs, cs = [s[0] for s in finals], None
            take(int(j0), hs, cs, model.head(hs[-1]))

    shape = len(text)
    loss = np.full(shape, np.nan)
    loss[where] = loss_known
    predicted = int(np.isfinite(loss_known).sum())
    ins = Inspection(text=text, source=source, start=start, vocab=vocab.chars, known=known,
                     loss=loss, predicted=predicted,
                     loss_sum=float(np.nansum(loss_known)), unknown=unknown,
                     model=f"{cfg.cell.upper()} {layers} x {hidden}")
    if k:
        ins.top_k = k
        ins.top_ids = np.zeros((shape, k), dtype=np.int64)
        ins.top_p = np.zeros((shape, k), dtype=np.float32)
        ins.top_ids[where], ins.top_p[where] = top_ids, top_p
    if corr is not None:
        ins.find = strongest_units(corr.r(), find_states, layers, hidden, find_feature)
        ins.find_feature = find_feature
    if unit is not None:
        ins.unit = unit
        ins.unit_values = np.full(shape, np.nan)
        ins.unit_values[where] = values_known
    return ins


def inspect_with_auto_unit(model, vocab, meta, text, source, start, *, feature: str,
                           states: tuple, top_k: int = 0) -> Inspection:
    """--find FEATURE --unit auto: find the best unit, then colour by it (a second pass over
    the shown text, which is at most --chars long)."""
    found = run_inspection(model, vocab, meta, text, source, start, find_states=states,
                           find_feature=feature)
    best = found.find[0].best
    if best is None:
        raise CharrnnError(f"--find {feature}: the shown text has no variation in this feature "
                           f"(for example no {feature} at all); show more text, or another part")
    ins = run_inspection(model, vocab, meta, text, source, start, unit=best[0], top_k=top_k)
    ins.find, ins.find_feature, ins.unit_r = found.find, feature, best[1]
    return ins
