"""browse_dataset.py: the pipeline output with labels (label maps; boxes, names and masks)
drawn where the objects are."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData
from pycocotools.coco import COCO

from segdet.datasets import ShapesDataset
from segdet.datasets.synthetic import write_shapes_coco
from segdet.structures import DataSample
from tool_run_helpers import DEMO_CONFIG, cli_options, data_options, load_tool


def coloured(label: np.ndarray) -> np.ndarray:
    """The label map in the data set's palette, BGR (what opacity 1.0 draws)."""
    palette = np.array(ShapesDataset.METAINFO['palette'], np.uint8)[:, ::-1]
    return palette[label]


def test_writes_images_with_labels_drawn(shapes_root, tmp_path) -> None:
    out = tmp_path / 'browse'
    written = load_tool('analysis_tools/browse_dataset.py').main(
        [str(DEMO_CONFIG), '--output-dir', str(out), '--num', '3', '--opacity', '1.0',
         '--cfg-options', *cli_options(data_options(str(shapes_root)))])
    assert len(written) == 3
    for path in written:
        img = cv2.imread(path)
        assert img.shape == (64, 128, 3)  # [image | labels drawn] of a 64x64 sample
        left, right = img[:, :64], img[:, 64:]
        name = Path(path).name.split('_', 1)[1].replace('_leftImg8bit.png', '')
        label = cv2.imread(str(shapes_root / 'gtFine' / 'train' / 'shapes' /
                               f'{name}_gtFine_labelTrainIds.png'), cv2.IMREAD_UNCHANGED)
        # The demo pipeline flips half of the samples horizontally.
        assert any(np.array_equal(right, coloured(lab)) for lab in (label, label[:, ::-1]))
        objects = label > 0
        assert objects.any() and (right != left).any(axis=2).mean() > 0.5


DET_DEMO = DEMO_CONFIG.parent / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


def test_detection_samples_get_boxes_and_masks(tmp_path) -> None:
    """On the val split (no random transforms) the boxes and masks land on the COCO ground
    truth: every box outline is drawn, and at opacity 1.0 mask pixels take the class colour."""
    root = tmp_path / 'coco'
    write_shapes_coco(str(root), num_train=2, num_val=3, size=64, seed=1)
    written = load_tool('analysis_tools/browse_dataset.py').main(
        [str(DET_DEMO), '--output-dir', str(tmp_path / 'browse'), '--split', 'val',
         '--opacity', '1.0', '--cfg-options', f'val_dataloader.dataset.data_root={root}/'])
    coco = COCO(str(root / 'annotations' / 'instances_val.json'))
    classes = ('circle', 'rectangle', 'triangle')
    palette = [(220, 20, 60), (0, 0, 142), (250, 170, 30)]  # the config's, RGB
    assert len(written) == 3
    for path, img_id in zip(written, sorted(coco.getImgIds())):
        drawn = cv2.imread(path)
        assert drawn.shape == (64, 128, 3)
        left, right = drawn[:, :64], drawn[:, 64:]
        image = cv2.imread(str(root / 'val' / coco.imgs[img_id]['file_name']))
        assert np.array_equal(left, image)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        assert anns
        for ann in anns:
            x, y, w, h = ann['bbox']
            px, py = min(int(round(x)), 63), min(int(round(y + h / 2)), 63)
            assert (right[py, px] != image[py, px]).any(), ann['bbox']
            label = classes.index(coco.cats[ann['category_id']]['name'])
            colour = np.array(palette[label][::-1])
            inside = coco.annToMask(ann).astype(bool)
            assert (right[inside] == colour).all(axis=1).mean() > 0.3, ann['id']


def test_ignored_instances_get_grey_boxes() -> None:
    render = load_tool('analysis_tools/browse_dataset.py').render
    sample = DataSample()
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[2., 2., 12., 12.]]),
                                       labels=torch.tensor([0]))
    sample.ignored_instances = InstanceData(bboxes=torch.tensor([[20., 20., 30., 30.]]),
                                            labels=torch.tensor([0]))
    image = torch.zeros(3, 40, 40, dtype=torch.uint8)
    drawn = render(dict(inputs=image, data_samples=sample), [(255, 0, 0)], 0.5, ['thing'])
    assert drawn.shape == (40, 80, 3)
    right = drawn[:, 40:]
    assert right[7, 2].tolist() == [0, 0, 255]  # the class colour, BGR, on the box's left side
    assert right[25, 20].tolist() == [128, 128, 128]  # the ignored box, grey
    assert (right[32:, :] == 0).all()  # below everything: untouched


def test_missing_split_is_named(tmp_path) -> None:
    config = tmp_path / 'no_val.py'
    config.write_text(f"_base_ = ['{DEMO_CONFIG}']\nval_dataloader = None\n")
    with pytest.raises(ValueError, match=r'no_val.py has no val_dataloader'):
        load_tool('analysis_tools/browse_dataset.py').main(
            [str(config), '--output-dir', str(tmp_path / 'out'), '--split', 'val'])
