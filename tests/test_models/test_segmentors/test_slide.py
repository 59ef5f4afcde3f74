import pytest
import torch
from torch import nn

from segdet.models.segmentors.slide import slide_inference, slide_windows


def test_slide_windows_hand_computed():
    # h=10, crop 6, stride 4 -> starts 0, 4 (second window ends at 10)
    assert slide_windows(10, 10, (6, 6), (4, 4)) == [
        (0, 6, 0, 6), (0, 6, 4, 10), (4, 10, 0, 6), (4, 10, 4, 10)]
    # last window shifted back to end on the border: h=11 -> starts 0, 4, 5
    ys = sorted({w[0] for w in slide_windows(11, 6, (6, 6), (4, 4))})
    assert ys == [0, 4, 5]


def test_slide_windows_image_smaller_than_crop():
    assert slide_windows(5, 7, (8, 8), (4, 4)) == [(0, 5, 0, 7)]


def test_slide_windows_bad_args():
    with pytest.raises(ValueError, match='stride'):
        slide_windows(10, 10, (4, 4), (0, 4))


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 5, 3, padding=1)).eval()


def _one_at_a_time(model, inputs, crop, stride):
    n, _, h, w = inputs.shape
    out = torch.zeros(n, 5, h, w)
    count = torch.zeros(1, 1, h, w)
    for y1, y2, x1, x2 in slide_windows(h, w, crop, stride):
        for i in range(n):
            out[i:i + 1, :, y1:y2, x1:x2] += model(inputs[i:i + 1, :, y1:y2, x1:x2])
        count[:, :, y1:y2, x1:x2] += 1
    return out / count


@pytest.mark.parametrize('batch_size', [1, 2, 3, 100])
@pytest.mark.parametrize('shape', [(2, 3, 23, 31), (1, 3, 5, 6)])
def test_slide_batched_equals_one_crop_at_a_time(batch_size, shape):
    model = _model()
    inputs = torch.randn(*shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ref = _one_at_a_time(model, inputs, (8, 12), (5, 7))
        got = slide_inference(inputs, (8, 12), (5, 7), 5, model, batch_size=batch_size)
    assert got.shape == (shape[0], 5, shape[2], shape[3])
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_slide_averages_overlaps():
    # a model returning ones gives 1 everywhere, a model returning its input gives the input
    inputs = torch.arange(2 * 3 * 9 * 9, dtype=torch.float32).view(2, 3, 9, 9)
    got = slide_inference(inputs, (4, 4), (3, 3), 3, lambda x: x, batch_size=4)
    torch.testing.assert_close(got, inputs)
