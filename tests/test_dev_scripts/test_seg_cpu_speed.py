"""``.dev_scripts/seg_cpu_speed.py`` end to end at toy sizes: figures, ratios, slide check."""
import json
from pathlib import Path

import pytest
from dev_script_loader import load_dev_script

REPO = Path(__file__).resolve().parents[2]
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py'


@pytest.fixture(scope='module')
def speed_tool():
    return load_dev_script('seg_cpu_speed')


def test_speed_script_reports_whole_and_slide_figures(speed_tool, tmp_path, capsys) -> None:
    out = tmp_path / 'speed.json'
    results = speed_tool.main([
        '--threads', '1', '--warmup', '0', '--repeats', '1', '--size', '32', '64',
        '--configs', str(DEMO_CONFIG), '--references', '--formats', 'contiguous',
        '--slide-config', str(DEMO_CONFIG), '--slide-size', '64', '96',
        '--crop-size', '32', '48', '--stride', '24', '32', '--slide-repeats', '1',
        '--matmul-sizes', '32', '64', '--matmul-repeats', '1', '--out', str(out)])
    assert json.loads(out.read_text())['target'] == 0.6

    peak = results['matmul']['peak_gflops_per_s']
    assert peak == max(results['matmul']['before']['peak_gflops_per_s'],
                       results['matmul']['after']['peak_gflops_per_s'])
    [row] = results['whole']
    assert row['kind'] == 'segdet' and row['input_size'] == [32, 64]
    assert row['gflops'] * 1e9 == row['flop_count']['flops'] == 2 * row['flop_count']['macs']
    assert row['gflops_per_s'] == pytest.approx(row['gflops'] / row['s_per_im'])
    assert row['ratio_to_peak'] == pytest.approx(row['gflops_per_s'] / peak)
    assert row['target_met'] == (row['ratio_to_peak'] >= 0.6)

    slide = results['slide']
    # Windows of 32x48 at stride 24x32 over 64x96: 3 rows x 3 columns.
    assert slide['num_windows'] == 9
    # Default batch sizes: 1 (the baseline), 3, and all windows at once.
    one, three, batched = slide['runs']
    assert (one['batch_size'], one['forward_passes'], len(one['times'])) == (1, 9, 1)
    assert (three['batch_size'], three['forward_passes']) == (3, 3)
    assert (batched['batch_size'], batched['forward_passes']) == (9, 1)
    for run in (three, batched):
        assert run['pred_equal_fraction'] == 1.0 and run['max_abs_diff'] < 1e-4
        assert run['speedup_vs_batch1'] == pytest.approx(one['median'] / run['median'])
    printed = capsys.readouterr().out
    assert 'whole mode, fp32, matmul peak' in printed and 'slide 64x96' in printed
