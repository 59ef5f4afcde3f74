"""BaseSegmentor.postprocess_result: padding removed by ``img_padding_size`` (mmseg's test-time
key) before ``padding_size``, then flip and resize to ``ori_shape``."""
import pytest
import torch

from segdet.models.segmentors import BaseSegmentor
from segdet.models.segmentors.base import logits_to_ori_shape, padding_of
from segdet.structures import DataSample


class ToySegmentor(BaseSegmentor):
    """Only what postprocess_result reads: ``align_corners`` and ``decode_threshold``."""

    def __init__(self) -> None:
        super().__init__()
        self.align_corners = False
        self.decode_threshold = 0.5

    def extract_feat(self, inputs):
        return [inputs]

    def loss(self, inputs, data_samples):
        return {}

    def predict(self, inputs, data_samples=None):
        return self.postprocess_result(inputs, data_samples)

    def _forward(self, inputs, data_samples=None):
        return inputs


def _logits() -> torch.Tensor:
    """(1, 2, 4, 5) logits: channel 0 = 10 * row + col, channel 1 = its negative."""
    grid = torch.arange(4).view(4, 1) * 10 + torch.arange(5).view(1, 5)
    return torch.stack([grid, -grid]).float()[None]


def _sample(**meta) -> DataSample:
    return DataSample(metainfo=dict(img_path='x.png', **meta))


def test_img_padding_size_crops_right_and_bottom() -> None:
    # 3x3 image padded by 2 columns on the right and 1 row at the bottom.
    out = ToySegmentor().postprocess_result(
        _logits(), [_sample(ori_shape=(3, 3), img_shape=(3, 3), img_padding_size=[0, 2, 0, 1])])
    assert out[0].seg_logits.data.shape == (2, 3, 3)
    torch.testing.assert_close(out[0].seg_logits.data[0],
                               torch.tensor([[0., 1, 2], [10, 11, 12], [20, 21, 22]]))
    assert out[0].pred_sem_seg.data.shape == (1, 3, 3)


def test_img_padding_size_wins_over_padding_size() -> None:
    # left 1, right 1, top 1, bottom 0 -> rows 1..3, columns 1..3
    sample = _sample(ori_shape=(3, 3), img_shape=(3, 3), img_padding_size=(1, 1, 1, 0),
                     padding_size=[0, 0, 0, 0])
    out = ToySegmentor().postprocess_result(_logits(), [sample])
    torch.testing.assert_close(out[0].seg_logits.data[0],
                               torch.tensor([[11., 12, 13], [21, 22, 23], [31, 32, 33]]))
    assert padding_of(sample.metainfo) == (1, 1, 1, 0)


def test_padding_size_used_without_img_padding_size_and_none_means_no_crop() -> None:
    meta = dict(ori_shape=(2, 4), img_shape=(2, 4), padding_size=[0, 1, 0, 2])
    torch.testing.assert_close(logits_to_ori_shape(_logits()[0], meta, False)[0],
                               torch.tensor([[0., 1, 2, 3], [10, 11, 12, 13]]))
    full = logits_to_ori_shape(_logits()[0], dict(ori_shape=(4, 5)), False)
    torch.testing.assert_close(full, _logits()[0])
    assert padding_of({}) == (0, 0, 0, 0)


def test_crop_then_flip_then_resize() -> None:
    # crop to 3x3, undo a horizontal flip, then resize 3x3 -> 6x6 (nearest-like at the corners)
    meta = dict(ori_shape=(6, 6), img_shape=(3, 3), img_padding_size=[0, 2, 0, 1], flip=True,
                flip_direction='horizontal')
    out = logits_to_ori_shape(_logits()[0], meta, align_corners=True)
    assert out.shape == (2, 6, 6)
    # align_corners=True keeps the corner values: top-left is the cropped map's top-right.
    assert out[0, 0, 0].item() == 2.0 and out[0, -1, -1].item() == 20.0


def test_bad_padding_is_named() -> None:
    with pytest.raises(ValueError, match='img_padding_size'):
        padding_of(dict(img_padding_size=[0, 1, 0]))
    with pytest.raises(ValueError, match='padding_size'):
        padding_of(dict(padding_size=[0, -1, 0, 0]))
