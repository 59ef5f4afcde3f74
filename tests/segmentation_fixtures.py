"""Shared helpers of the segmentation tests: random features, label maps and samples,
:func:`assert_decode_head_contract`, the checks every decode head must pass (new heads add a
case to tests/test_models/test_decode_heads/test_head_contract.py), and
:func:`assert_loss_falls`, the loss-falls check of every head and backbone
(:func:`assert_head_loss_falls` for a decode head on :func:`label_encoding_batch`), and
:func:`assert_runs_in_encoder_decoder`, a head inside a tiny ``EncoderDecoder``."""
import math
from typing import Callable

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from torch import Tensor, nn

from segdet.registry import MODELS
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


def label_encoding_batch(n: int = 2, h: int = 8, w: int = 8, num_classes: int = 3,
                         channels: int = 4, seed: int = 1) -> tuple[Tensor, list[DataSample]]:
    """A fixed batch whose features encode the label: (N, channels, H, W) one-hot features of
    random (N, H, W) labels, and their samples. A head only has to learn the mapping."""
    labels = make_labels(n, h, w, num_classes, seed=seed)
    feats = F.one_hot(labels, channels).permute(0, 3, 1, 2).float()
    return feats, make_samples(labels)


def assert_loss_falls(module: torch.nn.Module, loss_fn: Callable[[], dict], steps: int = 10,
                      lr: float = 0.05, factor: float = 2.0) -> list[float]:
    """Adam on ``module``'s parameters for ``steps`` steps of ``loss_fn()`` (a dict of losses,
    every key containing 'loss' summed, as the segmentor's parse_losses does) on one fixed
    batch; the last loss must be below the first divided by ``factor``.

    Returns:
        The loss of every step.
    """
    optim = torch.optim.Adam(module.parameters(), lr=lr)
    values = []
    for _ in range(steps):
        loss = sum(v for k, v in loss_fn().items() if 'loss' in k)
        optim.zero_grad()
        loss.backward()
        optim.step()
        values.append(loss.item())
    assert values[-1] < values[0] / factor, values
    return values


def assert_head_loss_falls(head, inputs: Callable[[Tensor], list[Tensor]] = lambda x: [x],
                           **batch) -> list[float]:
    """:func:`assert_loss_falls` of a decode head on the :func:`label_encoding_batch`
    (``batch`` passed on), every loss of ``head.loss`` summed.

    Args:
        head: The decode head.
        inputs: Maps the batch's (N, C, H, W) features to the head's list of inputs (default:
            the one map).
        **batch: Keyword arguments of :func:`label_encoding_batch`.

    Returns:
        The loss of every step.
    """
    feats, samples = label_encoding_batch(**batch)
    feats = inputs(feats)
    return assert_loss_falls(head, lambda: head.loss(feats, samples, {}))


