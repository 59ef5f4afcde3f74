"""Shared helpers of the segmentation tests: random features, label maps and samples, and
:func:`assert_decode_head_contract`, the checks every decode head must pass (new heads add a
case to tests/test_models/test_decode_heads/test_head_contract.py)."""
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


def assert_decode_head_contract(head, feats: list[Tensor], num_classes: int,
                                label_size: tuple[int, int] = (24, 24),
                                prev_output: Tensor = None) -> None:
    """What ``BaseDecodeHead`` promises, checked on one head.

    - ``forward`` gives (N, num_classes, h, w) float logits; in eval mode it is deterministic;
    - with ``conv_seg`` zeroed, ``loss`` is exactly log(num_classes) (softmax CE of uniform
      logits, resized to the label size) with ``acc_seg`` in [0, 100], in float32;
    - the loss reaches every trainable parameter of the head but ``conv_seg`` (zeroed) with a
      finite gradient;
    - ``predict`` returns logits at the metainfo's ``pad_shape``.

    Args:
        head: A decode head (or a cascade head when ``prev_output`` is given).
        feats: Multi-level (N, C_i, H_i, W_i) features the head reads.
        num_classes: The head's number of classes.
        label_size: (H, W) of the ground truth (the logits are resized to it).
        prev_output: (N, C, h, w) logits of a previous stage, for cascade heads.
    """
    extra = () if prev_output is None else (prev_output, )
    n = feats[0].shape[0]
    head.train()
    logits = head(feats, *extra)
    assert logits.dim() == 4 and logits.shape[:2] == (n, num_classes), tuple(logits.shape)
    assert logits.dtype == torch.float32
    zero_classifier(head)
    samples = make_samples(make_labels(n, *label_size, num_classes))
    losses = head.loss(feats, *extra, samples, {})
    assert_uniform_loss(losses, num_classes)
    head.zero_grad()
    losses['loss_ce'].backward()
    for name, param in head.named_parameters():
        if param.requires_grad and not name.startswith('conv_seg'):
            assert param.grad is not None, f'{name} gets no gradient from the loss'
            assert torch.isfinite(param.grad).all(), f'{name} has a non-finite gradient'
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(head(feats, *extra), head(feats, *extra))
        metas = [dict(img_shape=label_size, pad_shape=label_size)] * n
        out = head.predict(feats, *extra, metas, {})
    assert out.shape == (n, num_classes, *label_size)
