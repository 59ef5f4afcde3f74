"""Segmentor contract: one forward-mode dispatch, heads' loss() used by cascades with train_cfg,
a configured binary threshold of 0.0 kept."""
import pytest
import torch
from mmengine.registry import init_default_scope
from mmengine.structures import PixelData
from torch import nn

from segdet.models.decode_heads import FCNHead
from segdet.models.decode_heads.cascade_decode_head import BaseCascadeDecodeHead
from segdet.models.utils import FORWARD_MODES, dispatch_forward
from segdet.registry import MODELS
from segdet.structures import DataSample


class TwoMaps(nn.Module):
    """Maps of 4 and 8 channels at stride 2."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.b = nn.Conv2d(4, 8, 3, padding=1)

    def forward(self, x):
        a = self.a(x)
        return [a, self.b(a)]


class RecordingHead(FCNHead):
    """An FCN head that records the ``train_cfg`` its ``loss()`` receives."""

    def loss(self, inputs, batch_data_samples, train_cfg=None):
        self.seen_train_cfg = train_cfg
        return super().loss(inputs, batch_data_samples, train_cfg)


class RecordingRefineHead(BaseCascadeDecodeHead):
    """A cascade head adding a 1x1 projection of the previous logits; records its loss() call."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.proj = nn.Conv2d(self.num_classes, self.channels, 1)
        self.feat = nn.Conv2d(self.in_channels, self.channels, 1)

    def forward(self, inputs, prev_output):
        x = self._transform_inputs(inputs)
        return self.cls_seg(self.feat(x) + self.proj(prev_output))

    def loss(self, inputs, prev_output, batch_data_samples, train_cfg=None):
        self.seen_train_cfg = train_cfg
        self.seen_prev_shape = tuple(prev_output.shape)
        return super().loss(inputs, prev_output, batch_data_samples, train_cfg)


def _samples(n, h, w, num_classes, seed=0):
    g = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(n):
        s = DataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, h, w), generator=g))
        samples.append(s)
    return samples


def _head(cls, **kwargs):
    return dict(type=cls, in_channels=8, in_index=1, channels=4, num_classes=3,
                dropout_ratio=0, **kwargs)


def test_cascade_loss_goes_through_every_heads_loss_with_train_cfg():
    torch.manual_seed(0)
    init_default_scope('segdet')
    train_cfg = dict(num_points=7)
    model = MODELS.build(dict(
        type='CascadeEncoderDecoder', num_stages=3, backbone=dict(type=TwoMaps),
        decode_head=[_head(RecordingHead, num_convs=1, concat_input=False),
                     _head(RecordingRefineHead), _head(RecordingRefineHead)],
        train_cfg=train_cfg))
    losses = model(torch.randn(2, 3, 16, 16), _samples(2, 16, 16, 3), mode='loss')
    assert set(losses) == {f'decode_{i}.{k}' for i in range(3) for k in ('loss_ce', 'acc_seg')}
    for head in model.decode_head:
        assert head.seen_train_cfg == train_cfg
    assert model.decode_head[1].seen_prev_shape == (2, 3, 8, 8)
    assert model.decode_head[2].seen_prev_shape == (2, 3, 8, 8)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    # the last head's loss reaches the first head's weights through the previous logits
    assert model.decode_head[0].conv_seg.weight.grad.abs().sum() > 0


def test_a_configured_binary_threshold_of_zero_is_kept():
    torch.manual_seed(0)
    init_default_scope('segdet')
    model = MODELS.build(dict(
        type='EncoderDecoder', backbone=dict(type=TwoMaps),
        decode_head=_head('FCNHead', num_convs=1, concat_input=False, out_channels=1,
                          threshold=0.0,
                          loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True))))
    assert model.decode_threshold == 0.0
    model.eval()
    with torch.no_grad():
        pred = model(torch.randn(1, 3, 16, 16), _samples(1, 16, 16, 2), mode='predict')[0]
    # every sigmoid probability is > 0, so threshold 0.0 marks every pixel foreground
    assert bool((pred.pred_sem_seg.data == 1).all())


def test_one_forward_mode_error_for_segmentors_and_detectors():
    assert FORWARD_MODES == ('loss', 'predict', 'tensor')
    init_default_scope('segdet')
    segmentor = MODELS.build(dict(type='EncoderDecoder', backbone=dict(type=TwoMaps),
                                  decode_head=_head('FCNHead', num_convs=1)))
    with pytest.raises(ValueError, match=r"EncoderDecoder.forward: invalid mode 'train'; "
                                         r"expected one of 'loss', 'predict', 'tensor'"):
        segmentor(torch.zeros(1, 3, 8, 8), None, mode='train')

    class Recorder:
        def loss(self, inputs, samples):
            return 'loss'

        def predict(self, inputs, samples):
            return 'predict'

        def _forward(self, inputs, samples):
            return 'tensor'

    for mode in FORWARD_MODES:
        assert dispatch_forward(Recorder(), None, None, mode) == mode
    with pytest.raises(ValueError, match="Recorder.forward: invalid mode 'Loss'"):
        dispatch_forward(Recorder(), None, None, 'Loss')
