"""confusion_matrix.py: exact counts from predictions with a known error, PNG written."""
import json

import cv2
import numpy as np
import pytest

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
