"""PackSegInputs: tensor layouts, dtypes and metainfo; PackDetInputs: label map and proposals."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from segdet.datasets.transforms import PackDetInputs, PackSegInputs
from segdet.structures import DataSample


def test_packs_image_labels_and_meta() -> None:
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    seg = np.array([[0, 1, 2], [255, 1, 0]], np.uint8)
    results = dict(img=img, gt_seg_map=seg, img_path='a.png', seg_map_path='a_label.png',
                   ori_shape=(2, 3), img_shape=(2, 3), scale_factor=(1.0, 1.0), flip=False,
                   flip_direction=None, reduce_zero_label=False, seg_fields=['gt_seg_map'],
                   label_map=None, num_classes=3)
    out = PackSegInputs()(results)
    inputs, sample = out['inputs'], out['data_samples']
    assert inputs.shape == (3, 2, 3) and inputs.dtype == torch.uint8 and inputs.is_contiguous()
    assert torch.equal(inputs, torch.from_numpy(img).permute(2, 0, 1))
    assert isinstance(sample, DataSample)
    assert sample.gt_sem_seg.data.shape == (1, 2, 3) and sample.gt_sem_seg.data.dtype == torch.int64
    assert sample.gt_sem_seg.data[0].tolist() == seg.tolist()
    assert set(sample.metainfo) == {'img_path', 'seg_map_path', 'ori_shape', 'img_shape',
                                    'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label'}
    assert sample.img_path == 'a.png' and sample.ori_shape == (2, 3)


def test_non_contiguous_and_grey_images() -> None:
    img = np.random.default_rng(0).integers(0, 255, (4, 5, 3), dtype=np.uint8)[:, ::-1]
    out = PackSegInputs()(dict(img=img))
    assert out['inputs'].is_contiguous()
    assert torch.equal(out['inputs'], torch.from_numpy(img.copy()).permute(2, 0, 1))
    assert 'gt_sem_seg' not in out['data_samples']
    grey = PackSegInputs()(dict(img=np.zeros((4, 5), np.uint8)))
    assert grey['inputs'].shape == (1, 4, 5)


def test_custom_meta_keys() -> None:
    out = PackSegInputs(meta_keys=('img_path', 'missing'))(
        dict(img=np.zeros((2, 2, 3), np.uint8), img_path='x', ori_shape=(2, 2)))
    assert set(out['data_samples'].metainfo) == {'img_path'}


# --------------------------------------------------------------------------- PackDetInputs
def test_pack_det_inputs_keeps_gt_seg_map_and_proposals() -> None:
    seg = np.array([[0, 1, 2], [255, 1, 0]], np.uint8)
    boxes = np.array([[0, 0, 2, 1], [1, 0, 3, 2]], np.float32)
    results = dict(img=np.zeros((2, 3, 3), np.uint8), img_path='a.png', ori_shape=(2, 3),
                   img_shape=(2, 3), gt_bboxes=boxes[:1], gt_bboxes_labels=np.array([4]),
                   gt_ignore_flags=np.array([False]), gt_seg_map=seg, ignore_index=255,
                   proposals=boxes, proposals_scores=np.array([0.9, 0.5], np.float32))
    sample = PackDetInputs()(results)['data_samples']
    # the label map as segdet keeps every label map: PixelData.data (1, H, W) int64
    assert sample.gt_sem_seg.data.shape == (1, 2, 3) and sample.gt_sem_seg.data.dtype == torch.int64
    assert sample.gt_sem_seg.data[0].tolist() == seg.tolist()
    assert sample.gt_sem_seg.ignore_index == 255
    # proposals: InstanceData with bboxes (N, 4) and scores (N,), float32
    assert isinstance(sample.proposals, InstanceData) and len(sample.proposals) == 2
    assert sample.proposals.bboxes.dtype == torch.float32
    torch.testing.assert_close(sample.proposals.bboxes, torch.from_numpy(boxes))
    torch.testing.assert_close(sample.proposals.scores, torch.tensor([0.9, 0.5]))
    assert sample.gt_instances.labels.tolist() == [4]


def test_pack_det_inputs_without_seg_or_proposals_sets_neither() -> None:
    sample = PackDetInputs()(dict(img=np.zeros((2, 3, 3), np.uint8)))['data_samples']
    assert 'gt_sem_seg' not in sample and 'proposals' not in sample
    no_ignore = PackDetInputs()(dict(gt_seg_map=np.zeros((2, 3), np.uint8)))['data_samples']
    assert 'ignore_index' not in no_ignore.gt_sem_seg.metainfo


def test_pack_det_inputs_bad_proposals_and_seg_map_are_named() -> None:
    with pytest.raises(KeyError, match='proposals_scores.*LoadProposals'):
        PackDetInputs()(dict(img_path='a.png', proposals=np.zeros((1, 4), np.float32)))
    with pytest.raises(ValueError, match=r'a.png.*\(N, 4\)'):
        PackDetInputs()(dict(img_path='a.png', proposals=np.zeros((2, 5)),
                             proposals_scores=np.zeros(2)))
    with pytest.raises(ValueError, match='PackDetInputs expects an \\(H, W\\) gt_seg_map'):
        PackDetInputs()(dict(gt_seg_map=np.zeros((1, 2, 3), np.uint8)))
