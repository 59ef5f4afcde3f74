"""``init_model(..., fuse_conv_bn=True)`` (the default) folds BatchNorm into the preceding
convs: with random BN statistics (so that folding matters) the predictions equal the unfused
model's, for a ResNet-D8 PSPNet, an HRNet FCN (SyncBN config, reverted to BN on one process)
and an FPN Faster R-CNN; ``fold_eval_batchnorm`` keeps SyncBN and GroupNorm."""
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from segdet.apis import inference_model, init_model
from segdet.engine import FuseConvBNHook, fold_eval_batchnorm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from detection_fixtures import tiny_two_stage_cfg  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
PSPNET = CONFIGS / 'pspnet' / 'pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py'
PSPNET_R18 = {  # ResNetV1c-18, dilations (1, 1, 2, 4): output stride 8, narrow layers
    'model.backbone.depth': 18, 'model.backbone.stem_channels': 8,
    'model.backbone.base_channels': 8, 'model.decode_head.in_channels': 64,
    'model.decode_head.channels': 8, 'model.decode_head.num_classes': 4,
    'model.auxiliary_head.in_channels': 32, 'model.auxiliary_head.channels': 8,
    'model.auxiliary_head.num_classes': 4, 'test_pipeline.1.scale': (64, 48)}
# ResNet's stem_channels/base_channels are constructor defaults, absent from the config.
pytestmark = pytest.mark.filterwarnings('ignore:--cfg-options key')
HRNET = CONFIGS / 'hrnet' / 'fcn_hr18s_4xb2-160k_cityscapes-512x1024.py'
HRNET_TINY = {
    'model.backbone.extra.stage1.num_channels': (8, ),
    'model.backbone.extra.stage2.num_channels': (4, 8),
    'model.backbone.extra.stage3.num_channels': (4, 8, 16),
    'model.backbone.extra.stage4.num_channels': (4, 8, 16, 32),
    'model.decode_head.in_channels': [4, 8, 16, 32], 'model.decode_head.channels': 16,
    'model.decode_head.num_classes': 4, 'test_pipeline.1.scale': (64, 48)}


def count_bn(model: nn.Module) -> int:
    return sum(isinstance(m, _BatchNorm) for m in model.modules())


def randomise_batchnorm(model: nn.Module, seed: int = 0) -> None:
    """Running mean/var and affine parameters far from (0, 1, 1, 0), so that folding matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, _BatchNorm):
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
                m.weight.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.copy_(torch.randn(n, generator=g) * 0.5)


def fused_and_unfused(config, options: dict, tmp_path: Path) -> tuple[nn.Module, nn.Module]:
    """The same random weights (random BN statistics) loaded with and without folding."""
    torch.manual_seed(0)
    source = init_model(config, cfg_options=options, fuse_conv_bn=False)
    randomise_batchnorm(source)
    ckpt = tmp_path / 'random_bn.pth'
    torch.save({'state_dict': source.state_dict(), 'meta': {}}, ckpt)
    fused = init_model(config, str(ckpt), cfg_options=options)
    plain = init_model(config, str(ckpt), cfg_options=options, fuse_conv_bn=False)
    num_bn = count_bn(source)
    assert num_bn > 0
    assert count_bn(plain) == num_bn and plain.fused_batchnorms == 0
    # Every BN that runs at inference follows a conv: only the auxiliary head's, which the
    # test-time forward never runs, are left.
    left = [n for n, m in fused.named_modules() if isinstance(m, _BatchNorm)]
    assert all(n.startswith('auxiliary_head.') for n in left), left
    assert fused.fused_batchnorms == num_bn - len(left) > 0
    assert not fused.training
    return fused, plain


def image(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize('config,options', [(PSPNET, PSPNET_R18), (HRNET, HRNET_TINY)],
                         ids=['pspnet_r18-d8', 'hrnet'])
def test_folded_segmentor_gives_the_same_logits(config, options, tmp_path) -> None:
    fused, plain = fused_and_unfused(config, options, tmp_path)
    imgs = [image(seed=0), image(seed=1)]
    got, expected = inference_model(fused, imgs), inference_model(plain, imgs)
    for a, b in zip(got, expected):
        assert a.seg_logits.data.shape == (4, 48, 64)
        torch.testing.assert_close(a.seg_logits.data, b.seg_logits.data, atol=1e-4, rtol=0)
        # not vacuous: the random BN statistics change the logits a lot
        assert b.seg_logits.data.std() > 1e-2


def test_folded_detector_gives_the_same_boxes(tmp_path) -> None:
    config = Config(dict(
        model=tiny_two_stage_cfg(with_mask=False),
        test_pipeline=[dict(type='LoadImageFromFile'),
                       dict(type='Resize', scale=(96, 64), keep_ratio=True),
                       dict(type='PackDetInputs')]))
    fused, plain = fused_and_unfused(config, {}, tmp_path)
    got, expected = inference_model(fused, image(64, 96)), inference_model(plain, image(64, 96))
    a, b = got.pred_instances, expected.pred_instances
    assert len(b) > 0
    assert torch.equal(a.labels, b.labels)
    # 1e-4 px, plus float32 rounding of ~60 px coordinates decoded through exp(deltas)
    torch.testing.assert_close(a.bboxes, b.bboxes, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(a.scores, b.scores, atol=1e-4, rtol=0)


def test_sync_bn_and_group_norm_are_kept() -> None:
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(3, 4, 3), nn.SyncBatchNorm(4)),
        nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4)),
        nn.Sequential(nn.Conv2d(4, 4, 3), nn.GroupNorm(2, 4)))
    model.train()
    x = torch.randn(1, 3, 12, 12)
    assert fold_eval_batchnorm(model, lambda: model(x)) == 1
    assert not model.training
    assert isinstance(model[0][1], nn.SyncBatchNorm)
    assert isinstance(model[1][1], nn.Identity)
    assert isinstance(model[2][1], nn.GroupNorm)


def test_hook_folds_at_test_time_only() -> None:
    """Validation during training must keep the BatchNorm layers."""
    assert FuseConvBNHook.before_test is not Hook.before_test
    for stage in ('before_train', 'before_val', 'before_train_iter', 'before_val_epoch'):
        assert getattr(FuseConvBNHook, stage) is getattr(Hook, stage), stage


class _ConcatNorm(nn.Module):
    """CGNet's pattern: two convs registered, then the BN over their concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.loc = nn.Conv2d(4, 4, 3, padding=1)
        self.sur = nn.Conv2d(4, 4, 3, padding=2, dilation=2)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(torch.cat([self.loc(x), self.sur(x)], 1))


