#!/usr/bin/env python3
"""anchor_lstm.py - a bare, best-practice PyTorch char-level LSTM language model
training loop, used as a performance anchor (single file, torch + numpy only).

Pipeline: text file -> numpy code-point ids -> contiguous batch streams
(truncated BPTT, hidden state carried across steps and detached) ->
nn.Embedding -> nn.LSTM(batch_first) -> nn.Linear -> cross-entropy, Adam,
grad-norm clipping.  Reports training chars/s (after warm-up steps), final
loss, validation bits-per-char on the held-out tail of the file, and sampling
chars/s (batch 1, one step at a time, state carried, torch.inference_mode).

Runs unchanged on CPU and CUDA (without --data it trains on 1 MiB of generated pseudo-text):
  python benchmarks/anchor_lstm.py --data tinyshakespeare.txt --device cpu --threads 2 --json
  python benchmarks/anchor_lstm.py --device cuda --amp --json
  python benchmarks/anchor_lstm.py --configs "128,2,64,32;256,2,100,64" --json   # several configs, one JSON line each
"""
import argparse
import contextlib
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F



# ----------------------------------------------------------------------------- data
def pseudo_text(n_bytes=1 << 20, seed=0):
    """Deterministic ~n_bytes of word-like ASCII text (Zipf word frequencies, lines, punctuation)."""
    rng = np.random.default_rng(seed)
    letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
    lp = np.linspace(2.0, 0.2, len(letters))
    lp /= lp.sum()
    words = ["".join(rng.choice(letters, size=int(rng.integers(1, 9)), p=lp)) for _ in range(3000)]
    zipf = 1.0 / np.arange(1, len(words) + 1)
    zipf /= zipf.sum()
    out, size = [], 0
    while size < n_bytes:
        idx = rng.choice(len(words), size=int(rng.integers(4, 13)), p=zipf)
        line = " ".join(words[i] for i in idx)
        line = line[0].upper() + line[1:] + str(rng.choice([".", ",", ";", "!", "?", ":"])) + "\n"
        if rng.random() < 0.15:
            line += "\n"
        out.append(line)
        size += len(line)
    return "".join(out)[:n_bytes]


def load_text(path):
    if path:
        with open(path, "r", encoding="utf-8") as f:
            return f.read(), os.path.abspath(path)
    return pseudo_text(), "<pseudo-text 1 MiB, seed 0>"


def encode(text):
    """Code points -> dense ids with numpy (uint8 when the vocabulary fits)."""
    cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    vocab, ids = np.unique(cps, return_inverse=True)
    chars = "".join(chr(int(c)) for c in vocab)
    ids = ids.astype(np.uint8 if len(vocab) <= 256 else np.int32)
    return chars, ids


def stream_chunks(ids, batch, seq, device):
    """Contiguous streams: the id array is cut into `batch` rows read left to right;
    returns x, y of shape [n_chunks, batch, seq] (int64, contiguous, on device)."""
    t = torch.from_numpy(ids.astype(np.int64))
    cols = (t.numel() - 1) // batch
    n_chunks = cols // seq
    if n_chunks < 1:
        raise SystemExit(f"text too short for batch={batch} seq={seq}")
    cols = n_chunks * seq
    # row r is the stream t[r*cols:(r+1)*cols]; its targets are the same stream shifted by one
    x = t[: batch * cols].view(batch, n_chunks, seq)
    y = t[1: batch * cols + 1].view(batch, n_chunks, seq)
    return (x.transpose(0, 1).contiguous().to(device), y.transpose(0, 1).contiguous().to(device))


# ----------------------------------------------------------------------------- model
class CharLSTM(nn.Module):
    def __init__(self, vocab, emb, hidden, layers, dropout=0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):
        h, state = self.lstm(self.embed(x), state)
        return self.head(h), state


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------- phases
def train(model, xb, yb, args, device, amp_ctx):
    vocab = model.head.out_features
    fused = device.type == "cuda"
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, fused=fused)
    model.train()
    state = None
    losses = []
    n_chunks = xb.shape[0]
    total = args.warmup + args.steps
    t0 = None
    for step in range(total):
        if step == args.warmup:
            sync(device)
            t0 = time.perf_counter()
        i = step % n_chunks
        if i == 0:
            state = None  # new pass over the streams
        with amp_ctx():
            logits, state = model(xb[i], state)
            loss = F.cross_entropy(logits.reshape(-1, vocab).float(), yb[i].reshape(-1))
        # truncated BPTT: keep the values, drop the graph
        state = tuple(s.detach().float() for s in state)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        losses.append(loss.detach())
    sync(device)
    elapsed = time.perf_counter() - t0
    losses = torch.stack(losses).float().cpu().numpy()  # one sync at the end
    return elapsed, losses


