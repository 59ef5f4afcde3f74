"""The checkpoints mmsegmentation 0.x/1.x and mmdetection 2.x/3.x publish load with segdet's
safe loader (``weights_only=True`` + allow-list) and no trust flag, meta included; anything
else is still refused with the global's name.

Each layout is built here as those libraries write it:

- mmseg 0.x / mmdet 2.x (mmcv 1.x runners): ``meta`` with ``CLASSES``/``PALETTE``,
  ``env_info`` and ``config`` text, ``hook_msgs`` (a numpy best score), ``epoch``/``iter``,
  versions and time; written, as the 2020 files were, in torch's legacy (pre-1.6) format by
  numpy 1.x (whose pickles name ``numpy.core.multiarray``, not numpy 2's ``numpy._core``).
- mmseg 1.x / mmdet 3.x (mmengine): a real checkpoint of a tiny mmengine ``Runner``
  (``meta`` with ``dataset_meta``, ``cfg`` text, ``experiment_name``, ...; ``message_hub``
  with ``HistoryBuffer``s and numpy values; ``optimizer``), then published as each library's
  ``publish_model.py`` does (mmseg drops ``optimizer``; mmdet keeps ``meta`` and
  ``state_dict``).
"""
import argparse
import io
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from segdet.datasets import CityscapesDataset
from segdet.engine import UnsafeCheckpointError, load_checkpoint_file
from toy_runner import toy_runner

CITYSCAPES = CityscapesDataset.METAINFO
COCO_CLASSES = tuple(f'class_{i}' for i in range(80))  # the names' text does not matter here


def state_dict(seed: int) -> OrderedDict:
    g = torch.Generator().manual_seed(seed)
    return OrderedDict([('backbone.conv1.weight', torch.randn(4, 3, 3, 3, generator=g)),
                        ('backbone.bn1.running_mean', torch.zeros(4)),
                        ('backbone.bn1.num_batches_tracked', torch.tensor(7)),
                        ('decode_head.conv_seg.weight', torch.randn(19, 4, 1, 1, generator=g))])