class TwoMapBackbone(nn.Module):
    """A tiny backbone for heads inside segmentors: maps of 4 and 8 channels at stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.deep = nn.Conv2d(4, 8, 3, padding=1)

    def forward(self, x: Tensor) -> list[Tensor]:
        c1 = self.stem(x)
        return [c1, self.deep(c1)]


def assert_runs_in_encoder_decoder(decode_head: dict, loss_keys: set[str]) -> None:
    """An ``EncoderDecoder`` of :class:`TwoMapBackbone` and ``decode_head`` (a config with
    ``num_classes``) on a batch of two 16x16 images: ``loss`` returns exactly the
    ``decode.``-prefixed ``loss_keys``, ``predict`` a (1, 16, 16) label map per image."""
    model = MODELS.build(dict(type='EncoderDecoder', backbone=dict(type=TwoMapBackbone),
                              decode_head=decode_head))
    inputs = torch.randn(2, 3, 16, 16)
    samples = make_samples(make_labels(2, 16, 16, decode_head['num_classes']))
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {f'decode.{k}' for k in loss_keys}, sorted(losses)
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert preds[0].pred_sem_seg.data.shape == (1, 16, 16)


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
                                prev_output: Tensor = None,
                                classifiers: tuple[str, ...] = ('conv_seg', ),
                                loss_prefixes: tuple[str, ...] = ('', ),
                                extra_losses: tuple[str, ...] = ()) -> None:
    """What ``BaseDecodeHead`` promises, checked on one head.

    - ``forward`` gives (N, num_classes, h, w) float logits; in eval mode it is deterministic;
    - with ``conv_seg`` zeroed, ``loss`` is exactly log(num_classes) (softmax CE of uniform
      logits, resized to the label size) with ``acc_seg`` in [0, 100], in float32;
    - the loss reaches every trainable parameter of the head but ``conv_seg`` (zeroed) with a
      finite gradient;
    - ``predict`` returns logits at the metainfo's ``pad_shape``.

    A head with several outputs in training (EncNet's SE logits, DANet's three logits) returns
    a tuple from ``forward`` whose first item is the segmentation logits; it names its
    classifiers (all zeroed), the prefixes of its ``loss_ce`` / ``acc_seg`` pairs, and its
    other loss keys (checked finite; every loss is summed for the gradient check).

    Args:
        head: A decode head (or a cascade head when ``prev_output`` is given).
        feats: Multi-level (N, C_i, H_i, W_i) features the head reads.
        num_classes: The head's number of classes.
        label_size: (H, W) of the ground truth (the logits are resized to it).
        prev_output: (N, C, h, w) logits of a previous stage, for cascade heads.
        classifiers: Names of the head's 1x1 classifier convs.
        loss_prefixes: Prefixes of the ``loss_ce`` / ``acc_seg`` keys (DANet: 'pam_cam.', ...).
        extra_losses: Other loss keys the head returns (EncNet: 'loss_se').
    """
    extra = () if prev_output is None else (prev_output, )
    n = feats[0].shape[0]
    head.train()
    logits = head(feats, *extra)
    if isinstance(logits, tuple):
        logits = logits[0]
    assert logits.dim() == 4 and logits.shape[:2] == (n, num_classes), tuple(logits.shape)
    assert logits.dtype == torch.float32
    with torch.no_grad():
        for name in classifiers:
            getattr(head, name).weight.zero_()
            getattr(head, name).bias.zero_()
    samples = make_samples(make_labels(n, *label_size, num_classes))
    losses = head.loss(feats, *extra, samples, {})
    assert set(losses) == {p + k for p in loss_prefixes for k in ('loss_ce', 'acc_seg')} | \
        set(extra_losses), sorted(losses)
    for prefix in loss_prefixes:
        assert_uniform_loss({k: losses[prefix + k] for k in ('loss_ce', 'acc_seg')},
                            num_classes)
    for key in extra_losses:
        assert losses[key].dtype == torch.float32 and torch.isfinite(losses[key]).all(), key
    head.zero_grad()
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    for name, param in head.named_parameters():
        if param.requires_grad and not name.startswith(classifiers):
            assert param.grad is not None, f'{name} gets no gradient from the loss'
            assert torch.isfinite(param.grad).all(), f'{name} has a non-finite gradient'
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(head(feats, *extra), head(feats, *extra))
        metas = [dict(img_shape=label_size, pad_shape=label_size)] * n
        out = head.predict(feats, *extra, metas, {})
    assert out.shape == (n, num_classes, *label_size)


def assert_point_head_contract(head, feats: list[Tensor], prev_output: Tensor,
                               num_classes: int, train_cfg: dict, test_cfg: dict,
                               label_size: tuple[int, int] = (24, 24)) -> None:
    """:func:`assert_decode_head_contract` for a point head (PointRend's ``PointHead``), whose
    ``forward`` maps point features to point logits and whose classifier is ``fc_seg``.

    - ``forward`` of (N, C_fine, P) and (N, num_classes, P) point features gives
      (N, num_classes, P) float logits; in eval mode it is deterministic;
    - with ``fc_seg`` zeroed, ``loss`` is exactly log(num_classes) (``pointloss_ce``) with
      ``acc_point`` in [0, 100], in float32;
    - the loss reaches every trainable parameter but ``fc_seg`` with a finite gradient;
    - ``predict`` returns logits at the metainfo's ``pad_shape``.
    """
    n, num_points = feats[0].shape[0], 5
    fine = torch.randn(n, sum(head.in_channels), num_points)
    coarse = torch.randn(n, num_classes, num_points)
    head.train()
    logits = head(fine, coarse)
    assert logits.shape == (n, num_classes, num_points) and logits.dtype == torch.float32
    with torch.no_grad():
        head.fc_seg.weight.zero_()
        head.fc_seg.bias.zero_()
    samples = make_samples(make_labels(n, *label_size, num_classes))
    losses = head.loss(feats, prev_output, samples, train_cfg)
    assert set(losses) == {'pointloss_ce', 'acc_point'}
    assert losses['pointloss_ce'].dtype == torch.float32
    assert math.isclose(losses['pointloss_ce'].item(), math.log(num_classes), rel_tol=1e-6)
    assert 0.0 <= losses['acc_point'].item() <= 100.0
    head.zero_grad()
    losses['pointloss_ce'].backward()
    for name, param in head.named_parameters():
        if param.requires_grad and not name.startswith('fc_seg'):
            assert param.grad is not None, f'{name} gets no gradient from the loss'
            assert torch.isfinite(param.grad).all(), f'{name} has a non-finite gradient'
    head.eval()
    with torch.no_grad():
        torch.testing.assert_close(head(fine, coarse), head(fine, coarse))
        metas = [dict(img_shape=label_size, pad_shape=label_size)] * n
        out = head.predict(feats, prev_output, metas, test_cfg)
    assert out.shape == (n, num_classes, *label_size)