class _FilterThenNorm(nn.Module):
    """DMNet's DCM: a conv that makes filters, another module, then the BN of something else."""

    def __init__(self) -> None:
        super().__init__()
        self.filter_gen_conv = nn.Conv2d(4, 4, 1)
        self.redu = nn.Sequential(nn.Conv2d(4, 4, 1), nn.ReLU())
        self.norm = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.redu(x) * self.filter_gen_conv(x).mean((2, 3), keepdim=True))


@pytest.mark.parametrize('block', [_ConcatNorm, _FilterThenNorm], ids=['cgnet', 'dmnet'])
def test_bn_that_does_not_follow_its_conv_is_kept(block) -> None:
    """mmcv would pair the block's BN with a conv whose output it does not normalise: that
    level is left alone, the rest is folded."""
    model = nn.Sequential(nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)), block())
    randomise_batchnorm(model)
    model.eval()
    x = torch.randn(1, 3, 8, 8)
    expected = model(x)
    assert fold_eval_batchnorm(model, lambda: model(x)) == 1
    assert count_bn(model[1]) == 1 and isinstance(model[0][1], nn.Identity)
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=0)


class _ConvsFirst(nn.Module):
    """Convs registered before the norms (conv1, conv2, bn1, bn2): registration order would pair
    bn1 with conv2; the traced data flow pairs each norm with its own conv."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.bn2 = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))


class _ResidualAroundNorm(nn.Module):
    """``bn(y) + y``: the conv output is also used outside its BatchNorm; folding would change
    the residual, which hooks cannot see; the output check catches it."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return self.bn(y) + y


def test_pairs_follow_the_data_flow_not_the_registration_order() -> None:
    model = _ConvsFirst()
    randomise_batchnorm(model)
    model.eval()
    x = torch.randn(2, 4, 8, 8)
    expected = model(x)
    assert fold_eval_batchnorm(model, lambda: model(x)) == 2
    assert count_bn(model) == 0
    torch.testing.assert_close(model(x), expected, atol=1e-5, rtol=0)


def test_conv_output_used_outside_its_norm_keeps_every_norm() -> None:
    model = _ResidualAroundNorm()
    randomise_batchnorm(model)
    model.eval()
    x = torch.randn(2, 4, 8, 8)
    expected = model(x)
    with pytest.warns(UserWarning, match='did not reproduce the unfused outputs'):
        assert fold_eval_batchnorm(model, lambda: model(x)) == 0
    assert isinstance(model.bn, nn.BatchNorm2d) and isinstance(model.conv, nn.Conv2d)
    torch.testing.assert_close(model(x), expected, atol=0, rtol=0)
