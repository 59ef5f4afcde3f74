import pytest
import torch
from torch import nn

from segdet.engine.optimizers import AmpOptimWrapper, amp_optim_wrapper, resolve_amp_dtype


@pytest.fixture
def native_bf16(monkeypatch):
    """Pretend this CPU has native bf16 (AVX512-BF16/AMX), so the default dtype is bf16."""
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: True)


def test_resolve_dtype():
    assert resolve_amp_dtype(None, 'cpu') == torch.bfloat16
    assert resolve_amp_dtype(None, 'cuda') == torch.float16
    assert resolve_amp_dtype('bf16', 'cuda') == torch.bfloat16
    with pytest.raises(ValueError, match='float8'):
        resolve_amp_dtype('float8', 'cpu')


def test_cpu_bf16_autocast_keeps_fp32_master_weights(native_bf16):
    torch.manual_seed(0)
    model = nn.Linear(8, 2)
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                              device_type='cpu')
    assert wrapper.loss_scaler is None
    before = model.weight.detach().clone()
    with wrapper.optim_context(model):
        out = model(torch.randn(4, 8))
    assert out.dtype == torch.bfloat16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32 and not torch.equal(model.weight, before)


def test_fp16_scaler_state_round_trip():
    model = nn.Linear(4, 1)
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                              dtype='float16', device_type='cpu', loss_scale=512.)
    state = wrapper.state_dict()
    assert state['loss_scaler']['scale'] == 512.
    other = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                            dtype='float16', device_type='cpu', loss_scale='dynamic')
    other.load_state_dict(state)
    assert other.loss_scaler.get_scale() == 512.


def test_cpu_without_native_bf16_trains_fp32_by_default(monkeypatch):
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: False)
    model = nn.Linear(8, 2)
    with pytest.warns(UserWarning, match='no native bf16'):
        wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                  device_type='cpu')
    assert not wrapper.enabled and wrapper.loss_scaler is None
    with wrapper.optim_context(model):
        assert model(torch.randn(4, 8)).dtype == torch.float32
    # An explicit dtype is honoured, with a warning about speed.
    with pytest.warns(UserWarning, match='much slower'):
        forced = AmpOptimWrapper(optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                                 device_type='cpu', dtype='bfloat16')
    with forced.optim_context(model):
        assert model(torch.randn(4, 8)).dtype == torch.bfloat16
