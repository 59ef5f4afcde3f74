"""get_flops.py reports exactly the hand-counted multiply-adds and parameters of a few convs."""
from torch import nn

from segdet.registry import MODELS
from tool_run_helpers import load_tool


@MODELS.register_module(force=True)
class ThreeConvs(nn.Module):
    """conv3x3(3->8, pad 1) -> conv1x1(8->4, no bias) -> conv3x3 stride 2 (4->2, pad 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 4, 1, bias=False)
        self.c = nn.Conv2d(4, 2, 3, stride=2, padding=1)

    def forward(self, x):
        return self.c(self.b(self.a(x)))


def test_hand_counted_macs_and_params(tmp_path, capsys) -> None:
    config = tmp_path / 'three_convs.py'
    config.write_text("model = dict(type='ThreeConvs')\n")
    h, w = 16, 20
    # MACs per output element = in_channels * k * k; output elements = out_ch * H_out * W_out.
    macs = (8 * h * w) * (3 * 9) + (4 * h * w) * 8 + (2 * (h // 2) * (w // 2)) * (4 * 9)
    params = (8 * 3 * 9 + 8) + (4 * 8) + (2 * 4 * 9 + 2)
    result = load_tool('analysis_tools/get_flops.py').main(
        [str(config), '--shape', str(h), str(w)])
    assert result['macs'] == macs and result['flops'] == 2 * macs
    assert result['params'] == params == sum(p.numel() for p in ThreeConvs().parameters())
    out = capsys.readouterr().out
    assert 'GMACs' in out and f'{macs / 1e9:.3f}' in out and '16x20' in out


def test_segmentor_is_counted_to_its_logits() -> None:
    from tool_run_helpers import DEMO_CONFIG
    result = load_tool('analysis_tools/get_flops.py').main(
        [str(DEMO_CONFIG), '--shape', '64'])
    assert result['shape'] == [64, 64]
    assert result['macs'] > 1e8 and result['params'] > 1e7  # a ResNet-18 DeepLabV3+
