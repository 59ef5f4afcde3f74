""".dev_scripts/depthwise_bf16_bench.py at a toy size: one row per case and layout with every
time positive, written to JSON with the CPU it ran on (no timing assertions)."""
import json

from dev_script_loader import load_dev_script


def test_rows_and_json(tmp_path, monkeypatch, capsys):
    bench = load_dev_script('depthwise_bf16_bench')
    monkeypatch.setattr(bench, 'CASES', [(1, 4, 8, 2, 1)])
    out = tmp_path / 'depthwise.json'
    rows = bench.main(['--threads', '1', '--warmup', '0', '--iters', '1', '--out', str(out)])
    assert [r['layout'] for r in rows] == ['NHWC', 'NCHW']
    for row in rows:
        assert row['case'] == [1, 4, 8, 2, 1]
        assert all(row[k] > 0 for k in ('fp32_fwd_ms', 'bf16_fwd_ms', 'fp32_fwd_bwd_ms',
                                        'bf16_fwd_bwd_ms'))
    data = json.loads(out.read_text())
    assert data['rows'] == rows and data['threads'] == 1 and 'cpu' in data
    assert '| 1, 4, 8, 2, 1 | NHWC |' in capsys.readouterr().out
