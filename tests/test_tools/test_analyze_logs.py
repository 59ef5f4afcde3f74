"""analyze_logs.py on the shared run's real JSON log: a non-empty PNG, timing, named errors."""
import cv2
import numpy as np
import pytest

from tool_run_helpers import load_tool


@pytest.fixture(scope='module')
def analyze():
    return load_tool('analysis_tools/analyze_logs.py')


def scalars(trained):
    logs = sorted(trained.work_dir.glob('*/vis_data/scalars.json'))
    assert logs
    return str(logs[0])


def test_plot_curve_from_a_training_log(trained, analyze, tmp_path) -> None:
    out = tmp_path / 'curve.png'
    analyze.main(['plot_curve', scalars(trained), '--keys', 'loss', 'mIoU', '--out', str(out)])
    img = cv2.imread(str(out))
    assert img is not None and img.shape[0] > 400  # two subplots
    assert (img < 250).any(axis=2).mean() > 0.01  # lines, axes and text were drawn


def test_cal_train_time(trained, analyze, capsys) -> None:
    result = analyze.cal_train_time(scalars(trained))
    assert result['intervals'] >= 1 and 0 < result['fastest'] <= result['mean'] <= result['slowest']
    analyze.main(['cal_train_time', scalars(trained)])
    assert 's/iter: mean' in capsys.readouterr().out


def test_bad_logs_are_named(analyze, tmp_path) -> None:
    bad = tmp_path / 'log.txt'
    bad.write_text('{"loss": 1.0, "step": 1}\nIter(train) [2/4] loss: 0.5\n')
    with pytest.raises(ValueError, match=r'log.txt, line 2: not JSON'):
        analyze.load_json_log(str(bad))
    with pytest.raises(FileNotFoundError, match='log file not found'):
        analyze.load_json_log(str(tmp_path / 'missing.json'))
    good = tmp_path / 'ok.json'
    good.write_text('{"loss": 1.0, "step": 1}\n')
    with pytest.raises(KeyError, match="no log has the key 'mIoU'"):
        analyze.plot_curve([str(good)], ['mIoU'], str(tmp_path / 'x.png'))
    assert np.isfinite(analyze.series(analyze.load_json_log(str(good)), 'loss')[1][0])
