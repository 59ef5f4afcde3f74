"""TorchvisionAnchorGenerator gives torchvision's detection anchors, in mmdetection's order."""
import torch
from torchvision.models.detection.anchor_utils import AnchorGenerator as TvAnchorGenerator
from torchvision.models.detection.image_list import ImageList

from segdet.models.task_modules import AnchorGenerator, TorchvisionAnchorGenerator


def test_same_anchors_as_torchvision_fpn_anchor_generator():
    strides = [4, 8, 16, 32, 64]
    ours = TorchvisionAnchorGenerator(strides=strides, scales=[8], ratios=[0.5, 1.0, 2.0])
    tv = TvAnchorGenerator(sizes=((32, ), (64, ), (128, ), (256, ), (512, )),
                           aspect_ratios=((0.5, 1.0, 2.0), ) * 5)
    # an input padded to 128 x 160: P5 is 4 x 5, P6 (max-pooled with stride 2) 2 x 3, and
    # torchvision steps 160 // 3 = 53 pixels (not 64) across P6
    sizes = [(32, 40), (16, 20), (8, 10), (4, 5), (2, 3)]
    feats = [torch.zeros(1, 1, h, w) for h, w in sizes]
    expected = tv(ImageList(torch.zeros(1, 3, 128, 160), [(128, 160)]), feats)[0]
    got = torch.cat(ours.grid_priors(sizes))
    assert torch.equal(got, expected)  # same boxes, same order (cell-major, ratios inside)
    assert ours.grid_priors(sizes)[4][4].tolist() == [53 - 256, -256, 53 + 256, 256]
    # mmdetection's anchors are not rounded: size 32 at ratio 0.5 is (+-22.63, +-11.31)
    assert ours.base_anchors[0][0].tolist() == [-23.0, -11.0, 23.0, 11.0]
    plain = AnchorGenerator(strides=strides, scales=[8], ratios=[0.5, 1.0, 2.0])
    assert not torch.equal(plain.base_anchors[0], ours.base_anchors[0])
    torch.testing.assert_close(plain.base_anchors[0], ours.base_anchors[0], atol=0.5, rtol=0)
