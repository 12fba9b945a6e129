import pytest
import torch

from charrnn.text.losses import sequence_loss


@pytest.mark.parametrize("logits, expected", [
    ([[0.2, 0.7], [0.6, 0.2], [0.2, 0.9]], 0.5967595),
    ([[0.3, 0.7]] * 3, 0.5130153),
    ([[0.1, 0.9]] * 3, 0.3711007),
    ([[1.0, 0.0]] * 3, 1.3132616),
])
def test_lecture_figures(logits, expected):
    """tf.contrib.seq2seq.sequence_loss values printed in the lecture, targets [1, 1, 1]."""
    logits = torch.tensor([logits])  # (1, 3, 2)
    targets = torch.tensor([[1, 1, 1]])
    weights = torch.ones(1, 3)
    assert sequence_loss(logits, targets, weights).item() == pytest.approx(expected, abs=1e-6)
    assert sequence_loss(logits, targets).item() == pytest.approx(expected, abs=1e-6)


def test_weights_divide_by_their_sum():
    logits = torch.tensor([[[0.2, 0.7], [0.6, 0.2], [0.2, 0.9]]])
    targets = torch.tensor([[1, 1, 1]])
    only_first = sequence_loss(logits, targets, torch.tensor([[1.0, 0.0, 0.0]]))
    full = torch.nn.functional.cross_entropy(logits[0, :1], targets[0, :1])
    assert only_first.item() == pytest.approx(full.item(), abs=1e-7)
