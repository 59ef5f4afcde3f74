"""tools/model_converters/torchvision2segdet.py: a torchvision Mask R-CNN with random weights,
converted, predicts the same boxes, labels, scores and masks through segdet's
``mask-rcnn_r50_fpn_torchvision-compat_1x_coco`` config; other architectures are refused."""
from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision.models import detection, segmentation
from torchvision.ops import box_iou

from segdet.apis import inference_model, init_model
from segdet.engine import load_checkpoint_file
from segdet.model_converters import COCO_CATEGORY_IDS, ConversionError, convert_checkpoint
from segdet.model_converters.cli import main

REPO = Path(__file__).resolve().parents[2]
MASK_CONFIG = REPO / 'configs/mask_rcnn/mask-rcnn_r50_fpn_torchvision-compat_1x_coco.py'
FASTER_CONFIG = REPO / 'configs/faster_rcnn/faster-rcnn_r50_fpn_torchvision-compat_1x_coco.py'
H, W = 128, 160  # a multiple of 32: no padding; torchvision's min/max size keep it unscaled
PROPOSALS, DETECTIONS = 300, 30  # fewer than the defaults (1000, 100), for speed


def randomise(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Random BN statistics and affine parameters, and heads that give spread-out scores.

    torchvision's own initialisation leaves every class probability near 1/91 (no detection
    passes the 0.05 threshold) and RPN logits nearly tied; larger classifier weights give
    confident, well-separated detections. The 10 COCO category ids that no class uses are
    never trained, so their logits are set very low as in a trained model: the converter
    drops those rows.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
                module.running_var.copy_(torch.rand(n, generator=gen) * 1.5 + 0.5)
                module.weight.copy_(torch.rand(n, generator=gen) * 0.5 + 0.5)
                module.bias.copy_(torch.randn(n, generator=gen) * 0.1)
        model.rpn.head.cls_logits.weight.normal_(0, 0.3, generator=gen)
        predictor = model.roi_heads.box_predictor
        predictor.cls_score.weight.normal_(0, 0.5, generator=gen)
        predictor.bbox_pred.weight.normal_(0, 0.05, generator=gen)
        unused_ids = [i for i in range(1, 91) if i not in COCO_CATEGORY_IDS]
        predictor.cls_score.bias[unused_ids] = -30.0
    return model.eval()


@pytest.fixture(scope='module')
def tv_mask_rcnn() -> torch.nn.Module:
    torch.manual_seed(0)
    model = detection.maskrcnn_resnet50_fpn(
        weights=None, weights_backbone=None, min_size=H, max_size=W,
        rpn_post_nms_top_n_test=PROPOSALS, box_detections_per_img=DETECTIONS)
    return randomise(model)


@pytest.fixture(scope='module')
def tv_checkpoint(tv_mask_rcnn, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp('tv') / 'maskrcnn_resnet50_fpn.pth'
    torch.save(tv_mask_rcnn.state_dict(), path)
    return path


def test_converted_mask_rcnn_predicts_what_torchvision_predicts(tv_mask_rcnn, tv_checkpoint,
                                                                tmp_path, capsys):
    out = tmp_path / 'segdet.pth'
    assert main('torchvision', [str(tv_checkpoint), str(out), '--config', str(MASK_CONFIG)]) == 0
    assert '360 target tensors filled: 360 from the file' in capsys.readouterr().out
    ckpt = load_checkpoint_file(out)  # segdet's safe loader, no trust flag
    assert set(ckpt) == {'state_dict', 'meta'}
    assert ckpt['meta']['source_format'] == 'torchvision'

    image = np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8)  # BGR
    rgb = torch.from_numpy(image[:, :, ::-1].copy()).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        expected = tv_mask_rcnn([rgb])[0]
    options = {'test_pipeline.1.scale': (W, H), 'model.test_cfg.rpn.max_per_img': PROPOSALS,
               'model.test_cfg.rcnn.max_per_img': DETECTIONS}
    unfused = init_model(MASK_CONFIG, str(out), cfg_options=options, fuse_conv_bn=False)
    assert set(unfused.state_dict()) == set(ckpt['state_dict'])
    model = init_model(MASK_CONFIG, str(out), cfg_options=options)  # BN folded (the default)
    assert model.fused_batchnorms > 0
    got = inference_model(model, image).pred_instances

    num = len(expected['boxes'])
    assert num >= 20, 'too few detections for a meaningful comparison'
    labels = torch.tensor(COCO_CATEGORY_IDS)[got.labels]  # segdet class -> COCO category id
    same = ((box_iou(expected['boxes'], got.bboxes) > 0.99)
            & (expected['labels'][:, None] == labels[None])
            & ((expected['scores'][:, None] - got.scores[None]).abs() < 1e-3))
    assert same.any(1).float().mean() >= 0.95
    pairs = [(i, int(same[i].float().argmax())) for i in range(num) if same[i].any()]
    for i, j in pairs:
        tv_mask = expected['masks'][i, 0] > 0.5
        union = (tv_mask | got.masks[j]).sum()
        assert (tv_mask & got.masks[j]).sum() >= 0.99 * union, f'mask of detection {i}'


