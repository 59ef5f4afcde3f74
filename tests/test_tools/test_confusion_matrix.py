"""confusion_matrix.py: exact counts from predictions with known errors (label maps and COCO
detection results), PNG written."""
import json

import cv2
import numpy as np
import pytest

from segdet.datasets.synthetic import write_shapes_coco
from tool_run_helpers import DEMO_CONFIG, cli_options, data_options, load_tool


def test_counts_and_png(shapes_root, tmp_path) -> None:
    tool = load_tool('analysis_tools/confusion_matrix.py')
    labels = sorted((shapes_root / 'gtFine' / 'val' / 'shapes').glob('*.png'))
    preds = tmp_path / 'preds'
    preds.mkdir()
    expected = np.zeros((4, 4), np.int64)
    for path in labels:
        gt = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        pred = gt.copy()
        pred[gt == 1] = 2  # every circle pixel predicted as rectangle
        cv2.imwrite(str(preds / path.name.replace('_gtFine_labelTrainIds', '')), pred)
        valid = gt != 255
        np.add.at(expected, (gt[valid].astype(int), pred[valid].astype(int)), 1)
    assert expected[1, 2] > 0 and expected[1, 1] == 0
    matrix = tool.main([str(DEMO_CONFIG), str(preds), str(tmp_path / 'out'), '--cfg-options',
                        *cli_options(data_options(str(shapes_root)))])
    assert np.array_equal(matrix, expected)
    saved = json.loads((tmp_path / 'out' / 'confusion_matrix.json').read_text())
    assert saved['counts'] == expected.tolist() and saved['classes'][1] == 'circle'
    img = cv2.imread(str(tmp_path / 'out' / 'confusion_matrix.png'))
    assert img is not None and (img < 250).any(axis=2).mean() > 0.05

    (preds / labels[0].name.replace('_gtFine_labelTrainIds', '')).unlink()
    with pytest.raises(FileNotFoundError, match='no readable prediction .*val_00000.png'):
        tool.main([str(DEMO_CONFIG), str(preds), str(tmp_path / 'out2'), '--cfg-options',
                   *cli_options(data_options(str(shapes_root)))])


def test_confusion_function() -> None:
    tool = load_tool('analysis_tools/confusion_matrix.py')
    gt = np.array([[0, 1], [255, 1]])
    pred = np.array([[0, 0], [1, 1]])
    assert tool.confusion(gt, pred, 2).tolist() == [[1, 0], [1, 1]]
    with pytest.raises(ValueError, match='not classes'):
        tool.confusion(gt, np.array([[0, 5], [1, 1]]), 2)


DET_DEMO = DEMO_CONFIG.parent / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


def test_detection_counts_from_coco_results(tmp_path) -> None:
    """A results file made from the ground truth with one wrong label, one false positive and
    one detection under the score threshold gives the hand-counted instance matrix."""
    root = tmp_path / 'coco'
    write_shapes_coco(str(root), num_train=2, num_val=4, size=64, seed=3)
    gt = json.loads((root / 'annotations' / 'instances_val.json').read_text())
    cat_ids = sorted(c['id'] for c in gt['categories'])  # labels 0..2 = ids in name order
    label = {cat_id: i for i, cat_id in enumerate(cat_ids)}
    anns = [a for a in gt['annotations'] if not a.get('iscrowd')]
    expected = np.zeros((4, 4), np.int64)
    results = []
    for k, ann in enumerate(anns):
        g = label[ann['category_id']]
        if k == 0:  # the first instance detected as the next class, least confident
            wrong = (g + 1) % 3
            results.append(dict(image_id=ann['image_id'], category_id=cat_ids[wrong],
                                bbox=ann['bbox'], score=0.5))
            expected[g, wrong] += 1
        elif k == 1:  # the second only below the threshold: missed
            results.append(dict(image_id=ann['image_id'], category_id=ann['category_id'],
                                bbox=ann['bbox'], score=0.1))
            expected[g, 3] += 1
        else:
            results.append(dict(image_id=ann['image_id'], category_id=ann['category_id'],
                                bbox=ann['bbox'], score=0.9))
            expected[g, g] += 1
    results.append(dict(image_id=anns[0]['image_id'], category_id=cat_ids[2],
                        bbox=[0, 0, 2, 2], score=0.8))  # on no object
    expected[3, 2] += 1
    preds = tmp_path / 'preds'
    preds.mkdir()
    (preds / 'results.bbox.json').write_text(json.dumps(results))

    tool = load_tool('analysis_tools/confusion_matrix.py')
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={root}/']
    matrix = tool.main([str(DET_DEMO), str(preds), str(tmp_path / 'out'), *options])
    assert matrix.tolist() == expected.tolist()
    saved = json.loads((tmp_path / 'out' / 'confusion_matrix.json').read_text())
    assert saved['classes'] == ['circle', 'rectangle', 'triangle', 'background']
    assert saved['counts'] == expected.tolist()
    assert cv2.imread(str(tmp_path / 'out' / 'confusion_matrix.png')) is not None
    # The JSON file itself may be given instead of its directory.
    again = tool.main([str(DET_DEMO), str(preds / 'results.bbox.json'),
                       str(tmp_path / 'out2'), *options])
    assert again.tolist() == expected.tolist()

    results[0]['category_id'] = 99
    (preds / 'bad.json').write_text(json.dumps(results))
    with pytest.raises(ValueError, match=r'bad.json: result 0 has category_id 99'):
        tool.main([str(DET_DEMO), str(preds / 'bad.json'), str(tmp_path / 'o3'), *options])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match=r'no COCO results file .*results.bbox.json'):
        tool.main([str(DET_DEMO), str(empty), str(tmp_path / 'o4'), *options])
