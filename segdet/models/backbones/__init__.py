"""Backbones; importing this package registers them in ``segdet.registry.MODELS``."""
from .bisenetv2 import BiSeNetV2
from .cgnet import CGNet
from .fast_scnn import FastSCNN
from .fbnet import FBNet
from .hrnet import HRNet
from .hrnet_modules import HRModule
from .mobilenet_v2 import MobileNetV2
from .mobilenet_v3 import MobileNetV3
from .resnest import ResNeSt
from .resnet import ResNet, ResNetV1c, ResNetV1d
from .resnet_blocks import BasicBlock, Bottleneck
from .resnext import ResNeXt

__all__ = ['BasicBlock', 'BiSeNetV2', 'Bottleneck', 'CGNet', 'FastSCNN', 'FBNet', 'HRModule',
           'HRNet', 'MobileNetV2', 'MobileNetV3', 'ResNeSt', 'ResNeXt', 'ResNet', 'ResNetV1c', 'ResNetV1d']
