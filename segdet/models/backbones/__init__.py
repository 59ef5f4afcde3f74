"""Backbones; importing this package registers them in ``segdet.registry.MODELS``."""
from .hrnet import HRNet
from .hrnet_modules import HRModule
from .resnet import ResNet, ResNetV1c, ResNetV1d
from .resnet_blocks import BasicBlock, Bottleneck
from .resnext import ResNeXt

__all__ = ['BasicBlock', 'Bottleneck', 'HRModule', 'HRNet', 'ResNeXt', 'ResNet', 'ResNetV1c',
           'ResNetV1d']
