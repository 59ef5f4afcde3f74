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


def test_segmentation_losses_are_fp32_under_bf16_autocast():
    """The decode head's logits are bf16 under autocast; its losses come out fp32."""
    from mmengine.registry import init_default_scope
    from mmengine.structures import PixelData

    from segdet.registry import MODELS
    from segdet.structures import DataSample
    init_default_scope('segdet')
    torch.manual_seed(0)
    head = MODELS.build(dict(type='FCNHead', in_channels=8, channels=8, num_convs=1,
                             num_classes=3, norm_cfg=None, align_corners=False,
                             loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)))
    sample = DataSample(metainfo=dict(img_shape=(16, 16), pad_shape=(16, 16)))
    sample.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, 16, 16)))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        logits = head([torch.randn(1, 8, 4, 4)])
        losses = head.loss_by_feat(logits, [sample])
    assert logits.dtype == torch.bfloat16
    assert losses['loss_ce'].dtype == torch.float32 and torch.isfinite(losses['loss_ce'])


def test_amp_wrapper_with_fixed_loss_scale_steps_and_updates():
    """fp16 + loss_scale=512 (the *-amp-* configs): gradients are unscaled before the step."""
    torch.manual_seed(0)
    plain, scaled = nn.Linear(4, 1), nn.Linear(4, 1)
    scaled.load_state_dict(plain.state_dict())
    x = torch.randn(8, 4)
    w_plain = torch.optim.SGD(plain.parameters(), lr=0.1)
    plain(x).pow(2).mean().backward()
    w_plain.step()
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(scaled.parameters(), lr=0.1),
                              dtype='float16', device_type='cpu', loss_scale=512.)
    wrapper.enabled = False  # fp32 forward: compare the scaling logic alone
    wrapper.update_params(scaled(x).pow(2).mean())
    torch.testing.assert_close(scaled.weight, plain.weight)


@pytest.mark.parametrize('onednn, flags, native', [
    (True, frozenset({'avx2', 'avx512f', 'avx512bw', 'avx512_vnni'}), False),  # AVX-512 Xeon
    (True, frozenset({'avx2', 'avx512f', 'avx512_bf16'}), True),  # EPYC Zen 4
    (True, frozenset({'avx2', 'avx512f', 'amx_bf16', 'amx_tile'}), True),  # Sapphire Rapids
    (False, frozenset({'avx2', 'fma'}), False),  # AVX2 only
    (False, frozenset({'avx512_bf16'}), False),  # a oneDNN that cannot use it
    (True, None, True),  # no /proc/cpuinfo: oneDNN decides
])
def test_native_bf16_needs_a_bf16_instruction_flag(monkeypatch, onednn, flags, native):
    # oneDNN says yes on AVX-512 without bf16 instructions, where bf16 is emulated and slow.
    monkeypatch.setattr(torch.ops.mkldnn, '_is_mkldnn_bf16_supported', lambda: onednn)
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_flags', lambda: flags)
    assert amp_optim_wrapper.cpu_supports_bf16() is native
    assert amp_optim_wrapper.bf16_is_emulated('cpu') is (not native)
    assert amp_optim_wrapper.bf16_is_emulated('cuda') is False


def test_cpu_flags_reads_the_flags_line(tmp_path):
    cpuinfo = tmp_path / 'cpuinfo'
    cpuinfo.write_text('processor\t: 0\nmodel name\t: AMD EPYC\n'
                       'flags\t\t: fpu sse2 avx2 avx512f avx512_bf16\n\nprocessor\t: 1\n')
    assert amp_optim_wrapper.cpu_flags(str(cpuinfo)) == {'fpu', 'sse2', 'avx2', 'avx512f',
                                                        'avx512_bf16'}
    assert amp_optim_wrapper.cpu_flags(str(tmp_path / 'missing')) is None
    # ARM lists 'Features', not x86 flags: no flag set, so oneDNN's answer is trusted.
    arm = tmp_path / 'arm_cpuinfo'
    arm.write_text('processor\t: 0\nFeatures\t: fp asimd sve bf16\nCPU part\t: 0xd4f\n')
    assert amp_optim_wrapper.cpu_flags(str(arm)) is None
