"""mmcv's Resize, RandomResize and RandomFlip, resolved through segdet's registry, on label maps."""
import numpy as np
import pytest
from mmengine.registry import DefaultScope

from segdet.registry import TRANSFORMS


@pytest.fixture
def build():
    """Build transforms the way a Runner does: default scope 'segdet'."""
    with DefaultScope.overwrite_default_scope('segdet'):
        assert DefaultScope.get_current_instance().scope_name == 'segdet'
        yield TRANSFORMS.build


def results(seg: np.ndarray) -> dict:
    """An image whose first channel is 40 x the label, so alignment can be read back."""
    img = np.stack([seg * 40, seg * 40, np.full_like(seg, 7)], axis=-1).astype(np.uint8)
    h, w = seg.shape
    return dict(img=img, gt_seg_map=seg.astype(np.uint8), seg_fields=['gt_seg_map'],
                img_shape=(h, w), ori_shape=(h, w))


def blocks(h: int, w: int) -> np.ndarray:
    """A 2 x 4 grid of classes 0..5 (cells of h/2 x w/4)."""
    grid = np.array([[0, 1, 2, 3], [4, 5, 0, 1]], np.uint8)
    return grid.repeat(h // 2, axis=0).repeat(w // 4, axis=1)


def test_names_resolve_to_mmcv(build) -> None:
    import mmcv.transforms as mmcv_t
    # segdet's Resize / RandomFlip are mmcv's plus instance masks (det_transforms.py)
    assert isinstance(build(dict(type='Resize', scale=(8, 8))), mmcv_t.Resize)
    assert isinstance(build(dict(type='RandomFlip', prob=0.5)), mmcv_t.RandomFlip)
    assert type(build(dict(type='RandomResize', scale=(8, 8)))) is mmcv_t.RandomResize
    from segdet.datasets.transforms import LoadAnnotations, LoadImageFromFile
    assert type(build(dict(type='LoadAnnotations'))) is LoadAnnotations  # segdet's wins
    loader = build(dict(type='LoadImageFromFile'))  # mmcv's, with errors that name the file
    assert type(loader) is LoadImageFromFile and isinstance(loader, mmcv_t.LoadImageFromFile)


def test_resize_keep_ratio_uses_nearest_for_labels(build) -> None:
    seg = blocks(16, 32)
    out = build(dict(type='Resize', scale=(2048, 1024), keep_ratio=True))(results(seg))
    # (16, 32) fits (1024, 2048) at 64x exactly.
    assert out['img'].shape == (1024, 2048, 3) and out['gt_seg_map'].shape == (1024, 2048)
    assert out['img_shape'] == (1024, 2048) and out['scale_factor'] == (64.0, 64.0)
    np.testing.assert_array_equal(out['gt_seg_map'], seg.repeat(64, 0).repeat(64, 1))
    assert out['gt_seg_map'].dtype == np.uint8


def test_random_resize_keeps_labels_aligned(build) -> None:
    t = build(dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0),
                   keep_ratio=True))
    seg = blocks(32, 48)
    np.random.seed(0)
    sizes = set()
    for _ in range(3):
        out = t(results(seg))
        h, w = out['gt_seg_map'].shape
        sizes.add((h, w))
        assert out['img'].shape[:2] == (h, w)
        assert set(np.unique(out['gt_seg_map'])) <= set(range(6))  # no interpolated labels
        # Inside each cell (away from the bilinear image edges) image and label agree.
        for cy in (h // 4, 3 * h // 4):
            for cx in (w // 8, 3 * w // 8, 5 * w // 8, 7 * w // 8):
                assert out['img'][cy, cx, 0] == 40 * out['gt_seg_map'][cy, cx]
        # Scales between 0.5 x and 2 x of (2048, 1024), aspect ratio kept.
        assert 512 * 0.99 <= min(h, w * 32 / 48) and h <= 2048 * 1.01
    assert len(sizes) == 3


def test_random_flip_flips_image_and_label_together(build) -> None:
    seg = blocks(4, 8)
    out = build(dict(type='RandomFlip', prob=1.0))(results(seg))
    assert out['flip'] is True and out['flip_direction'] == 'horizontal'
    np.testing.assert_array_equal(out['gt_seg_map'], seg[:, ::-1])
    np.testing.assert_array_equal(out['img'][..., 0], 40 * seg[:, ::-1])
    t = build(dict(type='RandomFlip', prob=0.5))
    np.random.seed(0)
    flips = []
    for _ in range(20):
        out = t(results(seg))
        flips.append(out['flip'])
        np.testing.assert_array_equal(out['img'][..., 0], 40 * out['gt_seg_map'])
    assert 0 < sum(flips) < 20
