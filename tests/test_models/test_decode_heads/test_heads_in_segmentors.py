"""The heads inside EncoderDecoder / CascadeEncoderDecoder: the segmentors' head contract."""
import torch
from segmentation_fixtures import make_labels, make_samples
from torch import nn

from segdet.registry import MODELS


class TinyBackbone(nn.Module):
    """Four maps of 4, 8, 8, 16 channels at strides 2, 4, 4, 4."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.down = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.deep = nn.Conv2d(8, 16, 3, padding=1)

    def forward(self, x):
        c1 = self.stem(x)
        c2 = self.down(c1)
        return [c1, c2, c2.relu(), self.deep(c2)]


HEAD = dict(num_classes=3, dropout_ratio=0, norm_cfg=dict(type='BN'))


def test_encoder_decoder_with_aux_head():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='EncoderDecoder', backbone=dict(type=TinyBackbone),
        decode_head=dict(type='DepthwiseSeparableASPPHead', in_channels=16, in_index=3,
                         channels=8, dilations=(1, 2), c1_in_channels=4, c1_channels=4, **HEAD),
        auxiliary_head=dict(type='FCNHead', in_channels=8, in_index=2, channels=4,
                            num_convs=1, concat_input=False, **HEAD)))
    inputs = torch.randn(2, 3, 16, 16)
    samples = make_samples(make_labels(2, 16, 16, 3, ignore_frac=0.2))
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce', 'aux.acc_seg'}
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    model.eval()
    with torch.no_grad():
        preds = model(inputs, samples, mode='predict')
    assert preds[0].seg_logits.data.shape == (3, 16, 16)
    assert preds[0].pred_sem_seg.data.shape == (1, 16, 16)


def test_cascade_encoder_decoder_fcn_then_ocr():
    torch.manual_seed(0)
    widths = [4, 8, 8, 16]
    model = MODELS.build(dict(
        type='CascadeEncoderDecoder', num_stages=2, backbone=dict(type=TinyBackbone),
        decode_head=[
            dict(type='FCNHead', in_channels=widths, channels=sum(widths),
                 in_index=(0, 1, 2, 3), input_transform='resize_concat', kernel_size=1,
                 num_convs=1, concat_input=False, **HEAD),
            dict(type='OCRHead', in_channels=widths, in_index=(0, 1, 2, 3),
                 input_transform='resize_concat', channels=8, ocr_channels=4, **HEAD)]))
    inputs = torch.randn(2, 3, 16, 16)
    samples = make_samples(make_labels(2, 16, 16, 3))
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'decode_0.loss_ce', 'decode_0.acc_seg',
                           'decode_1.loss_ce', 'decode_1.acc_seg'}
    model.eval()
    with torch.no_grad():
        assert model(inputs, mode='tensor').shape == (2, 3, 8, 8)
        preds = model(inputs, samples, mode='predict')
    assert preds[1].pred_sem_seg.data.shape == (1, 16, 16)