def test_old_torchvision_key_layout_and_frozen_bn_convert_the_same(tv_mask_rcnn, tv_checkpoint,
                                                                   tmp_path):
    # torchvision's published 2019 checkpoints: FPN/RPN convs and mask-head convs without the
    # ".0"/".0.0" of Conv2dNormActivation, FrozenBN without num_batches_tracked.
    new = tv_mask_rcnn.state_dict()
    old = {}
    for key, value in new.items():
        if key.endswith('num_batches_tracked'):
            continue
        key = key.replace('rpn.head.conv.0.0.', 'rpn.head.conv.')
        for block in ('inner_blocks', 'layer_blocks'):
            for i in range(4):
                key = key.replace(f'fpn.{block}.{i}.0.', f'fpn.{block}.{i}.')
        for i in range(4):
            key = key.replace(f'roi_heads.mask_head.{i}.0.',
                              f'roi_heads.mask_head.mask_fcn{i + 1}.')
        old[key] = value
    torch.save(old, tmp_path / 'old.pth')
    convert_checkpoint(tv_checkpoint, tmp_path / 'a.pth', MASK_CONFIG, 'torchvision')
    convert_checkpoint(tmp_path / 'old.pth', tmp_path / 'b.pth', MASK_CONFIG, 'torchvision')
    a = load_checkpoint_file(tmp_path / 'a.pth')['state_dict']
    b = load_checkpoint_file(tmp_path / 'b.pth')['state_dict']
    assert a.keys() == b.keys()
    differing = [k for k in a if not torch.equal(a[k], b[k])]
    assert all(k.endswith('num_batches_tracked') for k in differing)  # 0 where absent
    assert torch.equal(a['neck.lateral_convs.2.conv.weight'],
                       new['backbone.fpn.inner_blocks.2.0.weight'])


def test_faster_rcnn_converts_into_the_faster_rcnn_config(tmp_path):
    model = detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
    torch.save(model.state_dict(), tmp_path / 'frcnn.pth')
    report = convert_checkpoint(tmp_path / 'frcnn.pth', tmp_path / 'out.pth', FASTER_CONFIG,
                                'torchvision')
    assert report.num_target == 348 and not report.constants and not report.dropped
    out = load_checkpoint_file(tmp_path / 'out.pth')['state_dict']
    # classes: the 80 COCO category ids in order, then the background (row 0)
    cls = model.roi_heads.box_predictor.cls_score.weight
    assert torch.equal(out['roi_head.bbox_head.fc_cls.weight'],
                       cls[list(COCO_CATEGORY_IDS) + [0]])
    reg = model.roi_heads.box_predictor.bbox_pred.weight.reshape(91, 4, -1)
    assert torch.equal(out['roi_head.bbox_head.fc_reg.weight'].reshape(80, 4, -1),
                       reg[list(COCO_CATEGORY_IDS)])


@pytest.mark.parametrize('case', ['segmentation', 'faster-for-mask', 'r50-for-r101'])
def test_checkpoint_of_another_architecture_is_refused(case, tv_checkpoint, tmp_path, capsys):
    if case == 'segmentation':
        seg = segmentation.fcn_resnet50(weights=None, weights_backbone=None, aux_loss=False)
        src, config = tmp_path / 'fcn.pth', MASK_CONFIG
        torch.save(seg.state_dict(), src)
        expected = [r'307 of the 360 tensors of the model have no source',
                    r"'backbone.conv1.weight' <- 'backbone.body.conv1.weight'",
                    r'326 of the 326 tensors of the file are not used']
    elif case == 'faster-for-mask':
        faster = detection.fasterrcnn_resnet50_fpn(weights=None, weights_backbone=None)
        src, config = tmp_path / 'frcnn.pth', MASK_CONFIG
        torch.save(faster.state_dict(), src)
        expected = [r"12 of the 360 tensors of the model have no source in the file \(first: "
                    r"'roi_head.mask_head.convs.0.conv.weight' <- "
                    r"'roi_heads.mask_head.0.0.weight'"]
    else:
        src, config = tv_checkpoint, REPO / 'configs/mask_rcnn/mask-rcnn_r101_fpn_1x_coco.py'
        expected = [r"255 of the 666 tensors of the model have no source in the file \(first: "
                    r"'backbone.layer3.6.conv1.weight'"]
    out = tmp_path / 'out.pth'
    with pytest.raises(ConversionError) as err:
        convert_checkpoint(src, out, config, 'torchvision')
    for pattern in expected + ['expected a torchvision', 'No checkpoint was written']:
        assert err.match(pattern)
    assert not out.exists() and not list(tmp_path.glob('.out.pth.*'))
    # the command line: exit status 1, the same message, no file
    assert main('torchvision', [str(src), str(out), '--config', str(config)]) == 1
    assert 'No checkpoint was written' in capsys.readouterr().err
    assert not out.exists()
