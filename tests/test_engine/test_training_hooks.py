"""Training guards and early stop: NaN/inf losses, skipped samples, TargetMetricStopHook."""
import math

import pytest
import torch
from mmengine.structures import BaseDataElement

from segdet.engine import NonFiniteLossError, load_checkpoint_file
from segdet.engine.hooks import non_finite_terms, skipped_in_batch, targets_reached
from toy_runner import toy_runner


def test_non_finite_terms_names_only_bad_losses() -> None:
    log_vars = {'loss': torch.tensor(float('nan')), 'decode.loss_ce': torch.tensor(float('nan')),
                'aux.loss_ce': torch.tensor(0.5), 'decode.acc_seg': torch.tensor(float('nan')),
                'loss_box': float('inf')}
    bad = non_finite_terms(log_vars)
    assert list(bad) == ['loss', 'decode.loss_ce', 'loss_box']
    assert math.isnan(bad['decode.loss_ce']) and bad['loss_box'] == math.inf
    assert non_finite_terms({'loss': torch.tensor(1.0)}) == {}


def test_nan_loss_stops_with_iteration_and_term_and_keeps_last_checkpoint(tmp_path) -> None:
    work = tmp_path / 'w'
    runner = toy_runner(work, max_iters=8, nan_at=5,
                        custom_hooks=[dict(type='CheckInvalidLossHook')])
    with pytest.raises(NonFiniteLossError) as err:
        runner.train()
    message = str(err.value)
    assert 'iteration 5' in message and 'loss_mse=nan' in message
    assert str(work / 'iter_4.pth') in message
    # The bad step's weights were never saved: the pointer and the checkpoint are the good ones.
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth', 'iter_4.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    state = load_checkpoint_file(work / 'iter_4.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values())


def test_nan_at_an_even_iteration_is_caught_before_its_checkpoint(tmp_path) -> None:
    work = tmp_path / 'w'
    runner = toy_runner(work, max_iters=8, nan_at=4,
                        custom_hooks=[dict(type='CheckInvalidLossHook')])
    with pytest.raises(NonFiniteLossError, match='iteration 4'):
        runner.train()
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth']


def test_targets_reached_rules() -> None:
    assert targets_reached({'a': 0.5, 'b': 0.4}, {'a': 0.5, 'b': 0.3}) == (True, [])
    assert targets_reached({'a': 0.5, 'b': 0.2}, {'a': 0.5, 'b': 0.3}) == (False, [])
    assert targets_reached({'a': 0.5}, {'a': 0.5, 'c': 1}) == (False, ['c'])
    assert targets_reached({'loss': 0.1}, {'loss': 0.2}, rule='less') == (True, [])


def test_target_metric_stop_hook_stops_saves_and_logs(tmp_path) -> None:
    work = tmp_path / 'w'
    runner = toy_runner(work, max_iters=40, val_interval=2, lr=0.1,
                        checkpoint=dict(interval=100),
                        custom_hooks=[dict(type='TargetMetricStopHook',
                                           targets={'score': 99.0})])
    runner.train()
    stopped = runner.iter
    assert stopped < 40 and stopped % 2 == 0
    ckpt = work / f'target_reached_iter_{stopped}.pth'
    assert (work / 'last_checkpoint').read_text() == str(ckpt)
    saved = load_checkpoint_file(ckpt)
    assert saved['meta']['iter'] == stopped  # the completed count, so --resume continues right
    log = next(work.glob('*/*.log')).read_text()
    assert f'all targets reached at iter {stopped}: score=' in log
    assert 'Stopping training' in log


def test_target_metric_stop_hook_warns_on_unknown_metric(tmp_path) -> None:
    work = tmp_path / 'w'
    runner = toy_runner(work, max_iters=4, val_interval=2,
                        custom_hooks=[dict(type='TargetMetricStopHook', targets={'mIoU': 1})])
    runner.train()
    assert runner.iter == 4
    log = next(work.glob('*/*.log')).read_text()
    assert "metric(s) ['mIoU'] are not among the validation results ['score']" in log


def test_target_metric_stop_hook_rejects_bad_arguments() -> None:
    from segdet.engine import TargetMetricStopHook
    with pytest.raises(ValueError, match='at least one metric'):
        TargetMetricStopHook(targets={})
    with pytest.raises(ValueError, match="'greater' or 'less'"):
        TargetMetricStopHook(targets={'a': 1}, rule='max')


def test_skipped_in_batch_reads_sample_tags() -> None:
    tagged = BaseDataElement(metainfo=dict(skipped_bad_samples=['cannot read image a.png']))
    batch = dict(inputs=[None, None], data_samples=[BaseDataElement(), tagged])
    assert skipped_in_batch(batch) == ['cannot read image a.png']
    assert skipped_in_batch(None) == []
