"""``.dev_scripts/cpu_speed_matrix.py`` at toy sizes: the cells it runs (one tools/benchmark.py
process each), what each records, and the tables built from them (no timing assertions)."""
import json

import pytest
from dev_script_loader import load_dev_script

from segdet.engine.runtime import fp32_nhwc_is_faster


@pytest.fixture(scope='module')
def matrix_tool():
    return load_dev_script('cpu_speed_matrix')


@pytest.fixture(scope='module')
def toy_run(matrix_tool, tmp_path_factory):
    """FCN at 64x128 and Faster R-CNN at 128x192, unfused and fused, one image, one thread."""
    out = tmp_path_factory.mktemp('matrix')
    summary = matrix_tool.main(['--quick', '--out-dir', str(out), '--variants', 'unfused',
                                'fused', '--train', '--threads', '1', '--num-iters', '1'])
    return summary, out


def test_cells_record_what_they_ran(toy_run):
    summary, out = toy_run
    assert json.loads((out / 'matrix.json').read_text()) == json.loads(
        json.dumps(summary, default=str))
    cells = summary['inference']
    assert list(cells) == ['FCN R-50-D8', 'Faster R-CNN R-50-FPN']
    assert summary['train'] == {}
    for name, row in cells.items():
        assert list(row) == ['unfused', 'fused']
        unfused, fused = row['unfused'], row['fused']
        assert 'error' not in unfused and 'error' not in fused, name
        assert unfused['fuse_conv_bn'] is False and unfused['channels_last'] is False
        assert fused['fuse_conv_bn'] is True and fused['fused_batchnorms'] > 0
        # fp32 inference defaults to NHWC where the CPU has AVX-512
        assert fused['channels_last'] is fp32_nhwc_is_faster()
        assert fused['s_per_image'] > 0 and fused['peak_memory_mb'] > 0
        assert '--no-fuse-conv-bn --no-channels-last' in unfused['command']
    assert cells['FCN R-50-D8']['fused']['input_shapes'] == [[64, 128]]
    assert cells['FCN R-50-D8']['fused']['gflops_per_image'] > 0  # a whole-mode segmentor
    assert not cells['Faster R-CNN R-50-FPN']['fused'].get('gflops_per_image')
    assert summary['matmul_peak_gflops_per_s']['fp32'] > 0
    assert sorted(p.name for p in out.glob('*_infer_*.json')) == [
        'faster_rcnn_r50fpn_infer_fused.json', 'faster_rcnn_r50fpn_infer_unfused.json',
        'fcn_r50d8_infer_fused.json', 'fcn_r50d8_infer_unfused.json']


def test_inference_table_from_hand_made_cells(matrix_tool):
    cells = {'M': {
        'unfused': dict(s_per_image=2.0, input_shapes=[[8, 16]], peak_memory_mb=100.0,
                        gflops_per_image=10.0),
        'fused': dict(s_per_image=1.6, peak_memory_mb=120.0, gflops_per_image=10.0),
        'amp': dict(s_per_image=0.5, peak_memory_mb=90.0)}}
    table = matrix_tool.inference_table(cells, {'fp32': 10.0, 'bf16': 40.0},
                                        ['unfused', 'fused', 'amp'])
    row = table.splitlines()[2].split(' | ')
    assert row[:5] == ['| M', '8x16', '2.000', '1.600', '0.500']
    assert row[5:7] == ['1.25x', '4.00x']  # 2.0 / 1.6, 2.0 / 0.5
    # GFLOP/s = 10 GFLOP / s; amp against the bf16 peak
    assert row[7] == 'unfused 5 (50%), fused 6 (62%), amp 20 (50%)'
    assert row[8] == '100 / 120 / 90 |'


def test_train_table_and_a_failed_cell(matrix_tool, tmp_path):
    table = matrix_tool.train_table({'M': {
        'fp32': dict(s_per_iter=3.0, input_shapes=[[32, 32]], peak_memory_mb=10.0),
        'amp': dict(s_per_iter=1.5, peak_memory_mb=8.0)}})
    assert table.splitlines()[2] == '| M | 32x32 b2 | 3.00 | 1.50 | 2.00x | 10 / 8 |'
    failed = matrix_tool.run_cell('configs/nope.py', ['--task', 'inference'],
                                  tmp_path / 'x.json')
    assert 'error' in failed and 'nope.py' in failed['command']
