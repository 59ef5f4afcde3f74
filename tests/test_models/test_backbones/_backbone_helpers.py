"""Helpers shared by the backbone tests (not a test module)."""
from typing import Iterator

import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True, scope='module')
def one_torch_thread() -> Iterator[None]:
    """Run a test module's tiny convolutions on one intra-op thread, then restore.

    On a 2-core machine shared by pytest-xdist workers, torch's default of one thread per
    core oversubscribes the CPU and small forwards become 10-100x slower and erratic.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def random_state_dict(meta_model: nn.Module, seed: int = 0) -> dict:
    """Random weights for every entry of a (meta-device) model's state dict.

    Convs get He-scaled normal weights; norms get non-trivial affine parameters and running
    statistics, so that a wrong BN/conv pairing would change the outputs.
    """
    g = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in meta_model.state_dict().items():
        shape = value.shape
        if key.endswith('num_batches_tracked'):
            state[key] = torch.zeros((), dtype=torch.long)
        elif value.dim() == 4:
            fan_in = shape[1] * shape[2] * shape[3]
            state[key] = torch.randn(shape, generator=g) * (2.0 / fan_in)**0.5
        elif key.endswith(('running_var', '.weight')) and value.dim() == 1:
            state[key] = torch.rand(shape, generator=g) + 0.5
        else:
            state[key] = (torch.rand(shape, generator=g) - 0.5) * 0.2
    return state


def load_same_random_weights(tv_model: nn.Module, ours: nn.Module) -> None:
    """Fill two meta-device models with the same random weights (ours has no ``fc``)."""
    state = random_state_dict(tv_model)
    tv_model.load_state_dict(state, assign=True)
    ours.load_state_dict({k: v for k, v in state.items() if not k.startswith('fc.')},
                         strict=True, assign=True)


def torchvision_stages(model: nn.Module, x: torch.Tensor) -> list:
    """Outputs of layer1..layer4 of a torchvision ResNet/ResNeXt."""
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    outs = []
    for name in ('layer1', 'layer2', 'layer3', 'layer4'):
        x = getattr(model, name)(x)
        outs.append(x)
    return outs
