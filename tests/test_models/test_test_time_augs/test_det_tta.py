"""DetTTAModel on a tiny random Mask R-CNN: flip TTA gives NMS over the union of the plain
prediction and the un-flipped prediction of the flipped image (boxes, scores, labels, masks);
one unflipped view gives the plain prediction."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData
from torchvision.ops import batched_nms as tv_batched_nms

from segdet.registry import MODELS

from detection_fixtures import tiny_two_stage_cfg

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction')
FLIP, NO_FLIP = dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)


def build_tta(max_per_img: int = 100):
    init_default_scope('segdet')
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='DetTTAModel', module=tiny_two_stage_cfg(with_mask=True),
        tta_cfg=dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=max_per_img)))
    model.module.init_weights()
    return model.eval()


def load(paths, pipeline) -> dict:
    init_default_scope('segdet')
    compose = Compose(pipeline)
    return pseudo_collate([compose(dict(img_path=str(p), img_id=i)) for i, p in enumerate(paths)])


def plain(detector, paths) -> list[InstanceData]:
    data = load(paths, [dict(type='LoadImageFromFile'),
                        dict(type='PackDetInputs', meta_keys=META_KEYS)])
    with torch.no_grad():
        return [s.pred_instances for s in detector.test_step(data)]


def tta(model, paths, flips):
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='TestTimeAug', transforms=[
                    flips, [dict(type='PackDetInputs', meta_keys=META_KEYS)]])]
    with torch.no_grad():
        return model.test_step(load(paths, pipeline))


def unflip(inst: InstanceData, width: int) -> InstanceData:
    """Boxes and masks predicted on a horizontally flipped image, mapped to the original."""
    out = inst.clone()
    out.bboxes = torch.stack([width - inst.bboxes[:, 2], inst.bboxes[:, 1],
                              width - inst.bboxes[:, 0], inst.bboxes[:, 3]], dim=1)
    out.masks = inst.masks.flip(-1)
    return out


@pytest.fixture(scope='module')
def images(tmp_path_factory) -> tuple[list[Path], list[Path]]:
    """A 64x96 image with three coloured blocks on noise, and its flipped copy on disk."""
    root = tmp_path_factory.mktemp('det_tta')
    rng = np.random.default_rng(0)
    img = rng.integers(0, 60, (64, 96, 3), dtype=np.uint8)
    for (x1, y1, x2, y2), colour in zip([(5, 8, 30, 40), (40, 20, 90, 50), (60, 2, 80, 60)],
                                        [(250, 30, 30), (30, 250, 30), (30, 30, 250)]):
        img[y1:y2, x1:x2] = colour
    cv2.imwrite(str(root / 'img.png'), img)
    cv2.imwrite(str(root / 'img_flipped.png'), np.ascontiguousarray(img[:, ::-1]))
    return [root / 'img.png'], [root / 'img_flipped.png']


def test_flip_tta_is_nms_over_plain_and_unflipped_flipped_predictions(images):
    model = build_tta()
    paths, flipped = images
    merged = tta(model, paths, [FLIP, NO_FLIP])[0]
    straight = plain(model.module, paths)[0]
    mirrored = unflip(plain(model.module, flipped)[0], width=96)
    assert len(straight) == len(mirrored) == 20  # test_cfg.rcnn.max_per_img, score_thr 0
    union = InstanceData.cat([mirrored, straight])  # view order: flipped first
    keep = tv_batched_nms(union.bboxes, union.scores, union.labels, 0.5)
    assert len(straight) < len(keep) < len(union), 'vacuous: nothing or everything suppressed'
    expected = union[keep]
    pred = merged.pred_instances
    torch.testing.assert_close(pred.bboxes, expected.bboxes)
    torch.testing.assert_close(pred.scores, expected.scores)
    assert torch.equal(pred.labels, expected.labels)
    assert pred.masks.shape == (len(keep), 64, 96) and torch.equal(pred.masks, expected.masks)
    assert merged.img_path == str(paths[0]) and merged.ori_shape == (64, 96)
    assert 'flip' not in merged.metainfo
    # The flipped view was mapped back: its boxes are not those of the flipped image.
    assert not torch.allclose(mirrored.bboxes, plain(model.module, flipped)[0].bboxes)


def test_one_unflipped_view_equals_plain_inference(images):
    model = build_tta()
    paths, _ = images
    pred = tta(model, paths, [NO_FLIP])[0].pred_instances
    ref = plain(model.module, paths)[0]
    for key in ('bboxes', 'scores', 'labels', 'masks'):
        assert torch.equal(pred[key], ref[key]), key


def test_max_per_img_caps_the_merged_detections(images):
    model = build_tta(max_per_img=7)
    paths, _ = images
    full = tta(build_tta(), paths, [FLIP, NO_FLIP])[0].pred_instances
    capped = tta(model, paths, [FLIP, NO_FLIP])[0].pred_instances
    assert len(capped) == 7
    torch.testing.assert_close(capped.bboxes, full.bboxes[:7])
