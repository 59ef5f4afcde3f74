"""accuracy / binary_accuracy / Accuracy on hand-made cases."""
import pytest
import torch

from segdet.models.losses import Accuracy, accuracy, binary_accuracy

# Rows: scores of 3 classes. Top-1 labels: 0, 1, 2, 2; top-2 adds: 1, 2, 1, 0.
PRED = torch.tensor([[0.9, 0.5, 0.1],
                     [0.2, 0.6, 0.3],
                     [0.1, 0.4, 0.45],
                     [0.3, 0.1, 0.7]])
TARGET = torch.tensor([0, 2, 1, 2])  # top-1 hits: rows 0, 3; top-2 hits: rows 0, 1, 2, 3


def test_topk_hand_case():
    torch.testing.assert_close(accuracy(PRED, TARGET), torch.tensor([50.0]))
    top1, top2 = accuracy(PRED, TARGET, topk=(1, 2))
    torch.testing.assert_close(top1, torch.tensor([50.0]))
    torch.testing.assert_close(top2, torch.tensor([100.0]))


def test_thresh_hand_case():
    # top-1 hits have scores 0.9 and 0.7; thresh 0.8 keeps only the first
    torch.testing.assert_close(accuracy(PRED, TARGET, thresh=0.8), torch.tensor([25.0]))
    # top-2 hits scores: 0.9, 0.3, 0.4, 0.7 -> > 0.35: three of them
    torch.testing.assert_close(accuracy(PRED, TARGET, topk=2, thresh=0.35),
                               torch.tensor([75.0]))


def test_ignore_index_hand_case():
    target = torch.tensor([0, 255, 255, 1])  # 2 counted: row 0 hit, row 3 miss
    torch.testing.assert_close(accuracy(PRED, target, ignore_index=255), torch.tensor([50.0]))
    torch.testing.assert_close(accuracy(PRED, torch.full((4,), 255), ignore_index=255),
                               torch.tensor([0.0]))


def test_segmentation_layout_and_module():
    pred = PRED.t().reshape(1, 3, 2, 2)    # (N, C, H, W) with the same 4 pixels
    target = TARGET.reshape(1, 2, 2)
    torch.testing.assert_close(accuracy(pred, target), torch.tensor([50.0]))
    top1, top2 = Accuracy(topk=(1, 2))(pred, target)
    assert (top1.item(), top2.item()) == (50.0, 100.0)


def test_empty_and_errors():
    assert accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.long)).item() == 0
    with pytest.raises(ValueError, match='exceeds'):
        accuracy(PRED, TARGET, topk=4)
    with pytest.raises(ValueError, match='topk'):
        accuracy(PRED, TARGET, topk=0)
    with pytest.raises(ValueError, match='pred must be'):
        accuracy(PRED, TARGET[:3])


def test_binary_accuracy():
    logits = torch.tensor([[-2.0, 0.1, 3.0, -0.1]]).view(1, 1, 1, 4)  # p: .12 .52 .95 .48
    target = torch.tensor([[[0, 1, 1, 255]]])
    torch.testing.assert_close(binary_accuracy(logits, target, 0.5, ignore_index=255),
                               torch.tensor([100.0]))
    # threshold 0.6: pixel 1 becomes 0 (miss)
    torch.testing.assert_close(binary_accuracy(logits, target, 0.6, ignore_index=255),
                               torch.tensor([200.0 / 3]))
    # pixel 3 counted when nothing is ignored: predicted 0 vs label 255 -> miss
    torch.testing.assert_close(binary_accuracy(logits, target, 0.5), torch.tensor([75.0]))
