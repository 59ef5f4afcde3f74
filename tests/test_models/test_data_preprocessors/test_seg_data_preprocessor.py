import torch
from mmengine.structures import PixelData

from segdet.models.data_preprocessors import SegDataPreProcessor, padded_size, stack_batch
from segdet.structures import DataSample


def _sample(h, w, value=1):
    s = DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w)))
    s.gt_sem_seg = PixelData(data=torch.full((1, h, w), value, dtype=torch.int64))
    return s


def test_padded_size():
    assert padded_size(5, 7) == (5, 7)
    assert padded_size(5, 7, size=(8, 6)) == (8, 7)
    assert padded_size(5, 7, size_divisor=4) == (8, 8)
    assert padded_size(5, 7, size=(9, 9), size_divisor=4) == (12, 12)


def test_stack_batch_pads_images_and_labels_bottom_right():
    imgs = [torch.ones(3, 4, 5), torch.ones(3, 6, 3)]
    samples = [_sample(4, 5), _sample(6, 3)]
    batch, out = stack_batch(imgs, samples, size_divisor=4, pad_val=0, seg_pad_val=255)
    assert batch.shape == (2, 3, 8, 8)
    assert batch[0, :, :4, :5].eq(1).all() and batch[0, :, 4:].eq(0).all()
    assert out[0].padding_size == [0, 3, 0, 4] and out[1].padding_size == [0, 5, 0, 2]
    assert out[0].pad_shape == (8, 8)
    seg = out[1].gt_sem_seg.data
    assert seg.shape == (1, 8, 8) and seg[:, :6, :3].eq(1).all() and seg[:, 6:].eq(255).all()
    # the caller's samples are not modified
    assert samples[0].gt_sem_seg.data.shape == (1, 4, 5) and 'padding_size' not in samples[0]


def test_preprocessor_normalises_swaps_and_pads():
    pre = SegDataPreProcessor(mean=[10., 20., 30.], std=[2., 4., 5.], bgr_to_rgb=True,
                              size=(6, 6), seg_pad_val=255)
    img = torch.zeros(3, 4, 4, dtype=torch.uint8)
    img[0], img[1], img[2] = 30, 20, 10  # BGR
    data = dict(inputs=[img], data_samples=[_sample(4, 4)])
    out = pre(data, training=True)
    x = out['inputs']
    assert x.shape == (1, 3, 6, 6) and x.dtype == torch.float32
    # after the swap channel 0 holds 10 -> (10 - 10) / 2 = 0; channel 2 holds 30 -> 0
    assert torch.allclose(x[0, :, :4, :4], torch.zeros(3, 4, 4))
    assert out['data_samples'][0].batch_input_shape == (6, 6)
    # test mode does not pad to the training crop size
    out = pre(dict(inputs=[img], data_samples=[_sample(4, 4)]), training=False)
    assert out['inputs'].shape == (1, 3, 4, 4)
    assert out['data_samples'][0].padding_size == [0, 0, 0, 0]