@torch.inference_mode()
def val_bpc(model, ids, batch, seq, device, amp_ctx):
    if ids.size < batch * seq + 1:
        batch = max(1, (ids.size - 1) // seq)
    xb, yb = stream_chunks(ids, batch, seq, device)
    model.eval()
    vocab = model.head.out_features
    state, total = None, torch.zeros((), dtype=torch.float64, device=device)
    for i in range(xb.shape[0]):
        with amp_ctx():
            logits, state = model(xb[i], state)
        total += F.cross_entropy(logits.reshape(-1, vocab).float(), yb[i].reshape(-1),
                                 reduction="sum").double()
    n = xb.numel()
    return total.item() / n / math.log(2), n


@torch.inference_mode()
def sample(model, n_chars, warmup, start_id, temperature, device, seed, mkldnn=False):
    """Batch 1, one step at a time, state carried; fp32 (no autocast).
    On CPU the oneDNN (mkldnn) LSTM kernel is switched off here unless mkldnn=True:
    for one-step batch-1 calls it is 5-100x slower than the native kernel
    (measured with torch 2.13 CPU), while for training it is faster."""
    if device.type == "cpu" and not mkldnn:
        prev = torch.backends.mkldnn.enabled
        torch.backends.mkldnn.enabled = False
        try:
            return _sample(model, n_chars, warmup, start_id, temperature, device, seed)
        finally:
            torch.backends.mkldnn.enabled = prev
    return _sample(model, n_chars, warmup, start_id, temperature, device, seed)


def _sample(model, n_chars, warmup, start_id, temperature, device, seed):
    model.eval()
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    x = torch.full((1, 1), start_id, dtype=torch.long, device=device)
    out = torch.empty(n_chars, dtype=torch.long, device=device)
    state = None
    t0 = None
    for i in range(warmup + n_chars):
        if i == warmup:
            sync(device)
            t0 = time.perf_counter()
        logits, state = model(x, state)
        probs = torch.softmax(logits[0, -1].float() / temperature, dim=-1)
        x = torch.multinomial(probs, 1, generator=gen).view(1, 1)
        if i >= warmup:
            out[i - warmup] = x[0, 0]
    sync(device)
    elapsed = time.perf_counter() - t0
    return elapsed, out.cpu().numpy()


# ----------------------------------------------------------------------------- driver
def run_config(args, cfg, text_info, device):
    hidden, layers, seq, batch = cfg
    chars, ids, data_path = text_info
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    n_val = max(int(len(ids) * args.val_frac), seq + 2)
    train_ids, valid_ids = ids[:-n_val], ids[-n_val:]
    xb, yb = stream_chunks(train_ids, batch, seq, device)
    emb = args.emb or hidden
    model = CharLSTM(len(chars), emb, hidden, layers, args.dropout).to(device)
    n_params = sum(p.numel() for p in model.parameters())

    use_amp = bool(args.amp) and device.type == "cuda"
    if use_amp:
        amp_ctx = lambda: torch.autocast("cuda", dtype=torch.bfloat16)  # noqa: E731
    else:
        amp_ctx = contextlib.nullcontext

    elapsed, losses = train(model, xb, yb, args, device, amp_ctx)
    chars_per_step = batch * seq
    tail = losses[-min(10, len(losses)):]
    res = {
        "tool": "anchor_lstm",
        "hidden": hidden, "layers": layers, "seq": seq, "batch": batch, "emb": emb,
        "params": n_params, "vocab": len(chars),
        "device": device.type,
        "device_name": (torch.cuda.get_device_name(device) if device.type == "cuda"
                        else platform.processor() or platform.machine()),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "amp": "bf16-autocast" if use_amp else "off",
        "lr": args.lr, "clip": args.clip, "dropout": args.dropout,
        "warmup_steps": args.warmup, "steps": args.steps,
        "train_chars_per_s": round(chars_per_step * args.steps / elapsed, 1),
        "ms_per_step": round(1000 * elapsed / args.steps, 3),
        "chars_seen": chars_per_step * (args.warmup + args.steps),
        "first_loss": round(float(losses[0]), 4),
        "final_loss": round(float(tail.mean()), 4),
        "final_loss_bpc": round(float(tail.mean()) / math.log(2), 4),
    }
    if not args.no_val:
        t0 = time.perf_counter()
        bpc, n = val_bpc(model, valid_ids, batch, seq, device, amp_ctx)
        res["val_bpc"] = round(bpc, 4)
        res["val_chars"] = n
        res["val_chars_per_s"] = round(n / (time.perf_counter() - t0), 1)
    if args.sample_chars > 0:
        start_id = int(ids[0])
        s_elapsed, out = sample(model, args.sample_chars, args.sample_warmup, start_id,
                                args.temperature, device, args.seed, args.sample_mkldnn)
        res["sample_cpu_mkldnn"] = bool(args.sample_mkldnn) if device.type == "cpu" else None
        res["sample_chars"] = args.sample_chars
        res["sample_chars_per_s"] = round(args.sample_chars / s_elapsed, 1)
        res["sample_ms_per_char"] = round(1000 * s_elapsed / args.sample_chars, 4)
        if args.show_sample:
            res["sample_text"] = "".join(chars[i] for i in out[:200])
    res["data"] = data_path
    res["data_chars"] = int(len(ids))
    return res


def parse_configs(s):
    cfgs = []
    for part in s.replace(" ", "").split(";"):
        if part:
            h, l, q, b = (int(v) for v in part.split(","))
            cfgs.append((h, l, q, b))
    return cfgs


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default=None, help="text file (default: 1 MiB of generated pseudo-text)")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seq", type=int, default=100, help="BPTT length")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--emb", type=int, default=0, help="embedding size (0 = hidden)")
    p.add_argument("--configs", default="", help='"H,L,S,B;H,L,S,B" runs several configs in turn')
    p.add_argument("--steps", type=int, default=50, help="timed training steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed training steps before timing")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--dropout", type=float, default=0.0)
    p.add_argument("--val-frac", type=float, default=0.1, help="held-out tail of the file")
    p.add_argument("--no-val", action="store_true")
    p.add_argument("--sample-chars", type=int, default=2000)
    p.add_argument("--sample-warmup", type=int, default=50)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--show-sample", action="store_true")
    p.add_argument("--sample-mkldnn", action="store_true",
                   help="CPU: keep the oneDNN LSTM kernel on while sampling (slow at batch 1)")
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"])
    p.add_argument("--amp", action="store_true", help="bf16 autocast (CUDA only; ignored on CPU)")
    p.add_argument("--no-tf32", action="store_true", help="CUDA: keep fp32 matmuls in full fp32")
    p.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0 = torch default)")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--json", action="store_true", help="one JSON line per config")
    args = p.parse_args(argv)

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dev = args.device
    if dev == "auto":
        dev = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(dev)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("--device cuda but torch.cuda.is_available() is False")
        torch.backends.cudnn.benchmark = True
        if not args.no_tf32:
            torch.backends.cuda.matmul.allow_tf32 = True
            torch.backends.cudnn.allow_tf32 = True

    text, data_path = load_text(args.data)
    chars, ids = encode(text)
    cfgs = parse_configs(args.configs) or [(args.hidden, args.layers, args.seq, args.batch)]
    for cfg in cfgs:
        res = run_config(args, cfg, (chars, ids, data_path), device)
        if args.json:
            print(json.dumps(res), flush=True)
        else:
            print(f"[{res['device']} {res['amp']} threads={res['threads']}] "
                  f"H={cfg[0]} L={cfg[1]} seq={cfg[2]} B={cfg[3]} params={res['params']:,}: "
                  f"train {res['train_chars_per_s']:,.0f} chars/s ({res['ms_per_step']:.1f} ms/step), "
                  f"loss {res['first_loss']:.3f}->{res['final_loss']:.3f}, "
                  f"val {res.get('val_bpc', float('nan')):.3f} bpc, "
                  f"sample {res.get('sample_chars_per_s', 0):,.0f} chars/s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
