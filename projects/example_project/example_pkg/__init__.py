"""Modules of the example project; importing the package registers them in segdet."""
from .light_head import LightFuseHead
from .se_resnet import SEResNet

__all__ = ['LightFuseHead', 'SEResNet']
