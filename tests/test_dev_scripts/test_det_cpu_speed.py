"""``.dev_scripts/det_cpu_speed.py`` at a toy size: both models run with the same
detection budget, the table and JSON hold the timings and their ratio."""
import json

import pytest
from dev_script_loader import load_dev_script


@pytest.fixture(scope='module')
def speed_tool():
    return load_dev_script('det_cpu_speed')


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
