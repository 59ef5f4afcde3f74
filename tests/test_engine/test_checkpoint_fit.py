"""A checkpoint that does not fit the model is refused (segdet/engine/checkpoint_fit.py and the
``CheckpointFitHook`` that ``tools/test.py`` adds), a fine-tuning-sized difference is not, and
the opt-in loads what fits."""
from collections import OrderedDict

import pytest
import torch
from torch import nn

from segdet.engine import (MAX_NOT_LOADED, CheckpointMismatchError, check_checkpoint_fits,
                           state_dict_fit)
from toy_runner import toy_runner


def net(classes: int = 3, blocks: int = 1) -> nn.Module:
    """A stem conv + BN (6 counted tensors; num_batches_tracked is not counted), ``blocks`` 3x3
    convs and a 1x1 classifier: 6 + 2 * blocks + 2 counted tensors."""
    layers = [('conv1', nn.Conv2d(3, 8, 3)), ('bn', nn.BatchNorm2d(8))]
    layers += [(f'conv{i + 2}', nn.Conv2d(8, 8, 3)) for i in range(blocks)]
    return nn.Sequential(OrderedDict(layers + [('cls', nn.Conv2d(8, classes, 1))]))


def test_counts_by_name_and_shape():
    model = net()
    theirs = net(classes=5).state_dict()
    del theirs['conv2.bias']
    theirs['extra.weight'] = torch.ones(1)
    fit = state_dict_fit(model, theirs)
    assert fit.total == 10 and len(fit.loaded) == 7
    assert fit.missing == ['conv2.bias'] and fit.unexpected == ['extra.weight']
    assert fit.mismatched == [('cls.weight', (5, 8, 1, 1), (3, 8, 1, 1)),
                              ('cls.bias', (5, ), (3, ))]
    assert fit.model_numel == sum(v.numel() for k, v in model.state_dict().items()
                                  if 'num_batches' not in k)
    assert fit.not_loaded_fraction == pytest.approx(3 / 10)


def test_a_new_classifier_is_fine_another_model_is_not():
    assert MAX_NOT_LOADED == 0.1
    model = net(blocks=10)  # 28 tensors
    # fine-tuning to 5 classes: the classifier (2 of 28 tensors, few elements) differs
    fit = check_checkpoint_fits(model, {'state_dict': net(classes=5, blocks=10).state_dict()})
    assert len(fit.mismatched) == 2 and fit.not_loaded_fraction < MAX_NOT_LOADED
    # 1 of 4 tensors by count (25 %), but 99.9 % of the elements: refused, by elements
    big = nn.Sequential(OrderedDict(conv2=nn.Conv2d(8, 8, 31), cls=nn.Conv2d(8, 3, 1)))
    small = nn.Sequential(OrderedDict(conv2=nn.Conv2d(8, 8, 3), cls=nn.Conv2d(8, 3, 1)))
    with pytest.raises(ValueError) as err:
        check_checkpoint_fits(big, small.state_dict(), 'other.pth', max_not_loaded=0.3)
    msg = str(err.value)
    assert isinstance(err.value, CheckpointMismatchError)
    assert msg.startswith('other.pth does not fit the model Sequential: 99.9% of it would not be '
                          'loaded (at most 30% allowed). 3 of 4 model tensors would be loaded')
    assert '1 of another shape (conv2.weight: checkpoint (8, 8, 3, 3), model (8, 8, 31, 31))' in msg
    assert '--allow-partial-checkpoint' in msg and 'allow_partial=True' in msg
    # a segmentation checkpoint for another model: counts and the first names
    seg = {f'decode_head.conv{i}.weight': torch.ones(2) for i in range(9)}
    with pytest.raises(CheckpointMismatchError) as err:
        check_checkpoint_fits(model, {'state_dict': seg})
    msg = str(err.value)
    assert '100.0% of it would not be loaded (at most 10% allowed)' in msg
    assert '0 of 28 model tensors would be loaded' in msg
    assert '28 missing from the checkpoint (conv1.weight, conv1.bias, bn.weight, bn.bias, ' \
           'bn.running_mean, ...)' in msg
    assert '9 checkpoint tensors the model does not have (decode_head.conv0.weight' in msg
    # on purpose: a warning, and the report
    assert check_checkpoint_fits(model, {'state_dict': seg}, allow_partial=True).loaded == []


def test_hook_stops_runner_load_before_the_model_is_touched(tmp_path):
    runner = toy_runner(tmp_path / 'work', custom_hooks=[dict(type='CheckpointFitHook')])
    before = {k: v.clone() for k, v in runner.model.state_dict().items()}
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': {'backbone.w': torch.ones(3), 'head.w': torch.ones(2)}}, other)
    runner._load_from = str(other)
    with pytest.raises(CheckpointMismatchError, match=f'^{other} does not fit the model '
                       'ToyRegressor: 100.0% of it'):
        runner.load_checkpoint(str(other))
    assert all(torch.equal(v, before[k]) for k, v in runner.model.state_dict().items())
    same = tmp_path / 'same.pth'
    torch.save({'state_dict': {'module.' + k: v + 1 for k, v in before.items()}}, same)
    runner.load_checkpoint(str(same))  # mmengine's 'module.' prefix is stripped first
    assert all(torch.equal(v, before[k] + 1) for k, v in runner.model.state_dict().items())
