"""``to_memory_format(model, 'channels_last')`` keeps depthwise convolutions with a large
dilation (where oneDNN's NHWC kernel is slow) in NCHW: their weights contiguous, their inputs
made contiguous and their outputs channels_last again; everything else NHWC, the outputs equal
the NCHW model's."""
import torch
from torch import nn

from segdet.engine.hooks.memory_format_hook import (NHWC_SLOW_DILATION, is_dilated_depthwise,
                                                    to_memory_format)


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


def test_which_convs_are_kept_nchw():
    model = SeparableASPP()
    assert not is_dilated_depthwise(model.small) and is_dilated_depthwise(model.large)
    assert not is_dilated_depthwise(model.stem) and NHWC_SLOW_DILATION == 7
    dense = nn.Conv2d(8, 8, 3, padding=12, dilation=12)  # not depthwise: NHWC is fine
    assert not is_dilated_depthwise(dense)


def test_islands_keep_outputs_and_layouts():
    torch.manual_seed(0)
    model = SeparableASPP().eval()
    x = torch.randn(2, 3, 20, 24)
    with torch.no_grad():
        expected = model(x)
    kept = to_memory_format(model, 'channels_last')
    seen = {}  # each conv's input (after the pre-hooks) and output (after the island's hook)
    for name in ('small', 'large'):
        getattr(model, name).register_forward_hook(
            lambda m, args, out, name=name: seen.update({name: (args[0], out)}))
    assert kept == ['large']
    assert model.large.weight.stride() == (9, 9, 3, 1)  # plain NCHW strides
    assert is_nhwc(model.stem.weight) and model.small.weight.stride() == (9, 1, 3, 1)
    with torch.no_grad():
        out = model(x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    assert is_nhwc(out)
    assert is_nhwc(seen['small'][0]) and is_nhwc(seen['small'][1])
    # The island's input arrives NCHW (its pre-hook runs first); its output leaves NHWC.
    assert seen['large'][0].is_contiguous() and is_nhwc(seen['large'][1])


def test_islands_train_and_can_be_turned_off():
    torch.manual_seed(0)
    model = SeparableASPP()
    assert to_memory_format(model, 'channels_last', nchw_islands=False) == []
    assert model.large.weight.stride() == (9, 1, 3, 1)  # channels_last like the rest
    torch.manual_seed(1)
    base, island = SeparableASPP(), SeparableASPP()
    island.load_state_dict(base.state_dict())
    to_memory_format(island, 'channels_last')
    x = torch.randn(2, 3, 16, 16)
    base(x).square().mean().backward()
    island(x).square().mean().backward()
    for (name, p), q in zip(base.named_parameters(), island.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6, msg=name)


class TwoBranches(nn.Module):
    """Two dilated depthwise branches on the same tensor (as DeepLabV3+'s ASPP)."""

    def __init__(self, channels: int = 4) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 1)
        self.a = nn.Conv2d(channels, channels, 3, padding=8, dilation=8, groups=channels)
        self.b = nn.Conv2d(channels, channels, 3, padding=12, dilation=12, groups=channels)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        x = self.stem(inputs)
        return self.a(x) + self.b(x)


def test_branches_on_one_tensor_share_its_nchw_copy():
    torch.manual_seed(0)
    model = TwoBranches().eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
    assert to_memory_format(model, 'channels_last') == ['a', 'b']
    seen = []
    for conv in (model.a, model.b):
        conv.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
        assert seen[0] is seen[1]  # one reorder for both branches
        model(x + 1)  # a new input gets a new copy
    assert seen[2] is seen[3] and seen[2] is not seen[0]


def test_no_copy_is_held_between_passes_and_the_model_still_copies():
    import copy
    torch.manual_seed(0)
    model = TwoBranches()
    to_memory_format(model, 'channels_last')
    model(torch.randn(1, 3, 16, 16)).sum().backward()  # a training pass, with autograd
    hook = next(h for h in model.a._forward_pre_hooks.values())
    assert hook._copy is None and hook._source is None
    twin = copy.deepcopy(model)  # e.g. BatchNorm folding after training
    with torch.no_grad():
        torch.testing.assert_close(twin(torch.ones(1, 3, 16, 16)),
                                   model(torch.ones(1, 3, 16, 16)))


def test_inference_mode_tensors_are_reordered_without_the_cache():
    torch.manual_seed(0)
    model = TwoBranches().eval()
    x = torch.randn(1, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
    to_memory_format(model, 'channels_last')
    with torch.inference_mode():  # inference tensors have no version counter
        torch.testing.assert_close(model(x), expected, rtol=1e-5, atol=1e-5)
