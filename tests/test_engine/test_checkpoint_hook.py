"""segdet's CheckpointHook: saves before it rotates, and writes last_checkpoint atomically."""
import pytest
from mmengine.registry import init_default_scope

from segdet.engine import CheckpointHook, load_checkpoint_file
from segdet.registry import HOOKS
from toy_runner import toy_runner


def test_config_name_resolves_to_segdet_hook() -> None:
    init_default_scope('segdet')
    assert HOOKS.get('CheckpointHook') is CheckpointHook


def test_max_keep_ckpts_and_last_checkpoint(tmp_path) -> None:
    runner = toy_runner(tmp_path / 'w', max_iters=8, checkpoint=dict(interval=2,
                                                                      max_keep_ckpts=2))
    runner.train()
    names = sorted(p.name for p in (tmp_path / 'w').glob('*.pth'))
    assert names == ['iter_6.pth', 'iter_8.pth']
    assert (tmp_path / 'w' / 'last_checkpoint').read_text() == str(tmp_path / 'w' / 'iter_8.pth')
    assert load_checkpoint_file(tmp_path / 'w' / 'iter_8.pth')['meta']['iter'] == 8
    assert not list((tmp_path / 'w').glob('.*.tmp'))


def test_failed_save_keeps_every_previous_checkpoint(tmp_path, monkeypatch) -> None:
    """mmengine deletes the oldest checkpoint before saving; segdet only after the save worked."""
    runner = toy_runner(tmp_path / 'w', max_iters=8, checkpoint=dict(interval=2,
                                                                      max_keep_ckpts=2))
    real_save = runner.save_checkpoint

    def save(out_dir, filename, *args, **kwargs):
        if filename == 'iter_6.pth':
            raise OSError(28, 'No space left on device')
        return real_save(out_dir, filename, *args, **kwargs)
    monkeypatch.setattr(runner, 'save_checkpoint', save)
    with pytest.raises(OSError, match='No space left'):
        runner.train()
    work = tmp_path / 'w'
    assert sorted(p.name for p in work.glob('*.pth')) == ['iter_2.pth', 'iter_4.pth']
    assert (work / 'last_checkpoint').read_text() == str(work / 'iter_4.pth')
    assert load_checkpoint_file(work / 'iter_4.pth')['meta']['iter'] == 4


def test_save_best_on_a_metric(tmp_path) -> None:
    runner = toy_runner(tmp_path / 'w', max_iters=6, val_interval=2,
                        checkpoint=dict(interval=2, save_best='score', rule='greater'))
    runner.train()
    best = list((tmp_path / 'w').glob('best_score_iter_*.pth'))
    assert len(best) == 1
    assert load_checkpoint_file(best[0])['message_hub']['runtime_info']['best_score'] > 0
