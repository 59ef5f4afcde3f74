"""keep_depthwise_fp32 / Fp32DepthwiseHook: under CPU bf16 autocast, in passes that record
gradients, the depthwise convolutions (not the dilated NCHW islands) run in fp32 while the rest
stays bf16; nothing changes outside autocast or without gradients; autocast is back on after each of them, even when one raises; configure_runtime adds
the hook where --amp autocasts to bf16 on a CPU, and the config can turn it off."""
import copy

import pytest
import torch
from mmengine.config import Config
from torch import nn

from segdet.engine import Fp32DepthwiseHook, keep_depthwise_fp32
from segdet.engine.benchmark import build_benchmark_model
from segdet.engine.hooks.fp32_depthwise_hook import is_depthwise, runs_fp32_under_autocast
from segdet.engine.runtime import configure_runtime, resolve_fp32_depthwise


class Separable(nn.Module):
    """A dense conv, a stride-2 depthwise conv, a dilation-12 depthwise conv (run as
    space-to-batch in channels_last, left in bf16) and a pointwise conv; records each output dtype."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.depthwise = nn.Conv2d(channels, channels, 3, stride=2, padding=1, groups=channels)
        self.dilated = nn.Conv2d(channels, channels, 3, padding=12, dilation=12,
                                 groups=channels)
        self.point = nn.Conv2d(channels, 4, 1)
        self.dtypes: dict = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in ('stem', 'depthwise', 'dilated', 'point'):
            x = getattr(self, name)(x)
            self.dtypes[name] = x.dtype
        return x


def bf16(fn):
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = fn()
        assert torch.is_autocast_enabled('cpu')  # back on after every island
    return out


def test_which_convs_leave_autocast():
    model = Separable()
    assert [is_depthwise(m) for m in (model.stem, model.depthwise, model.dilated,
                                      model.point)] == [False, True, True, False]
    assert runs_fp32_under_autocast(model.depthwise)
    assert not runs_fp32_under_autocast(model.dilated)  # left in bf16 (stride 1, large maps)
    assert not is_depthwise(nn.Conv2d(8, 16, 3, groups=4))  # grouped, not depthwise
    assert keep_depthwise_fp32(model) == ['depthwise']
    assert keep_depthwise_fp32(model) == []  # once only


def test_dtypes_under_bf16_autocast_and_values():
    torch.manual_seed(0)
    model = Separable()
    reference = copy.deepcopy(model)
    keep_depthwise_fp32(model)
    x = torch.randn(2, 3, 16, 16)
    out = bf16(lambda: model(x))
    assert model.dtypes == dict(stem=torch.bfloat16, depthwise=torch.float32,
                                dilated=torch.bfloat16, point=torch.bfloat16)
    # the island computes in fp32 on the bf16 stem output, as an fp32 conv would
    stem = bf16(lambda: reference.stem(x))
    torch.testing.assert_close(bf16(lambda: model.depthwise(stem)),
                               reference.depthwise(stem.float()))
    # same model, no autocast: identical outputs, all fp32
    torch.testing.assert_close(model(x), reference(x), rtol=0, atol=0)
    assert set(model.dtypes.values()) == {torch.float32}
    assert out.dtype == torch.bfloat16


def test_inference_keeps_bf16():
    """Without gradients (inference, validation) bf16 is faster: the islands stand aside."""
    model = Separable()
    keep_depthwise_fp32(model)
    for context in (torch.no_grad, torch.inference_mode):
        with context():
            bf16(lambda: model(torch.randn(1, 3, 16, 16)))
        assert set(model.dtypes.values()) == {torch.bfloat16}


def test_gradients_flow_through_an_island():
    model = Separable()
    keep_depthwise_fp32(model)
    x = torch.randn(2, 3, 16, 16, requires_grad=True)
    bf16(lambda: model(x)).float().sum().backward()
    assert model.depthwise.weight.grad is not None and model.depthwise.weight.grad.dtype == \
        torch.float32
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_autocast_comes_back_when_the_conv_raises():
    model = Separable()
    keep_depthwise_fp32(model)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        with pytest.raises(RuntimeError):
            model.depthwise(torch.randn(2, 5, 8, 8))  # 5 channels for 8: conv raises
        assert torch.is_autocast_enabled('cpu')


def test_deepcopy_keeps_the_islands():
    model = Separable()
    keep_depthwise_fp32(model)
    twin = copy.deepcopy(model)
    bf16(lambda: twin(torch.randn(1, 3, 16, 16)))
    assert twin.dtypes['depthwise'] == torch.float32


def test_runtime_adds_the_hook_where_amp_runs_bf16_on_a_cpu(monkeypatch):
    from segdet.engine.optimizers import amp_optim_wrapper
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: True)
    assert resolve_fp32_depthwise(Config(dict()), amp=True)
    assert not resolve_fp32_depthwise(Config(dict()), amp=False)
    assert not resolve_fp32_depthwise(Config(dict(fp32_depthwise=False)), amp=True)
    fp16 = Config(dict(optim_wrapper=dict(type='AmpOptimWrapper', dtype='float16')))
    assert not resolve_fp32_depthwise(fp16, amp=True)
    cfg = Config(dict(model=dict(type='EncoderDecoder')))
    configure_runtime(cfg, 'none', amp=True, channels_last=False)
    assert [h['type'] for h in cfg.custom_hooks] == ['Fp32DepthwiseHook']
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_supports_bf16', lambda: False)
    assert not resolve_fp32_depthwise(Config(dict()), amp=True)  # --amp trains fp32 there


def test_hook_and_benchmark_build_apply_it():
    model = Separable()
    runner = type('Runner', (), dict(model=model, logger=type('L', (), dict(
        info=staticmethod(lambda msg: None)))()))()
    hook = Fp32DepthwiseHook()
    hook.before_train(runner)
    hook.before_val(runner)  # once only
    bf16(lambda: model(torch.randn(1, 3, 16, 16)))
    assert model.dtypes['depthwise'] == torch.float32
    cfg = Config(dict(model=dict(
        type='EncoderDecoder',
        backbone=dict(type='MobileNetV2', widen_factor=0.25, out_indices=(2, )),
        decode_head=dict(type='FCNHead', in_channels=8, channels=8, num_classes=2,
                         num_convs=1, concat_input=False))))
    built, _ = build_benchmark_model(cfg, fp32_depthwise=True)
    islands = [m for m in built.modules() if getattr(m, '_segdet_fp32_island', False)]
    assert islands and all(is_depthwise(m) for m in islands)
