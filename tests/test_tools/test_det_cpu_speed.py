"""``tools/analysis_tools/det_cpu_speed.py`` at a toy size: both models run with the same
detection budget, the table and JSON hold the timings and their ratio."""
import importlib.util
import json

import pytest

from tool_run_helpers import REPO


@pytest.fixture(scope='module')
def speed_tool():
    spec = importlib.util.spec_from_file_location(
        'segdet_tool_det_cpu_speed', REPO / 'tools' / 'analysis_tools' / 'det_cpu_speed.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_time_interleaved_alternates_the_order(speed_tool):
    calls = []
    times = speed_tool.time_interleaved({'a': lambda: calls.append('a'),
                                         'b': lambda: calls.append('b')}, 1, 3)
    assert calls == ['a', 'b', 'a', 'b', 'b', 'a', 'a', 'b']
    assert [len(v) for v in times.values()] == [3, 3]


def test_speed_script_compares_with_torchvision(speed_tool, tmp_path, capsys):
    out = tmp_path / 'det_speed.json'
    assert speed_tool.main(['--threads', '1', '--size', '64', '96', '--models', 'faster_rcnn',
                            '--warmup', '0', '--repeats', '1', '--detections', '20',
                            '--out', str(out)]) == 0
    result = json.loads(out.read_text())
    row = result['results'][0]
    assert row['model'] == 'faster_rcnn' and row['dets'] == '20/20'
    assert row['ratio'] == pytest.approx(row['segdet'] / row['torchvision'])
    assert 'faster_rcnn' in capsys.readouterr().out
