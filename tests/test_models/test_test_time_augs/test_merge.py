"""The pure merging functions of test-time augmentation: shared metainfo, the reference view,
mean probabilities (mmseg) and pooled re-NMSed instances (mmdet), and DetTTAModel's tta_cfg."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData
from torchvision.ops import batched_nms as tv_batched_nms

from segdet.models.test_time_augs import (mean_probabilities, merge_instances, merged_sample,
                                          shared_metainfo)
from segdet.models.test_time_augs.det_tta import DEFAULT_TTA_CFG, check_tta_cfg
from segdet.models.test_time_augs.merge import reference_view
from segdet.structures import DataSample


def view(flip: bool, scale: float, **extra) -> DataSample:
    sample = DataSample(metainfo=dict(img_path='a.png', ori_shape=(4, 6), flip=flip,
                                      img_shape=(round(4 * scale), round(6 * scale)),
                                      scale_factor=(scale, scale), **extra))
    sample.gt_sem_seg = PixelData(data=torch.full((1, 4, 6), int(flip)))
    return sample


def test_shared_metainfo_keeps_what_every_view_agrees_on():
    views = [view(False, 0.5, arr=np.arange(3)), view(True, 0.5, arr=np.arange(3)),
             view(False, 1.5, arr=np.arange(3))]
    assert shared_metainfo(views).keys() == {'img_path', 'ori_shape', 'arr'}
    views.append(view(False, 1.0, arr=np.arange(4)))  # arrays compared element-wise
    assert shared_metainfo(views).keys() == {'img_path', 'ori_shape'}
    assert shared_metainfo(views[:1]) == views[0].metainfo


def test_merged_sample_takes_the_first_unflipped_views_ground_truth():
    views = [view(True, 0.5), view(True, 1.0), view(False, 1.0)]
    assert reference_view(views) is views[2]
    out = merged_sample(views)
    assert out.gt_sem_seg.data.unique().tolist() == [0]  # the unflipped view's
    assert 'pred_sem_seg' not in out and 'flip' not in out.metainfo
    assert reference_view(views[:2]) is views[0]  # all flipped: the first
    assert all(v.metainfo['img_path'] == 'a.png' for v in views)  # views unchanged


def test_mean_probabilities_averages_softmax_not_logits():
    a = torch.tensor([10.0, 0.0, 0.0]).view(3, 1, 1)
    b = torch.tensor([0.0, 1.0, 0.0]).view(3, 1, 1)
    got = mean_probabilities([a, b])
    torch.testing.assert_close(got, (a.softmax(0) + b.softmax(0)) / 2)
    # Averaged logits would pick class 0 everywhere too, but with another probability.
    assert not torch.allclose(got, ((a + b) / 2).softmax(0))
    # One channel: the stored values are sigmoid probabilities, averaged as they are.
    p, q = torch.full((1, 2, 2), 0.2), torch.full((1, 2, 2), 0.6)
    torch.testing.assert_close(mean_probabilities([p, q]), torch.full((1, 2, 2), 0.4))


def test_mean_probabilities_bad_views():
    with pytest.raises(ValueError, match='no test-time augmentation views to merge for x.png'):
        mean_probabilities([], where='x.png')
    with pytest.raises(ValueError, match=r'x.png have seg_logits of different shapes'):
        mean_probabilities([torch.zeros(3, 4, 4), torch.zeros(3, 4, 5)], where='x.png')


def random_instances(n: int, seed: int, with_masks: bool = True) -> InstanceData:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g) * 40
    wh = torch.rand(n, 2, generator=g) * 20 + 4
    inst = InstanceData(bboxes=torch.cat([xy, xy + wh], 1), scores=torch.rand(n, generator=g),
                        labels=torch.randint(0, 3, (n, ), generator=g))
    if with_masks:
        inst.masks = torch.rand(n, 8, 8, generator=g) > 0.5
    return inst


def test_merge_instances_is_nms_over_the_pooled_views():
    views = [random_instances(30, 0), random_instances(25, 1), random_instances(0, 2)]
    merged = merge_instances(views, iou_threshold=0.5, max_per_img=100)
    boxes = torch.cat([v.bboxes for v in views])
    scores = torch.cat([v.scores for v in views])
    labels = torch.cat([v.labels for v in views])
    masks = torch.cat([v.masks for v in views])
    keep = tv_batched_nms(boxes, scores, labels, 0.5)
    assert 0 < len(keep) < 55  # some suppressed, some kept
    torch.testing.assert_close(merged.bboxes, boxes[keep])
    torch.testing.assert_close(merged.scores, scores[keep])
    assert torch.equal(merged.labels, labels[keep]) and torch.equal(merged.masks, masks[keep])
    assert bool((merged.scores[:-1] >= merged.scores[1:]).all())
    # max_per_img keeps the best; class-agnostic NMS suppresses across labels.
    top = merge_instances(views, 0.5, max_per_img=5)
    torch.testing.assert_close(top.bboxes, boxes[keep[:5]])
    agnostic = merge_instances(views, 0.5, 100, class_agnostic=True)
    assert torch.equal(agnostic.bboxes, boxes[tv_batched_nms(boxes, scores,
                                                             torch.zeros_like(labels), 0.5)])
    assert len(agnostic) < len(merged)


def test_merge_instances_of_one_view_after_nms_keeps_it_all():
    # A detector's own NMS left no same-class pair above the threshold: nothing more to drop.
    inst = random_instances(40, 3)
    keep = tv_batched_nms(inst.bboxes, inst.scores, inst.labels, 0.5)
    plain = inst[keep]
    merged = merge_instances([plain], 0.5, 100)
    assert torch.equal(merged.bboxes, plain.bboxes) and torch.equal(merged.masks, plain.masks)


def test_merge_instances_bad_views():
    with pytest.raises(ValueError, match='must all predict bboxes, scores and labels'):
        merge_instances([random_instances(3, 0), random_instances(3, 1, with_masks=False)],
                        0.5, 100, where='x.png')
    with pytest.raises(ValueError, match='no test-time augmentation views'):
        merge_instances([], 0.5, 100)


def test_check_tta_cfg():
    assert check_tta_cfg(DEFAULT_TTA_CFG) == (0.5, 100, False)
    assert check_tta_cfg(dict(nms=dict(type='nms', iou_threshold=0.6, class_agnostic=True),
                              max_per_img=10)) == (0.6, 10, True)
    with pytest.raises(NotImplementedError, match=r"tta_cfg.nms.type='soft_nms' is not"):
        check_tta_cfg(dict(nms=dict(type='soft_nms', iou_threshold=0.5), max_per_img=100))
    with pytest.raises(KeyError, match=r"tta_cfg lacks \['max_per_img'\]"):
        check_tta_cfg(dict(nms=dict(type='nms', iou_threshold=0.5)))
    with pytest.raises(TypeError, match=r"tta_cfg.nms has unknown keys \['iou_thr'\]"):
        check_tta_cfg(dict(nms=dict(type='nms', iou_thr=0.5), max_per_img=100))
    with pytest.raises(KeyError, match='tta_cfg.nms lacks iou_threshold'):
        check_tta_cfg(dict(nms=dict(type='nms'), max_per_img=100))
    with pytest.raises(ValueError, match='iou_threshold must be in'):
        check_tta_cfg(dict(nms=dict(type='nms', iou_threshold=1.5), max_per_img=100))
    with pytest.raises(ValueError, match='max_per_img must be >= 1, got 0'):
        check_tta_cfg(dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=0))
    with pytest.raises(TypeError, match='max_per_img must be an int'):
        check_tta_cfg(dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=10.0))
    with pytest.raises(TypeError, match='tta_cfg.nms must be a dict'):
        check_tta_cfg(dict(nms=0.5, max_per_img=100))
