"""segdet.engine.benchmark.flops: FLOP convention, FLOP counts, matmul throughput."""
import pytest
import torch
from torch import nn

from segdet.engine.benchmark import (count_flops, gflops_per_second, matmul_flops,
                                     measure_matmul_throughput)


def test_matmul_flops_counts_two_per_multiply_accumulate() -> None:
    assert matmul_flops(3) == 2 * 27
    assert matmul_flops(2, 3, 4) == 2 * 2 * 3 * 4


def test_gflops_per_second() -> None:
    assert gflops_per_second(4e9, 2.0) == pytest.approx(2.0)
    with pytest.raises(ValueError, match='positive time, got 0'):
        gflops_per_second(1.0, 0)


def test_count_flops_of_a_conv_matches_hand_count() -> None:
    conv = nn.Conv2d(3, 8, kernel_size=3, padding=1, bias=False)
    x = torch.zeros(1, 3, 10, 12)
    counted = count_flops(conv, x)
    macs = 8 * 3 * 3 * 3 * 10 * 12  # Cout * Cin * k * k * Hout * Wout
    assert counted.macs == macs
    assert counted.flops == 2 * macs
    assert counted.by_operator == {'conv': macs}


def test_count_flops_follows_a_callable_over_the_model() -> None:
    lin = nn.Linear(5, 7, bias=False)
    counted = count_flops(lin, torch.zeros(4, 5), fn=lambda t: lin(t) @ torch.ones(7, 2))
    assert counted.macs == 4 * 5 * 7 + 4 * 7 * 2


def test_measure_matmul_throughput_structure() -> None:
    lines = []
    result = measure_matmul_throughput(sizes=(32, 64), repeats=2, min_time=0.001,
                                       log=lines.append)
    assert set(result['sizes']) == {'32', '64'}
    assert result['peak_gflops_per_s'] == max(r['gflops_per_s']
                                              for r in result['sizes'].values()) > 0
    assert result['peak_size'] in (32, 64) and result['dtype'] == 'float32'
    assert len(lines) == 2 and lines[0].startswith('matmul 32x32 float32:')


def test_scaled_dot_product_attention_is_counted_as_its_two_matmuls() -> None:
    class Attention(nn.Module):
        def forward(self, q, k, v):
            return torch.nn.functional.scaled_dot_product_attention(q, k, v)

    q, k, v = torch.rand(2, 3, 5, 4), torch.rand(2, 3, 7, 4), torch.rand(2, 3, 7, 6)
    result = count_flops(Attention(), (q, k, v))
    # Q K^T: 2*3 x 5 x 7 x 4 MACs; weights V: 2*3 x 5 x 7 x 6 MACs
    assert result.macs == 6 * 5 * 7 * (4 + 6)
    assert 'aten::scaled_dot_product_attention' not in result.unsupported_ops
