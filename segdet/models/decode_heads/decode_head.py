"""BaseDecodeHead: what every semantic-segmentation head shares.

Call graph::

    loss():    forward() -> loss_by_feat()      (logits -> label size, losses + acc_seg)
    predict(): forward() -> predict_by_feat()   (logits -> pad_shape / img_shape)

A subclass builds its layers in ``__init__`` and implements ``forward(inputs)`` returning
``(N, out_channels, h, w)`` logits, usually ``cls_seg(self._forward_feature(inputs))``.
"""
import contextlib
import copy
import warnings
from abc import ABCMeta, abstractmethod
from typing import ContextManager, Optional, Sequence, Union

import torch
from mmengine.model import BaseModule
from torch import Tensor, nn

from segdet.models.utils import resize
from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils.arg_checks import check_int

from ..losses import accuracy, binary_accuracy
from ..task_modules.samplers import build_pixel_sampler

INPUT_TRANSFORMS = ('resize_concat', 'multiple_select')
# mmseg's default for a one-channel (binary) head without a threshold.
_DEFAULT_BINARY_THRESHOLD = 0.3


def transform_inputs(inputs: Sequence[Tensor],
                     in_index: Union[int, Sequence[int]],
                     input_transform: Optional[str],
                     align_corners: bool) -> Union[Tensor, list[Tensor]]:
    """Select the feature maps a head reads.

    Args:
        inputs: Multi-level features, each (N, C_i, H_i, W_i).
        in_index: Index (no transform) or indices (with a transform) into ``inputs``.
        input_transform: None: ``inputs[in_index]``; 'multiple_select': the list of the
            selected maps; 'resize_concat': the selected maps resized (bilinear) to the
            first one's size and concatenated along channels.
        align_corners: ``align_corners`` of the bilinear resize.

    Returns:
        A (N, C, H, W) tensor, or a list of them for 'multiple_select'.
    """
    try:
        if input_transform is None:
            return inputs[in_index]
        selected = [inputs[i] for i in in_index]
    except IndexError:
        raise IndexError(f'in_index={in_index} is out of range for {len(inputs)} input '
                         'feature maps') from None
    if input_transform == 'multiple_select':
        return selected
    size = selected[0].shape[2:]
    return torch.cat([
        x if x.shape[2:] == size else
        resize(x, size=size, mode='bilinear', align_corners=align_corners)
        for x in selected], dim=1)


def stack_gt_sem_seg(batch_data_samples: SampleList) -> Tensor:
    """Stack the ``gt_sem_seg`` of a batch.

    Args:
        batch_data_samples: Samples whose ``gt_sem_seg.data`` is (1, H, W) int64, all of the
            same (padded) size.

    Returns:
        (N, H, W) int64 labels.
    """
    labels = [s.gt_sem_seg.data for s in batch_data_samples]
    shapes = {tuple(x.shape) for x in labels}
    if len(shapes) != 1 or len(next(iter(shapes))) != 3 or next(iter(shapes))[0] != 1:
        raise ValueError(f'gt_sem_seg.data of a batch must all be (1, H, W) of one size, got '
                         f'shapes {sorted(shapes)}')
    return torch.stack(labels, dim=0).squeeze(1).long()


def _fp32_context(device: torch.device) -> ContextManager:
    """Autocast switched off on devices that have it, so losses run in float32."""
    if device.type in ('cpu', 'cuda'):
        return torch.autocast(device_type=device.type, enabled=False)
    return contextlib.nullcontext()


