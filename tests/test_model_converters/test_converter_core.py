"""The converters' key-mapping engine and class re-ordering (segdet/model_converters/core.py,
classes.py, resnet_keys.py) on hand-made cases, and the command lines."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torchvision

from segdet.datasets.coco import CocoDataset
from segdet.model_converters import (COCO_CATEGORY_IDS, ClassLayoutError, ConversionError,
                                     Source, classifier_rows, convert_state_dict, mask_channels,
                                     regression_blocks)
from segdet.model_converters.cli import main
from segdet.model_converters.core import constant, find_state_dict
from segdet.model_converters.resnet_keys import (BN_EPS, ResNetKey, affine_channel_bn,
                                                 fold_frozen_bn, parse_resnet_key)

REPO = Path(__file__).resolve().parents[2]


def rows(n: int, width: int = 2) -> torch.Tensor:
    """Row i filled with i (easy to follow through a permutation)."""
    return torch.arange(n, dtype=torch.float32)[:, None].repeat(1, width)


def test_background_first_classes_become_background_last():
    # source: [background, a, b, c]; target: [a, b, c, background]
    assert classifier_rows(rows(4), 3)[:, 0].tolist() == [1, 2, 3, 0]
    assert classifier_rows(torch.arange(4.), 3).tolist() == [1, 2, 3, 0]  # bias
    # box regression: 4 rows per class, the background block dropped
    reg = rows(16)
    assert regression_blocks(reg, 3)[:, 0].tolist() == list(range(4, 16))
    assert regression_blocks(torch.arange(16.), 3).tolist() == list(range(4, 16))
    # masks: one channel per class, the background dropped
    assert mask_channels(rows(4)[:, :, None, None], 3)[:, 0, 0, 0].tolist() == [1, 2, 3]
    # class-agnostic targets: the foreground block of a 2-block source, a 1-channel mask
    assert regression_blocks(rows(8), 1)[:, 0].tolist() == [4, 5, 6, 7]
    assert mask_channels(rows(1), 1).tolist() == rows(1).tolist()


def test_torchvision_category_id_rows_map_to_the_80_coco_classes():
    out = classifier_rows(rows(91), 80, category_id_rows=True)[:, 0]
    assert out.tolist() == list(COCO_CATEGORY_IDS) + [0]
    reg = regression_blocks(rows(364), 80, category_id_rows=True)[:, 0].reshape(80, 4)
    assert reg[:, 0].tolist() == [4 * i for i in COCO_CATEGORY_IDS]
    # the ids name the classes segdet's COCO data set has, in its order
    names = torchvision.models.detection.MaskRCNN_ResNet50_FPN_Weights.COCO_V1.meta['categories']
    assert [names[i] for i in COCO_CATEGORY_IDS] == list(CocoDataset.METAINFO['classes'])
    with pytest.raises(ClassLayoutError, match=r'91 class rows in the file, the model has 20 '
                                               r'classes, so expected 21'):
        classifier_rows(rows(91), 20, category_id_rows=True)
    with pytest.raises(ClassLayoutError, match='expected 81 .* or 91 \\(COCO category ids\\)'):
        classifier_rows(rows(50), 80, category_id_rows=True)


def plan_of(mapping: dict):
    return lambda key, shape: mapping.get(key, [])


def test_every_target_filled_and_every_source_used_once():
    source = {'a.w': torch.ones(2, 3), 'b.w': torch.zeros(4), 'momentum': torch.ones(1),
              'copy.b.w': torch.zeros(4)}
    targets = {'x.weight': torch.Size([3, 2]), 'y.weight': torch.Size([4]),
               'y.num_batches_tracked': torch.Size([])}
    plan = plan_of({'x.weight': [Source(('a.w',), lambda t: t.t())],
                    'y.weight': [Source(('missing.w',)), Source(('b.w',))],
                    'y.num_batches_tracked': [Source(('y.nbt',)), constant(0, torch.long)]})
    copies = lambda key: key[5:] if key.startswith('copy.') else None  # noqa: E731
    out, report = convert_state_dict(source, targets, plan, dropped=lambda k: k == 'momentum',
                                     duplicate_of=copies)
    assert list(out) == list(targets)
    assert torch.equal(out['x.weight'], torch.ones(3, 2))
    assert out['y.num_batches_tracked'].dtype == torch.long
    assert report.constants == ['y.num_batches_tracked']
    assert report.dropped == ['momentum'] and report.duplicates == ['copy.b.w']


def test_mismatches_are_counted_and_named_and_nothing_is_returned():
    source = {'a.w': torch.ones(2, 3), 'extra.w': torch.ones(1), 'b.w': torch.ones(5),
              'copy.b.w': torch.zeros(5)}
    targets = {'x.weight': torch.Size([2, 3]), 'y.weight': torch.Size([4]),
               'z.weight': torch.Size([1]), 'w.weight': torch.Size([2, 3])}
    plan = plan_of({'x.weight': [Source(('a.w',))], 'y.weight': [Source(('b.w',))],
                    'z.weight': [Source(('z.w',))], 'w.weight': [Source(('a.w',))]})
    with pytest.raises(ConversionError) as err:
        convert_state_dict(source, targets, plan, source_name='f.pth', expected='an X',
                           target_name='the model of c.py',
                           duplicate_of=lambda k: k[5:] if k.startswith('copy.') else None)
    message = str(err.value)
    assert message.startswith('f.pth does not fit the model of c.py: expected an X.')
    assert "1 of the 4 tensors of the model have no source in the file (first: 'z.weight' <- " \
           "'z.w')" in message
    assert "1 of the 4 tensors of the file are not used (first: 'extra.w')" in message
    assert "1 shapes differ (first: 'y.weight' <- 'b.w': file (5,), model (4,))" in message
    assert "1 tensors of the file would fill several weights (first: 'a.w')" in message
    assert "'copy.b.w' (differs from 'b.w')" in message


def test_find_state_dict_unwraps_and_strips_module_prefix():
    sd = {'module.a': torch.ones(1), 'module.b': torch.ones(1)}
    assert list(find_state_dict({'model': sd, 'iteration': 3}, 'f')) == ['a', 'b']
    assert list(find_state_dict({'state_dict': {'a': torch.ones(1)}}, 'f')) == ['a']
    with pytest.raises(ConversionError, match='f: 1 entries of the state dict are not tensors'):
        find_state_dict({'a': torch.ones(1), 'epoch': 3}, 'f')
    with pytest.raises(ConversionError, match='no state dict found'):
        find_state_dict([1, 2], 'f')


def test_resnet_keys_parse():
    assert parse_resnet_key('conv1.weight') == ResNetKey(0, 0, 'conv', 1, 'weight')
    assert parse_resnet_key('gn1.bias') == ResNetKey(0, 0, 'norm', 1, 'bias')
    assert parse_resnet_key('layer3.5.bn2.running_var') == ResNetKey(3, 5, 'norm', 2,
                                                                     'running_var')
    assert parse_resnet_key('layer1.0.downsample.0.weight') == ResNetKey(1, 0, 'conv', 0,
                                                                         'weight')
    assert parse_resnet_key('layer1.0.downsample.1.weight') == ResNetKey(1, 0, 'norm', 0,
                                                                         'weight')
    assert parse_resnet_key('fc.weight') is None


def test_frozen_bn_without_eps_and_affine_channel_are_exact_as_bn():
    x = torch.randn(2, 5, 3, 3)
    weight, bias, mean, var = torch.randn(5), torch.randn(5), torch.randn(5), torch.rand(5) + .1
    bn = torch.nn.BatchNorm2d(5, eps=BN_EPS).eval()
    # maskrcnn-benchmark's FrozenBatchNorm2d: no eps
    scale = weight / var.sqrt()
    reference = x * scale[:, None, None] + (bias - mean * scale)[:, None, None]
    with torch.no_grad():
        bn.weight.copy_(fold_frozen_bn(weight, var))
        bn.bias.copy_(bias)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
    torch.testing.assert_close(bn(x), reference, rtol=1e-5, atol=1e-5)
    # Caffe2's AffineChannel (Detectron's BN*): x * s + b
    sources = {p: affine_channel_bn(p, 's', 'b')[0] for p in ('running_mean', 'running_var')}
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.running_mean.copy_(sources['running_mean'].const(torch.Size([5])))
        bn.running_var.copy_(sources['running_var'].const(torch.Size([5])))
    torch.testing.assert_close(bn(x), x * weight[:, None, None] + bias[:, None, None],
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('script,fmt', [('torchvision2segdet.py', 'torchvision'),
                                        ('maskrcnn_benchmark2segdet.py', 'maskrcnn-benchmark'),
                                        ('detectron2segdet.py', 'detectron')])
def test_command_lines(script, fmt, capsys):
    path = REPO / 'tools' / 'model_converters' / script
    assert f"sys.exit(main({fmt!r}))" in path.read_text()
    with pytest.raises(SystemExit) as done:
        main(fmt, ['--help'])
    assert done.value.code == 0
    usage = capsys.readouterr().out
    assert 'src' in usage and 'dst' in usage and '--config' in usage
    assert ('--trust-checkpoint' in usage) == (fmt != 'detectron')
    if fmt == 'detectron':  # the script itself runs (segdet importable from tools/)
        done = subprocess.run([sys.executable, str(path), '--help'], capture_output=True,
                              text=True, cwd=REPO)
        assert done.returncode == 0 and 'Detectron (Caffe2)' in done.stdout
