"""tools/benchmark.py end to end on the shrunk demo model: every figure present and positive."""
import json

import pytest

from tool_run_helpers import DEMO_CONFIG, cli_options, eval_options, load_tool, model_options


@pytest.fixture(scope='module')
def bench_tool():
    return load_tool('benchmark.py')


@pytest.mark.parametrize('task', ['train', 'inference'])
def test_random_inputs_write_json(task, tmp_path, tool_argv, bench_tool, capsys) -> None:
    out = tmp_path / 'b.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', task, '--shape', '64', '64',
              '--batch-size', '2', '--num-warmup', '1', '--num-iters', '2', '--amp',
              '--no-progress', '--out', str(out), '--cfg-options',
              *cli_options(model_options()))
    record = json.loads(out.read_text())
    assert record['task'] == task and record['batch_size'] == 2 and record['amp'] is True
    # On by default only where --amp runs bf16 autocast on a CPU (native bf16).
    assert record['channels_last'] is record['autocast']
    assert len(record['times']) == 2 and record['warmup'] == 1
    for key in ('s_per_iter', 'peak_memory_mb'):
        assert record[key] > 0, key
    assert record['environment']['torch']
    if task == 'inference':
        assert record['s_per_image'] == pytest.approx(record['s_per_iter'] / 2)
    assert ('s/iter' if task == 'train' else 's/im') in capsys.readouterr().out


def test_data_set_inputs(shapes_root, tmp_path, tool_argv, bench_tool) -> None:
    out = tmp_path / 'b.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--num-warmup', '1',
              '--num-iters', '3', '--no-progress', '--out', str(out), '--cfg-options',
              *cli_options(eval_options(str(shapes_root))))
    record = json.loads(out.read_text())
    assert record['batch_size'] == 1 and record['channels_last'] is False
    assert record['s_per_image'] > 0 and record['data_time'] > 0


def test_missing_checkpoint_is_named(tmp_path, tool_argv, bench_tool) -> None:
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*nope.pth'):
        tool_argv(bench_tool, str(DEMO_CONFIG), str(tmp_path / 'nope.pth'))


def test_inference_reports_flops(tmp_path, tool_argv, bench_tool) -> None:
    from tool_run_helpers import load_tool as _load
    out = tmp_path / 'b.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--shape', '64', '64',
              '--num-warmup', '0', '--num-iters', '1', '--no-progress', '--out', str(out),
              '--cfg-options', *cli_options(model_options()))
    record = json.loads(out.read_text())
    flops = _load('analysis_tools/get_flops.py').main(
        [str(DEMO_CONFIG), '--shape', '64', '64', '--cfg-options',
         *cli_options(model_options())])['flops']
    assert record['flops_per_image'] == flops  # the same count as get_flops.py
    assert record['achieved_gflops_per_s'] == pytest.approx(
        flops / 1e9 / record['s_per_image'])


def test_data_task(shapes_root, tmp_path, tool_argv, bench_tool) -> None:
    out = tmp_path / 'd.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'data', '--batch-size', '2',
              '--num-warmup', '1', '--num-iters', '3', '--no-progress', '--out', str(out),
              '--cfg-options', *cli_options(eval_options(str(shapes_root))))
    record = json.loads(out.read_text())
    assert record['task'] == 'data' and record['batch_size'] == 2 and len(record['times']) == 3
    assert record['img_per_s'] == pytest.approx(2 * 3 / sum(record['times']))