def save_as_in_2020(checkpoint: dict, path: Path) -> None:
    """torch's legacy format with numpy 1.x's module names, as mmcv 1.x wrote under torch 1.5."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer, _use_new_zipfile_serialization=False)
    data = buffer.getvalue()
    # Protocol-2 GLOBAL opcodes are text lines, so the shorter numpy 1.x name fits in place.
    old = data.replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
    assert old != data
    path.write_bytes(old)


def mmcv1_meta(**extra) -> dict:
    return dict(
        env_info='sys.platform: linux\nPython: 3.7.7\nCUDA available: True\nPyTorch: 1.5.0',
        config="norm_cfg = dict(type='SyncBN', requires_grad=True)\nmodel = dict(...)\n",
        seed=0, mmcv_version='1.0rc0', time='Fri Jun  5 00:33:38 2020', epoch=1,
        hook_msgs=dict(last_ckpt='work_dirs/x/iter_40000.pth', best_score=np.float64(0.7785),
                       best_ckpt='work_dirs/x/best_mIoU_iter_36000.pth'),
        **extra)


def test_mmseg_0x_checkpoint(tmp_path):
    path = tmp_path / 'pspnet_r50-d8_512x1024_40k_cityscapes_20200605_003338-2966598c.pth'
    meta = mmcv1_meta(exp_name='pspnet_r50-d8_512x1024_40k_cityscapes.py',
                      mmseg_version='0.5.0+b2724da', CLASSES=CITYSCAPES['classes'],
                      PALETTE=[list(c) for c in CITYSCAPES['palette']], iter=40000)
    save_as_in_2020(dict(meta=meta, state_dict=state_dict(0)), path)
    loaded = load_checkpoint_file(path)
    assert loaded['meta']['CLASSES'] == CITYSCAPES['classes']
    assert loaded['meta']['PALETTE'][0] == list(CITYSCAPES['palette'][0])
    assert loaded['meta']['hook_msgs']['best_score'] == np.float64(0.7785)
    assert all(torch.equal(loaded['state_dict'][k], v) for k, v in state_dict(0).items())


def test_mmdet_2x_checkpoint(tmp_path):
    path = tmp_path / 'mask_rcnn_r50_fpn_1x_coco_20200205-d4b0c5d6.pth'
    meta = mmcv1_meta(exp_name='mask_rcnn_r50_fpn_1x_coco.py', mmdet_version='2.0.0+ba6c2a8',
                      CLASSES=COCO_CLASSES, PALETTE=[(220, 20, 60)] * 80, iter=87960)
    meta['hook_msgs']['best_score'] = np.array(0.382)  # a 0-d array where mAP came from numpy
    save_as_in_2020(dict(meta=meta, state_dict=state_dict(1)), path)
    loaded = load_checkpoint_file(path)
    assert loaded['meta']['CLASSES'] == COCO_CLASSES
    assert loaded['meta']['PALETTE'][0] == (220, 20, 60)
    assert float(loaded['meta']['hook_msgs']['best_score']) == pytest.approx(0.382)


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory) -> dict:
    """A real mmengine 0.10 checkpoint of a 2-iteration run, with a data set's meta."""
    work = tmp_path_factory.mktemp('mmengine_ckpt')
    runner = toy_runner(work, max_iters=2, checkpoint=dict(interval=2))
    runner.train()
    runner.save_checkpoint(str(work), 'full.pth', meta=dict(dataset_meta=dict(
        classes=CITYSCAPES['classes'], palette=[list(c) for c in CITYSCAPES['palette']])))
    checkpoint = torch.load(work / 'full.pth', weights_only=False)  # written just now, trusted
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(work / 'full.pth'))
    # What a real mmengine checkpoint holds beyond torch's defaults (HistoryBuffer's buffers
    # and statistics: numpy arrays, scalars, dtypes, bound methods rebuilt with getattr).
    assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
    assert {g.split('.')[0] for g in unsafe} <= {'mmengine', 'numpy', 'builtins'}
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'], HistoryBuffer)
    return checkpoint


def test_mmseg_1x_checkpoint(mmengine_checkpoint, tmp_path):
    published = {k: v for k, v in mmengine_checkpoint.items() if k != 'optimizer'}
    path = tmp_path / 'pspnet_r50-d8_4xb2-40k_cityscapes-512x1024_20230101-abcdef01.pth'
    torch.save(published, path)
    loaded = load_checkpoint_file(path)
    meta = loaded['meta']
    assert meta['dataset_meta']['classes'] == CITYSCAPES['classes']
    assert {'cfg', 'seed', 'experiment_name', 'time', 'mmengine_version', 'iter'} <= set(meta)
    assert loaded['message_hub']['log_scalars']['train/loss'].current() == \
        published['message_hub']['log_scalars']['train/loss'].current()


def test_mmdet_3x_checkpoint(mmengine_checkpoint, tmp_path):
    published = {k: mmengine_checkpoint[k] for k in ('meta', 'state_dict')}
    published['meta'] = dict(published['meta'], dataset_meta=dict(
        classes=COCO_CLASSES, palette=[(220, 20, 60)] * 80))
    path = tmp_path / 'mask-rcnn_r50_fpn_1x_coco_20230101-abcdef01.pth'
    torch.save(published, path)
    loaded = load_checkpoint_file(path)
    assert loaded['meta']['dataset_meta']['palette'][0] == (220, 20, 60)
    assert set(loaded) == {'meta', 'state_dict'}


def test_a_global_outside_the_list_is_still_refused(tmp_path):
    """e.g. an ``argparse.Namespace`` of training arguments kept in meta by some forks."""
    path = tmp_path / 'with_args.pth'
    torch.save(dict(meta=dict(args=argparse.Namespace(lr=0.1)), state_dict=state_dict(2)), path)
    with pytest.raises(UnsafeCheckpointError, match='argparse.Namespace') as err:
        load_checkpoint_file(path)
    assert '--trust-checkpoint' in str(err.value)
    assert load_checkpoint_file(path, trust=True)['meta']['args'].lr == 0.1
