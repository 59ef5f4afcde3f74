"""L1 and smooth L1 losses against hand-computed values."""
import pytest
import torch

from segdet.models.losses import L1Loss, SmoothL1Loss, l1_loss, smooth_l1_loss

PRED = torch.tensor([[0.0, 1.0, 2.0, 3.0]])
TARGET = torch.tensor([[0.5, 1.0, 0.0, 3.05]])


def test_elementwise_values():
    assert torch.allclose(l1_loss(PRED, TARGET), torch.tensor([[0.5, 0.0, 2.0, 0.05]]))
    # beta 1: 0.5 d^2 below 1, d - 0.5 above
    assert torch.allclose(smooth_l1_loss(PRED, TARGET, 1.0),
                          torch.tensor([[0.125, 0.0, 1.5, 0.00125]]))


def test_weights_avg_factor_and_loss_weight():
    weight = torch.tensor([[1.0, 1.0, 0.0, 1.0]])
    loss = L1Loss(loss_weight=2.0)(PRED, TARGET, weight, avg_factor=4)
    assert loss.item() == pytest.approx(2.0 * (0.5 + 0.05) / 4)
    assert SmoothL1Loss(beta=1 / 9)(PRED, TARGET, reduction_override='sum').item() == \
        pytest.approx((0.5 - 1 / 18) + (2.0 - 1 / 18) + 0.5 * 0.05**2 * 9)


def test_all_zero_weights_and_empty_inputs_give_zero_with_a_graph():
    pred = PRED.clone().requires_grad_()
    loss = L1Loss()(pred, TARGET, torch.zeros_like(PRED))
    assert loss.item() == 0 and loss.requires_grad
    empty = torch.zeros((0, 4), requires_grad=True)
    assert L1Loss()(empty, torch.zeros((0, 4))).item() == 0


def test_shape_mismatch_and_bad_beta_are_named():
    with pytest.raises(ValueError, match='differ in shape'):
        l1_loss(PRED, TARGET[:, :2])
    with pytest.raises(ValueError, match='beta'):
        smooth_l1_loss(PRED, TARGET, 0.0)
