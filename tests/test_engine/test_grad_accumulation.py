"""``optim_wrapper=dict(accumulative_counts=k)``: k steps of batch b == one step of batch k*b.

The equivalence holds for models whose per-sample output does not depend on the rest of the
batch, so the model here uses GroupNorm (BatchNorm statistics would differ between a batch of
b and one of k*b), no dropout, and labels without ignored pixels (the mean over k*b images
then equals the mean of the k per-batch means).
"""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData

from segdet.engine import AmpOptimWrapper
from segdet.registry import MODELS
from segdet.structures import DataSample

GN = dict(type='GN', num_groups=4, requires_grad=True)


def gn_model() -> torch.nn.Module:
    init_default_scope('segdet')
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[120.0] * 3, std=[60.0] * 3,
                               size=(32, 32)),
        backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=8, norm_cfg=GN,
                      out_indices=(3, ), strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)),
        decode_head=dict(type='FCNHead', in_channels=64, in_index=0, channels=8, num_convs=1,
                         num_classes=3, norm_cfg=GN, dropout_ratio=0.0, align_corners=False,
                         loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        train_cfg=dict(), test_cfg=dict(mode='whole')))


def batch(indices: range, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 3, (8, 1, 32, 32), generator=g)
    samples = []
    for i in indices:
        sample = DataSample(metainfo=dict(ori_shape=(32, 32), img_shape=(32, 32)))
        sample.gt_sem_seg = PixelData(data=labels[i])
        samples.append(sample)
    return dict(inputs=[images[i] for i in indices], data_samples=samples)


@pytest.mark.parametrize('wrapper', [OptimWrapper, AmpOptimWrapper])
def test_k_steps_of_b_equal_one_step_of_kb(wrapper) -> None:
    k, b = 2, 2
    accumulated = gn_model()
    single = copy.deepcopy(accumulated)
    extra = dict(device_type='cpu', dtype='bfloat16') if wrapper is AmpOptimWrapper else {}
    acc_wrapper = wrapper(optimizer=torch.optim.SGD(accumulated.parameters(), lr=0.5),
                          accumulative_counts=k, **extra)
    one_wrapper = wrapper(optimizer=torch.optim.SGD(single.parameters(), lr=0.5), **extra)
    if wrapper is AmpOptimWrapper:  # compare the accumulation logic in fp32
        acc_wrapper.enabled = one_wrapper.enabled = False

    start = {n: p.detach().clone() for n, p in accumulated.named_parameters()}
    for step in range(k):
        accumulated.train_step(batch(range(step * b, (step + 1) * b)), acc_wrapper)
        if step < k - 1:  # no update before the k-th step
            assert all(torch.equal(p, start[n]) for n, p in accumulated.named_parameters())
    single.train_step(batch(range(k * b)), one_wrapper)

    moved = 0.0
    for (name, p_acc), p_one in zip(accumulated.named_parameters(), single.parameters()):
        torch.testing.assert_close(p_acc, p_one, rtol=1e-4, atol=1e-6, msg=name)
        moved = max(moved, float((p_one - start[name]).abs().max()))
    assert moved > 1e-3  # the step really changed the weights


def test_without_accumulation_the_steps_differ() -> None:
    """Control: two plain steps of b are not one step of 2b (so the test above has teeth)."""
    two_steps, one_step = gn_model(), gn_model()
    w2 = OptimWrapper(optimizer=torch.optim.SGD(two_steps.parameters(), lr=0.5))
    w1 = OptimWrapper(optimizer=torch.optim.SGD(one_step.parameters(), lr=0.5))
    two_steps.train_step(batch(range(0, 2)), w2)
    two_steps.train_step(batch(range(2, 4)), w2)
    one_step.train_step(batch(range(4)), w1)
    diff = max(float((a - b).abs().max())
               for a, b in zip(two_steps.parameters(), one_step.parameters()))
    assert diff > 1e-3
