"""reduce_loss / weight_reduce_loss / weighted_loss / get_class_weight."""
import numpy as np
import pytest
import torch

from segdet.models.losses import get_class_weight, reduce_loss, weight_reduce_loss, weighted_loss


@weighted_loss
def l1(pred, target):
    return (pred - target).abs()


def test_weighted_loss_hand_values():
    pred, target = torch.tensor([0.0, 2.0, 3.0]), torch.tensor([1.0, 1.0, 1.0])
    weight = torch.tensor([1.0, 0.0, 1.0])
    assert l1(pred, target).item() == pytest.approx(4 / 3)
    assert l1(pred, target, weight).item() == pytest.approx(1.0)
    torch.testing.assert_close(l1(pred, target, reduction='none'), torch.tensor([1., 1., 2.]))
    assert l1(pred, target, weight, avg_factor=2).item() == pytest.approx(1.5)
    assert l1(pred, target, reduction='sum').item() == pytest.approx(4.0)


def test_weight_reduce_loss_rules():
    loss = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert reduce_loss(loss, 'sum').item() == 10
    # weights broadcast (per row)
    assert weight_reduce_loss(loss, torch.tensor([[1.0], [0.0]]), 'sum').item() == 3
    # avg_factor 0 (everything ignored) gives 0, not nan
    assert weight_reduce_loss(loss * 0, avg_factor=0).item() == 0
    torch.testing.assert_close(weight_reduce_loss(loss, reduction='none', avg_factor=2), loss)
    with pytest.raises(ValueError, match='avg_factor'):
        weight_reduce_loss(loss, reduction='sum', avg_factor=2)
    with pytest.raises(ValueError, match='reduction'):
        reduce_loss(loss, 'max')


def test_get_class_weight():
    assert get_class_weight(None) is None
    assert get_class_weight((1, 2.5)) == [1.0, 2.5]
    assert get_class_weight(np.array([0.5])) == [0.5]
    assert get_class_weight(torch.tensor([3.0])) == [3.0]
    with pytest.raises(ValueError, match='1-D'):
        get_class_weight([[1.0, 2.0]])
