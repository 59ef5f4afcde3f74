"""``apply_tta``: the config side of ``tools/test.py --tta`` (wrap the model, swap the test
pipeline, rebuild the scale views from ``img_ratios``), and its errors."""
from pathlib import Path

import pytest
from mmengine.config import Config

from segdet.utils import apply_tta, load_config, set_img_ratios

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SEG_DEMO = CONFIGS / 'demo' / 'deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py'
DET_DEMO = CONFIGS / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


def scale_views(pipeline: list) -> list:
    """The Resize views of a segmentation tta_pipeline: [Load, TestTimeAug([resizes, ...])]."""
    return pipeline[1].transforms[0]


@pytest.mark.parametrize('path, tta_type', [
    (SEG_DEMO, 'SegTTAModel'), (DET_DEMO, 'DetTTAModel'),
    (CONFIGS / 'pspnet' / 'pspnet_r50-d8_4xb2-40k_cityscapes-769x769.py', 'SegTTAModel'),
    (CONFIGS / 'mask_rcnn' / 'mask-rcnn_r50_fpn_1x_coco.py', 'DetTTAModel')])
def test_apply_tta_wraps_the_model_and_swaps_the_test_pipeline(path, tta_type):
    cfg = Config.fromfile(str(path))
    model, tta_pipeline = cfg.model.copy(), cfg.tta_pipeline
    apply_tta(cfg)
    assert cfg.model.type == tta_type and cfg.model.module == model
    assert cfg.test_dataloader.dataset.pipeline == tta_pipeline
    if tta_type == 'DetTTAModel':
        assert cfg.model.tta_cfg == dict(nms=dict(type='nms', iou_threshold=0.5),
                                         max_per_img=100)


def test_apply_tta_reaches_a_wrapped_data_set():
    cfg = Config.fromfile(str(SEG_DEMO))
    inner = cfg.test_dataloader.dataset
    cfg.test_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=inner)
    apply_tta(cfg)
    assert cfg.test_dataloader.dataset.dataset.pipeline == cfg.tta_pipeline
    assert 'pipeline' not in cfg.test_dataloader.dataset


def test_img_ratios_rebuild_the_scale_views():
    cfg = Config.fromfile(str(SEG_DEMO))
    apply_tta(cfg, img_ratios=[1.0, 1.5])
    assert cfg.img_ratios == [1.0, 1.5]
    views = scale_views(cfg.test_dataloader.dataset.pipeline)
    assert views == scale_views(cfg.tta_pipeline)
    assert views == [dict(type='Resize', scale_factor=1.0, keep_ratio=True),
                     dict(type='Resize', scale_factor=1.5, keep_ratio=True)]
    cfg = Config.fromfile(str(SEG_DEMO))
    set_img_ratios(cfg, 0.75)  # one number, as --cfg-options img_ratios=0.75 gives it
    assert scale_views(cfg.tta_pipeline) == [dict(type='Resize', scale_factor=0.75,
                                                  keep_ratio=True)]


def test_img_ratios_from_the_command_line_reach_the_pipeline():
    # load_config merges the option; without apply_tta the views would still be the six.
    cfg = load_config(SEG_DEMO, {'img_ratios': [1.0]})
    assert len(scale_views(cfg.tta_pipeline)) == 6
    apply_tta(cfg, img_ratios=cfg.img_ratios)
    assert scale_views(cfg.test_dataloader.dataset.pipeline) == [
        dict(type='Resize', scale_factor=1.0, keep_ratio=True)]


@pytest.mark.parametrize('ratios, error, message', [
    ([], ValueError, 'non-empty list of positive'), ([0.0], ValueError, 'positive'),
    ([1.0, -2], ValueError, r'got \[1.0, -2\]'), (['a'], TypeError, 'must be numbers'),
    ([True], TypeError, 'must be numbers')])
def test_bad_img_ratios_are_named(ratios, error, message):
    cfg = Config.fromfile(str(SEG_DEMO))
    with pytest.raises(error, match=message) as info:
        apply_tta(cfg, img_ratios=ratios)
    assert '--cfg-options img_ratios' in str(info.value)


def test_img_ratios_without_scale_views_name_the_config():
    cfg = Config.fromfile(str(DET_DEMO))
    with pytest.raises(ValueError) as info:
        apply_tta(cfg, img_ratios=[1.0])
    assert str(DET_DEMO) in str(info.value)
    assert '0 TestTimeAug lists of Resize(scale_factor=...)' in str(info.value)


@pytest.mark.parametrize('body, missing', [
    ("model = dict(type='EncoderDecoder')\ntest_dataloader = dict(dataset=dict(pipeline=[]))\n",
     'tta_model and no tta_pipeline'),
    (f"_base_ = [{str(SEG_DEMO)!r}]\ntta_pipeline = None\n", 'tta_pipeline')])
def test_missing_tta_keys_name_the_config(tmp_path, body, missing):
    path = tmp_path / 'no_tta.py'
    path.write_text(body)
    cfg = Config.fromfile(str(path))
    with pytest.raises(KeyError) as info:
        apply_tta(cfg)
    message = str(info.value)
    assert f'--tta: the config {path} defines no {missing}.' in message
    assert 'docs/model_zoo.md#test-time-augmentation' in message
    assert cfg.model.type == 'EncoderDecoder'  # unchanged
