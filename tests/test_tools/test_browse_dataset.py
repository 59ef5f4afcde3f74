"""browse_dataset.py: the pipeline output with labels drawn where the objects are."""
from pathlib import Path

import cv2
import numpy as np

from segdet.datasets import ShapesDataset
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
