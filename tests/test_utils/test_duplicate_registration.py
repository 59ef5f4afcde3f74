"""Registering a name twice names both modules and where they are defined."""
import pytest
from torch import nn

from segdet.registry import MODELS, DuplicateRegistrationError, Registry


def test_both_origins_named() -> None:
    registry = Registry('toy', parent=None)

    @registry.register_module(name='Thing')
    class First(nn.Module):
        pass

    class Second(nn.Module):
        pass

    with pytest.raises(DuplicateRegistrationError) as err:
        registry.register_module(name='Thing', module=Second)
    message = str(err.value)
    assert "'Thing' is already registered in segdet's 'toy' registry" in message
    assert 'First' in message and 'Second' in message
    assert __file__ in message  # file:line of both
    assert 'force=True' in message
    assert isinstance(err.value, KeyError)  # mmengine's error type, for callers that catch it
    registry.register_module(name='Thing', module=Second, force=True)
    assert registry.get('Thing') is Second


def test_segdet_registries_use_it() -> None:
    import segdet.models  # noqa: F401  (registers ResNet first)
    with pytest.raises(DuplicateRegistrationError, match="registered in segdet's 'model'"):
        MODELS.register_module(name='ResNet', module=type('ResNet', (nn.Module, ), {}))
