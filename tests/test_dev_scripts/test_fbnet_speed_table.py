"""``.dev_scripts/fbnet_speed_table.py`` at a toy size: an FBNet config and its R-50-C4 reference,
batch 1 and 2, fp32; the JSON rows, the ratios and the tables (no timing assertions)."""
import json

import pytest
from dev_script_loader import load_dev_script

FBNET = 'fbnet/faster-rcnn_fbnet-default_600_0.5x_coco.py'
C4 = 'faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py'


@pytest.fixture(scope='module')
def table_tool():
    return load_dev_script('fbnet_speed_table')


@pytest.fixture(scope='module')
def toy_run(table_tool, tmp_path_factory):
    """One run of the script's main: 64x48 images, test Resize scaled by 0.1 (FBNet 60x80,
    R-50-C4 80x107), 10 proposals, no warm-up, one iteration, one thread."""
    out = tmp_path_factory.mktemp('fbnet_speed') / 'speed.json'
    results = table_tool.main([
        '--configs', FBNET, C4, '--batch-sizes', '1', '2', '--num-warmup', '0', '--num-iters',
        '1', '--amp-modes', 'fp32', '--threads', '1', '--image-size', '64', '48',
        '--test-scale-factor', '0.1', '--proposals', '10', '--out', str(out)])
    return results, out


def test_rows_per_config_and_batch_size(toy_run):
    results, out = toy_run
    assert json.loads(out.read_text()) == results
    assert results['cpu']['model'] and results['threads'] == 1
    assert results['settings']['images'] == 2  # a multiple of both batch sizes
    rows = results['rows']
    assert [(r['config'], r['batch_size']) for r in rows] == [(FBNET, 1), (FBNET, 2), (C4, 1),
                                                              (C4, 2)]
    shapes = {FBNET: [60, 80], C4: [80, 107]}
    for row in rows:
        assert row['precision'] == 'fp32' and row['autocast'] is False
        assert row['reference'] == (row['config'] == C4) and row['type'] == 'Fast'
        assert row['image_shape'] == [48, 64] and row['pipeline_shape'] == shapes[row['config']]
        assert row['input_shapes'] == row['loader_input_shapes'] == [
            [-(-s // 32) * 32 for s in shapes[row['config']]]]  # padded to 32
        for key in ('model_s_per_image', 'total_s_per_image', 'data_s_per_image',
                    'loader_model_s_per_image', 'network_s_per_image', 'peak_rss_mb',
                    'trunk_gflops_per_image'):
            assert row[key] > 0, key
        assert row['total_s_per_image'] == pytest.approx(
            row['loader_model_s_per_image'] + row['data_s_per_image'])
        assert len(row['model_times']) == row['iters'] == 1
        assert row['params'] > 0 and row['fused_batchnorms'] > 0


def test_ratios_come_from_the_rows(toy_run, table_tool):
    results, _ = toy_run
    by_key = {(r['config'], r['batch_size']): r for r in results['rows']}
    ratios = results['ratios']
    assert [(r['batch_size'], r['measure']) for r in ratios] == [
        (1, 'model'), (1, 'total'), (2, 'model'), (2, 'total')]
    for r in ratios:
        assert r['config'] == FBNET and r['reference'] == C4
        ref, fbnet = by_key[(C4, r['batch_size'])], by_key[(FBNET, r['batch_size'])]
        measure = f"{r['measure']}_s_per_image"
        assert r['ratio'] == pytest.approx(ref[measure] / fbnet[measure])
        assert r['meets_target'] == (r['ratio'] >= results['target'])
    assert table_tool.speed_ratios(results['rows'], 1e9)[0]['meets_target'] is False


def test_markdown_from_the_json(toy_run, table_tool, capsys):
    results, out = toy_run
    capsys.readouterr()
    assert table_tool.main(['--from-json', str(out), '--markdown']) == results
    text = capsys.readouterr().out
    assert text.startswith('CPU: ') and '1 thread,' in text and '--amp' not in text
    tables = [line for line in text.splitlines() if line.startswith('| ')]
    assert tables[0].split(' | ')[5:9] == ['fp32 model b1', 'fp32 total b1', 'fp32 model b2',
                                            'fp32 total b2']
    c4 = next(line for line in tables if line.startswith('| faster-rcnn_r50-caffe_c4'))
    assert '(reference)' in c4 and '80x107 (96x128 padded)' in c4
    fbnet_ratio = tables[-1].split(' | ')
    assert fbnet_ratio[0] == '| faster-rcnn_fbnet-default_600_0.5x_coco'
    assert fbnet_ratio[2].strip('*') == f"{results['ratios'][0]['ratio']:.2f}x"


def test_iterations_and_image_count(table_tool):
    assert table_tool.iterations([1, 8], None) == [5, 2]
    assert table_tool.iterations([1, 8], [3]) == [3, 3]
    assert table_tool.iterations([1, 8], [4, 1]) == [4, 1]
    with pytest.raises(ValueError, match='one per batch size'):
        table_tool.iterations([1, 8], [1, 2, 3])
    # b8: 8 x (1 + 2) = 24 images, a multiple of 8; b3 with b2: lcm 6
    assert table_tool.images_needed([1, 8], [5, 2], 1) == 24
    assert table_tool.images_needed([2, 3], [1, 1], 0) == 6


def test_images_are_reproducible(table_tool, tmp_path):
    ann = [table_tool.write_images(tmp_path / name, (40, 30), 2, seed=0) for name in 'ab']
    coco = json.loads((tmp_path / 'a' / ann[0]).read_text())
    assert [(i['width'], i['height']) for i in coco['images']] == [(40, 30)] * 2
    assert coco['annotations'] == [] and len(coco['categories']) == 80
    for image in coco['images']:
        name = f"images/{image['file_name']}"
        assert (tmp_path / 'a' / name).read_bytes() == (tmp_path / 'b' / name).read_bytes()
