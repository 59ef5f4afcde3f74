"""Shared helpers of the decode-head tests (imported by the test files of this folder)."""
import math

import torch
from mmengine.structures import PixelData
from torch import Tensor

from segdet.structures import DataSample


def make_feats(shapes, seed=0) -> list[Tensor]:
    """Random features, one (N, C, H, W) tensor per shape."""
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(*s, generator=g) for s in shapes]


def make_labels(n, h, w, num_classes, ignore_frac=0.0, seed=1, ignore_index=255) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, num_classes, (n, h, w), generator=g)
    if ignore_frac:
        label[torch.rand(n, h, w, generator=g) < ignore_frac] = ignore_index
    return label


def make_samples(labels: Tensor) -> list[DataSample]:
    """One DataSample per (H, W) label map, with gt_sem_seg (1, H, W) int64."""
    samples = []
    for lab in labels:
        h, w = lab.shape
        s = DataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=lab[None].long())
        samples.append(s)
    return samples


def zero_classifier(head) -> None:
    """conv_seg weights and bias to 0: every logit is 0 whatever the features."""
    with torch.no_grad():
        head.conv_seg.weight.zero_()
        head.conv_seg.bias.zero_()


def assert_uniform_loss(losses: dict, num_classes: int) -> None:
    """With all-zero logits the softmax CE is exactly log(num_classes)."""
    assert set(losses) == {'loss_ce', 'acc_seg'}
    assert losses['loss_ce'].dtype == torch.float32
    assert math.isclose(losses['loss_ce'].item(), math.log(num_classes), rel_tol=1e-6)
    assert 0.0 <= losses['acc_seg'].item() <= 100.0
