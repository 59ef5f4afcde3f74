"""``to_memory_format(model, 'channels_last')`` runs depthwise convolutions with a large
dilation (where oneDNN's NHWC kernel is slow) as space-to-batch convolutions on CPUs; everything
stays NHWC and the outputs and gradients equal the NCHW model's."""
import copy

import torch
from torch import nn

from segdet.engine.hooks.memory_format_hook import (NHWC_SLOW_DILATION, is_dilated_depthwise,
                                                    to_memory_format)
from segdet.ops.space_to_batch import SpaceToBatchConv2d


class SeparableASPP(nn.Module):
    """A stem conv, a depthwise conv at dilation 2 (fast in NHWC) and one at dilation 12 (slow),
    each followed by a pointwise conv, summed."""

    def __init__(self, channels: int = 8) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.small = nn.Conv2d(channels, channels, 3, padding=2, dilation=2, groups=channels)
        self.large = nn.Conv2d(channels, channels, 3, padding=12, dilation=12, groups=channels)
        self.point = nn.Conv2d(channels, 4, 1)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.stem(inputs)
        return self.point(self.small(x) + self.large(x))


def is_nhwc(t: torch.Tensor) -> bool:
    """Strictly channels_last (not also contiguous, as tensors with C = 1 can be)."""
    return t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def test_which_convs_are_converted():
    model = SeparableASPP()
    assert not is_dilated_depthwise(model.small) and is_dilated_depthwise(model.large)
    assert not is_dilated_depthwise(model.stem) and NHWC_SLOW_DILATION == 7
    dense = nn.Conv2d(8, 8, 3, padding=12, dilation=12)  # not depthwise: NHWC is fine
    assert not is_dilated_depthwise(dense)


def test_space_to_batch_keeps_outputs_and_layouts():
    torch.manual_seed(0)
    model = SeparableASPP().eval()
    keys = list(model.state_dict())
    x = torch.randn(2, 3, 20, 24)
    with torch.no_grad():
        expected = model(x)
    converted = to_memory_format(model, 'channels_last')
    assert converted == ['large'] and list(model.state_dict()) == keys
    assert type(model.large) is SpaceToBatchConv2d and type(model.small) is nn.Conv2d
    seen = {}
    for name in ('small', 'large'):
        getattr(model, name).register_forward_hook(
            lambda m, args, out, name=name: seen.update({name: (args[0], out)}))
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert is_nhwc(out)
    for name in ('small', 'large'):  # no reorder anywhere
        assert is_nhwc(seen[name][0]) and is_nhwc(seen[name][1]), name


def test_training_gradients_equal_and_conversion_can_be_turned_off():
    torch.manual_seed(0)
    model = SeparableASPP()
    assert to_memory_format(model, 'channels_last', space_to_batch=False) == []
    assert type(model.large) is nn.Conv2d
    torch.manual_seed(1)
    base, converted = SeparableASPP(), SeparableASPP()
    converted.load_state_dict(base.state_dict())
    to_memory_format(converted, 'channels_last')
    x = torch.randn(2, 3, 16, 16)
    base(x).square().mean().backward()
    converted(x).square().mean().backward()
    for (name, p), q in zip(base.named_parameters(), converted.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_converted_model_copies_and_runs_in_inference_mode():
    torch.manual_seed(0)
    model = SeparableASPP().eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
    to_memory_format(model, 'channels_last')
    twin = copy.deepcopy(model)  # e.g. BatchNorm folding after training
    with torch.inference_mode():
        torch.testing.assert_close(twin(x), expected, rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)


def test_contiguous_format_converts_nothing():
    model = SeparableASPP()
    assert to_memory_format(model, 'contiguous') == []
    assert type(model.large) is nn.Conv2d
