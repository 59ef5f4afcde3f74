"""segdet.apis with a detector: init_model, inference_model on paths and arrays, show_result,
and demo/image_demo.py with a detection config."""
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from segdet.apis import inference_model, init_model, show_result

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


@pytest.fixture(scope='module')
def model():
    torch.manual_seed(0)
    # score_thr 0: random weights still give detections to check the contract on
    # unfused: its state_dict is saved as a checkpoint of the demo config below
    return init_model(str(DEMO), cfg_options={'model.test_cfg.rcnn.score_thr': 0.0},
                      fuse_conv_bn=False)


def test_detector_predicts_instances_at_the_image_size(model, tmp_path):
    image = (np.random.default_rng(0).random((72, 100, 3)) * 255).astype(np.uint8)
    path = tmp_path / 'img.png'
    cv2.imwrite(str(path), image)
    from_path, from_array = inference_model(model, [str(path), image])
    for sample in (from_path, from_array):
        pred = sample.pred_instances
        n = len(pred)
        assert 0 < n <= 20
        assert pred.bboxes.shape == (n, 4) and pred.masks.shape == (n, 72, 100)
        assert pred.labels.max() < 3
    assert torch.allclose(from_path.pred_instances.bboxes, from_array.pred_instances.bboxes)
    assert model.dataset_meta['classes'] == ('circle', 'rectangle', 'triangle')


def test_show_result_draws_kept_instances_only(model, tmp_path):
    image = np.zeros((72, 100, 3), np.uint8)
    sample = inference_model(model, image)
    out = tmp_path / 'vis.png'
    drawn = show_result(model, image, sample, out_file=out, score_thr=0.0)
    assert drawn.shape == image.shape and out.is_file()
    assert (drawn != image).any()
    nothing = show_result(model, image, sample, score_thr=1.0)
    assert (nothing == image).all()


def test_image_demo_draws_detections(model, tmp_path):
    image = (np.random.default_rng(1).random((72, 100, 3)) * 255).astype(np.uint8)
    img = tmp_path / 'img.png'
    cv2.imwrite(str(img), image)
    ckpt = tmp_path / 'det.pth'
    meta = dict(dataset_meta=dict(classes=('a', 'b', 'c'),
                                  palette=[(255, 0, 0), (0, 255, 0), (0, 0, 255)]))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), ckpt)
    # image_demo.py has no --cfg-options: a config that inherits the demo keeps every box.
    config = tmp_path / 'det.py'
    config.write_text(f'_base_ = [{str(DEMO)!r}]\n'
                      'model = dict(test_cfg=dict(rcnn=dict(score_thr=0.0)))\n')
    out = tmp_path / 'demo.png'
    done = subprocess.run([sys.executable, str(REPO / 'demo' / 'image_demo.py'), str(img),
                           str(config), str(ckpt), '--out-file', str(out), '--score-thr', '0'],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    written = cv2.imread(str(out))
    assert written.shape == (72, 100, 3)
    assert not np.array_equal(written, image)  # boxes were drawn
    assert re.search(r'wrote .*demo\.png; [1-9]\d* detections above 0\.0: [abc] 0\.\d\d',
                     done.stdout), done.stdout
