"""``.dev_scripts/zoo_speed_table.py`` on two small configs at a toy size: one benchmark run
per (config, precision), the table and the ratio to PSPNet."""
import json

import pytest
from dev_script_loader import load_dev_script

CONFIGS = ['pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
           'demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py']


@pytest.fixture(scope='module')
def table_tool():
    return load_dev_script('zoo_speed_table')


def test_table_of_two_configs(table_tool, tmp_path, capsys):
    out = tmp_path / 'zoo.json'
    results = table_tool.main(['--configs', *CONFIGS, '--shape', '32', '64', '--warmup', '0',
                               '--iters', '1', '--threads', '1', '--out', str(out)])
    assert json.loads(out.read_text()) == results
    assert results['shape'] == [32, 64] and list(results['models']) == CONFIGS
    for entry in results['models'].values():
        assert entry['params'] > 0
        for precision in ('fp32', 'amp'):
            report = entry[precision]
            assert report['amp'] == (precision == 'amp')
            assert report['input_shapes'] == [[32, 64]] and report['s_per_image'] > 0
    table = capsys.readouterr().out.split('| config |', 1)[1].splitlines()
    assert len(table) == 2 + len(CONFIGS)
    psp = table[2].split(' | ')
    assert psp[0] == '| pspnet_r50-d8_4xb2-80k_cityscapes-512x1024' and psp[4] == '1.00x'
    demo = results['models'][CONFIGS[1]]['fp32']['s_per_image']
    ratio = demo / results['models'][CONFIGS[0]]['fp32']['s_per_image']
    assert table[3].split(' | ')[4] == f'{ratio:.2f}x'
    amp = results['models'][CONFIGS[1]]['amp']['s_per_image']
    assert table[3].split(' | ')[6] == f'{demo / amp:.2f}x'


def test_amp_column_says_what_ran(table_tool):
    assert table_tool.amp_precision({'autocast': False}) == 'fp32 (no native bf16)'
    assert table_tool.amp_precision({'autocast': True, 'channels_last': True}) == \
        'bfloat16 autocast, channels_last'
    assert table_tool.amp_precision({}) == '-'


def test_pure_pytorch_op_times_at_a_toy_size(table_tool):
    ops = table_tool.pure_pytorch_op_times([64, 96], threads=1)
    assert set(ops) == {'psanet', 'ccnet'}
    assert all(entry['s_per_image'] > 0 for entry in ops.values())
