"""Fine-tuning: a trained text model's weights carried onto a new corpus, character by character.

Characters are matched by identity, never by index (torch-rnn's users got garbled text when a
new corpus gave the same characters other ids). The new vocabulary is the sorted union of the
model's and the corpus's characters: characters both know keep their rows, characters new to
the model get fresh rows, characters the new corpus lacks stay, so the model still reads its
old text. Knows nothing of typer.
"""
from __future__ import annotations

import math

import torch

from charrnn.config import ModelConfig
from charrnn.errors import CharrnnError
from charrnn.text.data import Vocab

# the options that shape the network; dropout is not shape and may change when fine-tuning
SHAPE_OPTIONS = {"cell": "cell", "hidden": "hidden_size", "layers": "num_layers", "embed": "embed"}
# a new character's output logit starts at least this far below log-sum-exp of the old ones:
# each new character adds below e^-20 (2e-9) to the old text's loss per character, in nats
NEW_LOGIT_MARGIN = 20.0


def merged_vocab(model: Vocab, corpus: Vocab) -> Vocab:
    """The sorted union: every character the model knows and every one the corpus holds."""
    return Vocab("".join(sorted(set(model.chars) | set(corpus.chars))))


def refuse_other_shape(given: dict, model_cfg: ModelConfig, source) -> None:
    """The fine-tuned network has the checkpoint's shape; a different one is an error."""
    for option, field in SHAPE_OPTIONS.items():
        if option in given and given[option] != getattr(model_cfg, field):
            raise CharrnnError(f"--{option} {given[option]}: --init-from {source} has "
                               f"{getattr(model_cfg, field)}; the fine-tuned model keeps its shape "
                               f"(drop --{option}, or train a new model)")


def carried_over(fresh: dict[str, torch.Tensor], trained: dict[str, torch.Tensor],
                 old: Vocab, new: Vocab) -> dict[str, torch.Tensor]:
    """The state dict of a model over `new` (`fresh`: a freshly initialised one) holding the
    trained weights of a model over `old` (`trained`), with rows matched by character.

    Rows indexed by character: the embedding's rows (or, with one-hot input, the first layer's
    input columns) and the head's output rows and bias. Everything else is copied whole. A new
    character's input row is the fresh model's; its output row starts silent (`_silent_bias`).
    """
    missing = set(old.chars) - set(new.chars)
    if missing:
        raise ValueError(f"the new vocabulary lacks {len(missing)} of the model's characters")
    index = {ch: i for i, ch in enumerate(new.chars)}
    to_new = torch.tensor([index[ch] for ch in old.chars], dtype=torch.long)
    is_new = torch.ones(len(new), dtype=torch.bool)
    is_new[to_new] = False
    one_hot = "embed.weight" not in fresh
    state = {}
    for name, value in fresh.items():
        have = trained[name].to(value.dtype)
        if name == "embed.weight" or name == "head.weight" or name == "head.bias":
            out = value.clone()
            out[to_new] = have
        elif name == "rnn.weight_ih_l0" and one_hot:
            out = value.clone()  # one-hot input: a column per character
            out[:, to_new] = have
        else:
            if value.shape != have.shape:
                raise ValueError(f"{name}: shape {tuple(have.shape)} does not fit "
                                 f"{tuple(value.shape)}")
            out = have.clone()
        state[name] = out
    if is_new.any():
        state["head.weight"][is_new] = 0.0
        state["head.bias"][is_new] = _silent_bias(trained["head.weight"], trained["head.bias"])
    return state


def _silent_bias(old_weight: torch.Tensor, old_bias: torch.Tensor) -> float:
    """The head bias of a new character: low enough that its probability is negligible until
    training moves it, so the old text scores exactly as before (an extra output row would
    otherwise add to the softmax's normaliser), and no lower than that, so training lifts it
    soon. The new rows' head weights start at zero, their logit at this bias; the gradient
    (p - y) h of a row differs per character from the first step on.

    The top layer's output h lies in [-1, 1] (tanh, or a tanh gated), and log-sum-exp of the
    old logits W h + b is at least their mean plus log V (Jensen), so at least
    mean(b) - |mean of the rows of W|_1 + log V for every input.
    """
    old_weight, old_bias = old_weight.double(), old_bias.double()
    floor = old_bias.mean() - old_weight.mean(0).abs().sum() + math.log(len(old_bias))
    return floor.item() - NEW_LOGIT_MARGIN


def lineage(path, meta: dict) -> dict:
    """What a fine-tuned checkpoint records of where it started (and where that started)."""
    entry = {"path": str(path), "corpus": meta.get("corpus"), "step": meta.get("step"),
             "epoch": meta.get("epoch")}
    if isinstance(meta.get("init_from"), dict):
        entry["init_from"] = meta["init_from"]
    return entry