class BaseDecodeHead(BaseModule, metaclass=ABCMeta):
    """Base of decode heads: input selection, classifier, losses and prediction resizing.

    Args:
        in_channels: Channels of the input map, or of each selected map with a transform.
        channels: Channels of the last feature map, the input of ``conv_seg``.
        num_classes: Number of classes.
        out_channels: Output channels of ``conv_seg``: ``num_classes`` (default) or 1 for
            binary segmentation (sigmoid; then every loss needs ``use_sigmoid=True``: the
            default softmax loss is refused with a ``ValueError``, see
            docs/customize_models.md, "Binary segmentation").
        threshold: Probability threshold of the binary case (default 0.3 when
            ``out_channels == 1``).
        dropout_ratio: ``Dropout2d`` before ``conv_seg``; <= 0 disables it.
        conv_cfg: Conv layer config of ``ConvModule``s.
        norm_cfg: Norm layer config (e.g. ``dict(type='SyncBN', requires_grad=True)``).
        act_cfg: Activation config.
        in_index: Index of the input map, or indices with ``input_transform``.
        input_transform: None, 'resize_concat' or 'multiple_select' (see
            :func:`transform_inputs`).
        loss_decode: A loss config or a list of them; each loss's ``loss_name`` is its key
            (losses sharing a name are summed).
        ignore_index: Label value ignored by the losses and the accuracy.
        sampler: Pixel sampler config, e.g. ``dict(type='OHEMPixelSampler', thresh=0.7,
            min_kept=10000)``, built with this head as ``context``; its per-pixel weights
            weight every loss. None: every pixel weighs 1.
        align_corners: ``align_corners`` of every bilinear resize of the head.
        init_cfg: Initialisation config (normal std 0.01 on ``conv_seg`` by default).
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 channels: int,
                 *,
                 num_classes: int,
                 out_channels: Optional[int] = None,
                 threshold: Optional[float] = None,
                 dropout_ratio: float = 0.1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: Optional[dict] = None,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 in_index: Union[int, Sequence[int]] = -1,
                 input_transform: Optional[str] = None,
                 loss_decode: Union[dict, Sequence[dict]] = dict(
                     type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
                 ignore_index: Optional[int] = 255,
                 sampler: Optional[dict] = None,
                 align_corners: bool = False,
                 init_cfg: Optional[Union[dict, list]] = dict(
                     type='Normal', std=0.01, override=dict(name='conv_seg'))) -> None:
        super().__init__(copy.deepcopy(init_cfg))
        name = type(self).__name__
        self._init_inputs(in_channels, in_index, input_transform)
        check_int(channels, f'{name}: channels', 1)
        check_int(num_classes, f'{name}: num_classes', 1)
        if out_channels is None:
            out_channels = num_classes
        if out_channels not in (num_classes, 1):
            raise ValueError(f'{name}: out_channels must equal num_classes ({num_classes}) or be '
                             f'1 for binary segmentation, got out_channels={out_channels}')
        if out_channels == 1 and threshold is None:
            warnings.warn(f'{name}: threshold not set for the binary head (out_channels=1); '
                          f'using {_DEFAULT_BINARY_THRESHOLD}')
            threshold = _DEFAULT_BINARY_THRESHOLD
        if dropout_ratio >= 1:
            raise ValueError(f'{name}: dropout_ratio must be < 1 (<= 0 disables dropout), got '
                             f'{dropout_ratio}')
        self.channels = channels
        self.num_classes = num_classes
        self.out_channels = out_channels
        self.threshold = threshold
        self.dropout_ratio = dropout_ratio
        self.conv_cfg = copy.deepcopy(conv_cfg)
        self.norm_cfg = copy.deepcopy(norm_cfg)
        self.act_cfg = copy.deepcopy(act_cfg)
        self.ignore_index = ignore_index
        self.align_corners = align_corners
        self.loss_decode = self._build_losses(loss_decode)
        self.sampler = (None if sampler is None
                        else build_pixel_sampler(copy.deepcopy(sampler), context=self))

        self.conv_seg = nn.Conv2d(channels, out_channels, kernel_size=1)
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else None

    def _init_inputs(self, in_channels: Union[int, Sequence[int]],
                     in_index: Union[int, Sequence[int]],
                     input_transform: Optional[str]) -> None:
        """Check that in_channels / in_index / input_transform agree and store them."""
        name = type(self).__name__
        if input_transform is not None and input_transform not in INPUT_TRANSFORMS:
            raise ValueError(f'{name}: input_transform must be None or one of '
                             f'{INPUT_TRANSFORMS}, got {input_transform!r}')
        if input_transform is None:
            if not isinstance(in_channels, int) or not isinstance(in_index, int):
                raise TypeError(f'{name}: without input_transform, in_channels and in_index '
                                f'must be ints, got in_channels={in_channels!r}, '
                                f'in_index={in_index!r}')
            self.in_channels: Union[int, list[int]] = in_channels
        else:
            if not isinstance(in_channels, (list, tuple)) or \
                    not isinstance(in_index, (list, tuple)):
                raise TypeError(f"{name}: input_transform='{input_transform}' needs in_channels "
                                'and in_index as lists/tuples, got '
                                f'in_channels={in_channels!r}, in_index={in_index!r}')
            if len(in_channels) != len(in_index):
                raise ValueError(f"{name}: input_transform='{input_transform}' needs in_channels "
                                 'and in_index of equal length, got '
                                 f'in_channels={in_channels!r}, in_index={in_index!r}')
            self.in_channels = (sum(in_channels) if input_transform == 'resize_concat'
                                else list(in_channels))
        self.in_index = in_index
        self.input_transform = input_transform

    def _build_losses(self, loss_decode: Union[dict, Sequence[dict]]) -> nn.Module:
        """One loss module, or an ``nn.ModuleList`` for a list of configs."""
        name = type(self).__name__
        if isinstance(loss_decode, dict):
            losses: nn.Module = MODELS.build(copy.deepcopy(loss_decode))
            modules = [losses]
        elif isinstance(loss_decode, (list, tuple)) and \
                all(isinstance(c, dict) for c in loss_decode):
            if not loss_decode:
                raise ValueError(f'{name}: loss_decode must be a dict or a non-empty list of '
                                 f'dicts, got an empty {type(loss_decode).__name__}')
            losses = nn.ModuleList([MODELS.build(copy.deepcopy(c)) for c in loss_decode])
            modules = list(losses)
        else:
            raise TypeError(f'{name}: loss_decode must be a dict or a non-empty list of dicts, '
                            f'got {loss_decode!r}')
        for loss in modules:
            if not hasattr(loss, 'loss_name'):
                raise TypeError(f'{name}: loss_decode entry {type(loss).__name__} has no '
                                '`loss_name`')
            if self.out_channels == 1 and getattr(loss, 'use_sigmoid', None) is False:
                # mmseg builds this head and trains nothing: a softmax over one channel is 1,
                # so label 0 gives loss 0 with zero gradient and label 1 is an out-of-range
                # target (IndexError on CPU, device-side assert on CUDA).
                raise ValueError(
                    f'{name}: out_channels=1 (binary segmentation) needs a sigmoid loss, but '
                    f'loss_decode {type(loss).__name__} has use_sigmoid=False (the default '
                    'loss_decode): a softmax over one channel has zero loss and zero gradient. '
                    "Set loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, ...), or "
                    f'out_channels=num_classes ({self.num_classes}) for a softmax head '
                    '(docs/customize_models.md#binary-segmentation-out_channels1)')
        return losses

    def extra_repr(self) -> str:
        return (f'input_transform={self.input_transform}, ignore_index={self.ignore_index}, '
                f'align_corners={self.align_corners}')

    def _transform_inputs(self, inputs: Sequence[Tensor]) -> Union[Tensor, list[Tensor]]:
        """Input map(s) of this head; see :func:`transform_inputs`."""
        return transform_inputs(inputs, self.in_index, self.input_transform, self.align_corners)

    @abstractmethod
    def forward(self, inputs: Sequence[Tensor]) -> Tensor:
        """Args: inputs, multi-level features. Returns: (N, out_channels, h, w) logits."""

    def cls_seg(self, feat: Tensor) -> Tensor:
        """(N, channels, h, w) features -> (N, out_channels, h, w) logits (dropout, 1x1 conv)."""
        if self.dropout is not None:
            feat = self.dropout(feat)
        return self.conv_seg(feat)

    def loss(self, inputs: Sequence[Tensor], batch_data_samples: SampleList,
             train_cfg: Optional[dict] = None) -> dict[str, Tensor]:
        """Losses of a batch: ``forward`` then ``loss_by_feat``.

        Args:
            inputs: Multi-level features.
            batch_data_samples: Samples with ``gt_sem_seg``.
            train_cfg: Training options (unused by the base head).

        Returns:
            ``{loss_name: 0-dim tensor, ..., 'acc_seg': (1,) tensor in percent}``.
        """
        return self.loss_by_feat(self.forward(inputs), batch_data_samples)

    def predict(self, inputs: Sequence[Tensor], batch_img_metas: list[dict],
                test_cfg: Optional[dict] = None) -> Tensor:
        """Logits at the input size: ``forward`` then ``predict_by_feat``.

        Returns:
            (N, out_channels, H, W) float logits, H, W from ``pad_shape`` or ``img_shape``.
        """
        return self.predict_by_feat(self.forward(inputs), batch_img_metas)

    def _loss_modules(self) -> list[nn.Module]:
        if isinstance(self.loss_decode, nn.ModuleList):
            return list(self.loss_decode)
        return [self.loss_decode]

    def loss_by_feat(self, seg_logits: Tensor,
                     batch_data_samples: SampleList) -> dict[str, Tensor]:
        """Losses of logits against the stacked ground truth.

        The logits are cast to float32 and resized (bilinear, ``align_corners``) to the label
        size, and every loss runs with autocast off. With a ``sampler``, its (N, H, W) pixel
        weights are every loss's ``weight``.

        Args:
            seg_logits: (N, out_channels, h, w) logits from ``forward``.
            batch_data_samples: Samples with ``gt_sem_seg.data`` (1, H, W) int64.

        Returns:
            ``{loss_name: loss, ..., 'acc_seg': (1,) accuracy in percent}``.
        """
        seg_label = stack_gt_sem_seg(batch_data_samples).to(seg_logits.device)
        losses: dict[str, Tensor] = {}
        with _fp32_context(seg_logits.device):
            seg_logits = seg_logits.float()
            if seg_logits.shape[2:] != seg_label.shape[1:]:
                seg_logits = resize(seg_logits, size=seg_label.shape[1:], mode='bilinear',
                                    align_corners=self.align_corners)
            seg_weight = (None if self.sampler is None
                          else self.sampler.sample(seg_logits, seg_label))
            for loss_module in self._loss_modules():
                value = loss_module(seg_logits, seg_label, weight=seg_weight,
                                    ignore_index=self.ignore_index)
                key = loss_module.loss_name
                losses[key] = losses[key] + value if key in losses else value
            with torch.no_grad():
                if self.out_channels == 1:
                    losses['acc_seg'] = binary_accuracy(seg_logits, seg_label, self.threshold,
                                                        ignore_index=self.ignore_index)
                else:
                    losses['acc_seg'] = accuracy(seg_logits, seg_label,
                                                 ignore_index=self.ignore_index)
        return losses

    def predict_by_feat(self, seg_logits: Tensor, batch_img_metas: list[dict]) -> Tensor:
        """Resize logits to the batch input size.

        Args:
            seg_logits: (N, C, h, w) logits from ``forward``.
            batch_img_metas: Metainfo of each image; the first one's ``pad_shape`` (else
                ``img_shape``) gives the size.

        Returns:
            (N, C, H, W) logits.
        """
        meta = batch_img_metas[0]
        size = meta.get('pad_shape', meta.get('img_shape'))
        if size is None:
            raise KeyError(f'{type(self).__name__}.predict needs pad_shape or img_shape in the '
                           f'image metainfo, got keys {sorted(meta)}')
        size = tuple(int(s) for s in size[:2])
        if tuple(seg_logits.shape[2:]) == size:
            return seg_logits
        return resize(seg_logits, size=size, mode='bilinear', align_corners=self.align_corners)
