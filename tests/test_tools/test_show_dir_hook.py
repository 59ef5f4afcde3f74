"""``tools/test.py --show-dir`` installs the one VisualizationHook, for segmentation and
detection configs alike, with ``--no-show-gt`` / ``--score-thr`` passed on."""
import sys
from pathlib import Path

import pytest
import torch

from segdet.engine.hooks import VisualizationHook
from segdet.registry import HOOKS
from tool_run_helpers import DEMO_CONFIG, REPO, load_tool

DET_DEMO_CONFIG = REPO / 'configs' / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


@pytest.mark.parametrize('config', [DEMO_CONFIG, DET_DEMO_CONFIG], ids=['seg', 'det'])
@pytest.mark.parametrize('extra,draw_gt,score_thr', [
    ([], True, None), (['--no-show-gt', '--score-thr', '0.5'], False, 0.5)])
def test_show_dir_installs_the_one_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                        config: Path, extra: list, draw_gt: bool,
                                        score_thr) -> None:
    tool = load_tool('test.py')
    monkeypatch.setenv('LOCAL_RANK', '0')
    # build_cfg adapts the config to this machine; keep this process's float mode as it is.
    monkeypatch.setattr(torch, 'set_flush_denormal', lambda mode: True)
    checkpoint = tmp_path / 'model.pth'
    checkpoint.write_bytes(b'')  # build_cfg only checks that the file exists
    monkeypatch.setattr(sys, 'argv', ['test.py', str(config), str(checkpoint),
                                      '--show-dir', 'shown', *extra])
    cfg = tool.build_cfg(tool.parse_args())
    hook_cfg = cfg.default_hooks['visualization']
    assert hook_cfg == dict(type='VisualizationHook', draw=True, interval=1, show_dir='shown',
                            draw_gt=draw_gt, score_thr=score_thr)
    hook = HOOKS.build(hook_cfg)
    assert type(hook) is VisualizationHook and hook.score_thr == score_thr
