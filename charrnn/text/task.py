"""The text task: what a character language model adds to the shared trainer.

Its windows (truncated BPTT streams or the lecture's sliding windows), the loss
(`sequence_loss`), validation on the held-out tail, the per-epoch preview (predicted strings
and a free-running sample) and the checkpoint's vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from charrnn.config import TextConfig, TrainConfig, to_dict
from charrnn.distributed import World, shard
from charrnn.errors import CharrnnError
from charrnn.text.data import SlidingWindows, StreamWindows, Vocab
from charrnn.text.evaluate import predicted_strings, score_sliding, score_stream
from charrnn.text.losses import sequence_loss
from charrnn.text.sampling import SamplingSettings, sample_text

VAL_CHARS_PER_STREAM = 20_000  # streams scored side by side; each starts from a zero state
VAL_MAX_CHARS = 250_000  # per-epoch validation scores at most this much of the tail
SHOWN_WINDOWS = 3
SHOWN_WINDOW_MAX = 60
SAMPLE_CHARS = 160


@dataclass
class TextData:
    vocab: Vocab
    train_ids: np.ndarray
    val_ids: np.ndarray | None
    name: str

    @property
    def chars(self) -> int:
        return len(self.train_ids) + (0 if self.val_ids is None else len(self.val_ids))


def split_text(ids: np.ndarray, vocab: Vocab, name: str, seq_len: int, val_frac: float,
               sliding: bool = False) -> TextData:
    """Contiguous validation tail; checks that both parts hold at least one window."""
    need = seq_len + 1
    n_val = int(round(len(ids) * val_frac)) if val_frac > 0 else 0
    if len(ids) - n_val < need or (n_val and n_val < (need if sliding else 2)):
        if len(ids) < need:
            fix = "use a smaller --seq-len" if seq_len > 1 else "give a longer text"
            raise CharrnnError(f"corpus {name}: {len(ids)} characters is shorter than one window "
                               f"(--seq-len {seq_len} needs {need}); {fix}")
        raise CharrnnError(f"corpus {name}: {len(ids)} characters is too short to hold out "
                           f"--val-frac {val_frac} and still train on a window of "
                           f"{seq_len}; use --val-frac 0 or a smaller --seq-len")
    val = ids[len(ids) - n_val:] if n_val else None
    return TextData(vocab, ids[:len(ids) - n_val], val, name)


class TextTask:
    kind = "text"
    unit = "chars"
    score_initial_model = False
    final_is_best = False

    def __init__(self, data: TextData, cfg: TextConfig, seed: int = 0,
                 lineage: dict | None = None, facts: list[str] = ()):
        self.data, self.cfg, self.seed = data, cfg, seed
        self.lineage = lineage  # fine-tuned: the checkpoint it started from (`init_from`)
        self.facts = list(facts)  # more for the run's header (what --precision auto measured)

    def name(self) -> str:
        return self.data.name

    def start_facts(self) -> list[str]:
        return [f"{self.data.chars:,} chars", f"vocab {len(self.data.vocab)}",
                f"seq {self.cfg.seq_len}", *self.facts]

    def batches(self, train: TrainConfig, world: World):
        if self.cfg.sliding:
            return SlidingWindows(self.data.train_ids, self.cfg.seq_len, train.batch_size,
                                  train.seed)
        return StreamWindows(shard(self.data.train_ids, world), train.batch_size or 1,
                             self.cfg.seq_len, self.cfg.reset_every, train.seed)

    def init_model(self, model) -> None:
        pass  # PyTorch's initialisation, with the LSTM's forget-gate bias at 1 (model.py)

    def loss(self, net, batch, carry):
        x, y = batch  # (B, T) ids
        logits, carry = net(x, carry)  # (B, T, V)
        loss = sequence_loss(logits, y)
        return loss, loss.detach(), carry

    @staticmethod
    def items(batch) -> int:
        return batch[1].numel()

    @staticmethod
    def beats_initial(score: float, initial: float) -> bool:
        return score < initial

    def validate(self, model, autocast) -> float | None:
        ids = self.data.val_ids
        if ids is None:
            return None
        ids = ids[:VAL_MAX_CHARS]  # a 1 GB corpus must not spend an hour validating each epoch
        if self.cfg.sliding:
            return score_sliding(model, ids, self.cfg.seq_len).loss
        streams = -(-len(ids) // VAL_CHARS_PER_STREAM)
        # in the training precision: on 2 x 512 bf16 scores the tinyshakespeare tail 2.7x faster
        # than fp32 and within 0.0003 nats of it (`charrnn eval` stays fp32)
        return score_stream(model, ids, streams=streams, autocast=autocast).loss

    def epoch_fields(self, model, val_loss, preview: bool) -> dict:
        if not preview:
            return {}
        return {"predictions": self._predictions(model), "sample": self._sample(model)}

    def _predictions(self, model) -> list[tuple[str, str]]:
        ids = self.data.train_ids
        length = min(self.cfg.seq_len, SHOWN_WINDOW_MAX, len(ids))
        last = len(ids) - length
        starts = sorted({0, *(last * k // SHOWN_WINDOWS for k in range(1, SHOWN_WINDOWS))})
        return predicted_strings(model, self.data.vocab, ids, starts, length)

    def _sample(self, model) -> str:
        vocab = self.data.vocab
        prime = "\n" if "\n" in vocab.chars else vocab.decode(self.data.train_ids[:1])
        return sample_text(model, vocab, prime, SAMPLE_CHARS, SamplingSettings(temperature=0.8),
                           seed=self.seed)

    def meta(self, model) -> dict:
        meta = {"task": to_dict(self.cfg), "vocab": self.data.vocab.chars,
                "corpus": self.data.name,
                "start_char": self.data.vocab.decode(self.data.train_ids[:1])}
        if self.lineage:
            meta["init_from"] = self.lineage
        return meta


def text_trainer(data: TextData, model_cfg, train_cfg: TrainConfig, text_cfg: TextConfig,
                 out_dir, device, precision: str = "fp32", listeners=(), resume=None,
                 world: World = World()):
    """The shared trainer with the text task plugged in."""
    from charrnn.engine.trainer import Trainer

    return Trainer(TextTask(data, text_cfg, train_cfg.seed), model_cfg, train_cfg, out_dir,
                   device, precision, listeners, resume, world)
