"""ResNeXt backbone (Xie et al. 2017): ResNet bottlenecks with a grouped 3x3 conv."""
from segdet.models.utils.res_layer import ResLayer
from segdet.registry import MODELS
from .resnet import ResNet
from .resnet_blocks import Bottleneck


@MODELS.register_module()
class ResNeXt(ResNet):
    """ResNeXt, e.g. X-101-32x8d = ``ResNeXt(depth=101, groups=32, base_width=8)``.

    The inner width of a stage with ``planes`` is ``floor(planes * base_width /
    base_channels) * groups`` (see ``bottleneck_width``); everything else, including state-dict
    names, is ``ResNet`` (mmdetection's semantics).

    Args:
        groups: Cardinality (groups of every 3x3 conv).
        base_width: Channels per group in the first stage.
        **kwargs: ``ResNet`` arguments; depth must be 50, 101 or 152.
    """

    arch_settings = {k: v for k, v in ResNet.arch_settings.items() if v[0] is Bottleneck}

    def __init__(self, groups: int = 1, base_width: int = 4, **kwargs) -> None:
        # Set before ResNet.__init__, which calls make_res_layer.
        self.groups = groups
        self.base_width = base_width
        super().__init__(**kwargs)

    def make_res_layer(self, **kwargs) -> ResLayer:
        """Build one stage of grouped bottlenecks."""
        return ResLayer(groups=self.groups, base_width=self.base_width,
                        base_channels=self.base_channels, **kwargs)
