"""configure_runtime (SyncBN, gloo, flush-denormal, channels_last) and MemoryFormatHook."""
import types

import pytest
import torch
from mmengine.config import Config
from mmengine.model import BaseTTAModel

from segdet.engine import MemoryFormatHook
from segdet.engine.runtime import configure_runtime, resolve_channels_last

SYNC_MODEL = dict(type='EncoderDecoder', backbone=dict(norm_cfg=dict(type='SyncBN')))


def cfg(**extra) -> Config:
    return Config(dict(model=SYNC_MODEL, env_cfg=dict(dist_cfg=dict(backend='nccl')), **extra))


@pytest.fixture(autouse=True)
def restore_flush_denormal():
    yield
    torch.set_flush_denormal(False)


def test_single_process_reverts_sync_bn_and_flushes_denormals() -> None:
    c = cfg()
    configure_runtime(c, 'none')
    assert c.model.backbone.norm_cfg.type == 'BN'
    assert c.env_cfg.dist_cfg.backend == 'nccl'  # untouched: not distributed
    assert torch.tensor([1e-40]).item() == 0.0  # flushed (a float32 denormal)


def test_flush_denormal_can_be_disabled() -> None:
    c = cfg()
    c.env_cfg.flush_denormal = False
    configure_runtime(c, 'none')
    assert torch.tensor([1e-40]).item() != 0.0


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only behaviour')
def test_distributed_without_cuda_uses_gloo_bn_and_buffer_sync() -> None:
    c = cfg()
    with pytest.warns(UserWarning, match='SyncBN replaced by BN'):
        configure_runtime(c, 'pytorch')
    assert c.env_cfg.dist_cfg.backend == 'gloo'
    assert c.model.backbone.norm_cfg.type == 'BN'
    assert c.model_wrapper_cfg == dict(type='MMDistributedDataParallel', device_ids=None,
                                       broadcast_buffers=False)
    assert [h['type'] for h in c.custom_hooks] == ['SyncNormBuffersHook']


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only behaviour')
def test_channels_last_resolution(monkeypatch) -> None:
    from segdet.engine.optimizers import amp_optim_wrapper
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: True)
    assert resolve_channels_last(cfg(), None, amp=True) is True  # --amp (bf16) on CPU: on
    assert resolve_channels_last(cfg(), None, amp=False) is False
    assert resolve_channels_last(cfg(), False, amp=True) is False  # --no-channels-last wins
    assert resolve_channels_last(cfg(channels_last=True), None, amp=False) is True
    c = cfg(custom_hooks=[dict(type='CheckInvalidLossHook')])
    configure_runtime(c, 'none', amp=True)
    configure_runtime(c, 'none', amp=True)  # idempotent
    assert [h['type'] for h in c.custom_hooks] == ['CheckInvalidLossHook', 'MemoryFormatHook',
                                                   'Fp32DepthwiseHook']
    # Without native bf16, --amp trains fp32, where NHWC is slower here: stays NCHW.
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: False)
    assert resolve_channels_last(cfg(), None, amp=True) is False
    forced = cfg(optim_wrapper=dict(type='AmpOptimWrapper', dtype='bfloat16'))
    assert resolve_channels_last(forced, None, amp=True) is True
    assert resolve_channels_last(forced, None, amp=False) is True  # an amp config, no --amp


def test_memory_format_hook_converts_model_and_inputs() -> None:
    seen = {}

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            seen['input_cl'] = inputs.is_contiguous(memory_format=torch.channels_last)
            return self.conv(inputs)

    net = Net()
    runner = types.SimpleNamespace(model=net)
    hook = MemoryFormatHook()
    hook.before_train(runner)
    hook.before_val(runner)  # converting twice registers one input hook
    assert net.conv.weight.is_contiguous(memory_format=torch.channels_last)
    out = net(inputs=torch.randn(2, 3, 8, 8), mode='tensor')
    assert seen['input_cl'] and out.is_contiguous(memory_format=torch.channels_last)
    out = net(torch.randn(2, 3, 8, 8))  # positional inputs too
    assert seen['input_cl']
    reference = torch.nn.functional.conv2d(torch.ones(1, 3, 8, 8), net.conv.weight.contiguous(),
                                           net.conv.bias)
    torch.testing.assert_close(net(torch.ones(1, 3, 8, 8)), reference)
    with pytest.raises(ValueError, match='memory_format must be one of'):
        MemoryFormatHook('nhwc')


def test_memory_format_hook_converts_the_model_inside_a_tta_wrapper() -> None:
    # tools/test.py --tta: the TTA model calls the wrapped model, whose inputs must convert.
    seen = {}

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            seen['input_cl'] = inputs.is_contiguous(memory_format=torch.channels_last)
            return self.conv(inputs)

        def test_step(self, data):
            return [self(data['inputs'])]

    class Merge(BaseTTAModel):
        def merge_preds(self, data_samples_list):
            return [views[0] for views in data_samples_list]

    tta = Merge(module=Net())
    MemoryFormatHook().before_test(types.SimpleNamespace(model=tta))
    assert tta.module.conv.weight.is_contiguous(memory_format=torch.channels_last)
    tta.test_step(dict(inputs=[torch.randn(2, 3, 8, 8)]))
    assert seen['input_cl']


def test_enable_amp_shared_by_train_and_benchmark() -> None:
    from segdet.engine.runtime import enable_amp
    c = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD'))))
    enable_amp(c, 'bfloat16')
    assert c.optim_wrapper.type == 'AmpOptimWrapper' and c.optim_wrapper.loss_scale == 'dynamic'
    assert c.optim_wrapper.dtype == 'bfloat16'
    fixed = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', loss_scale=512.)))
    enable_amp(fixed)
    assert fixed.optim_wrapper.loss_scale == 512. and 'dtype' not in fixed.optim_wrapper
    with pytest.raises(ValueError, match="the config has 'ApexOptimWrapper'"):
        enable_amp(Config(dict(optim_wrapper=dict(type='ApexOptimWrapper'))))
    with pytest.raises(ValueError, match='needs an optim_wrapper'):
        enable_amp(Config(dict(model=dict())))


@pytest.mark.skipif(torch.cuda.is_available(), reason='checks the CPU-only behaviour')
def test_fp32_inference_is_channels_last_on_avx512_cpus(monkeypatch) -> None:
    from segdet.engine.optimizers import amp_optim_wrapper
    from segdet.engine.runtime import fp32_nhwc_is_faster
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: False)
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability', lambda: 'AVX512')
    assert fp32_nhwc_is_faster()
    assert resolve_channels_last(cfg(), None, amp=False, inference=True) is True
    assert resolve_channels_last(cfg(), None, amp=False) is False  # training stays NCHW
    assert resolve_channels_last(cfg(), False, amp=False, inference=True) is False  # the flag
    assert resolve_channels_last(cfg(channels_last=False), None, amp=False,
                                 inference=True) is False  # the config
    tested, trained = cfg(), cfg()
    configure_runtime(tested, 'none', inference=True)
    configure_runtime(trained, 'none')
    assert [h['type'] for h in tested.custom_hooks] == ['MemoryFormatHook']
    assert not trained.get('custom_hooks')
    monkeypatch.setattr(torch.backends.cpu, 'get_cpu_capability', lambda: 'AVX2')
    assert not fp32_nhwc_is_faster()
    assert resolve_channels_last(cfg(), None, amp=False, inference=True) is False
