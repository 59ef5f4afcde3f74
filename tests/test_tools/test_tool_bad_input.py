"""``tools/train.py`` and ``tools/test.py`` on bad input: each case is named, none is ignored."""
import re
from pathlib import Path

import pytest

from tool_run_helpers import DEMO_CONFIG, REPO

DET_CONFIG = REPO / 'configs' / 'demo' / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


def dummy_checkpoint(tmp_path: Path) -> str:
    path = tmp_path / 'dummy.pth'
    path.write_bytes(b'')
    return str(path)


@pytest.mark.parametrize('tool_name', ['train_tool', 'test_tool'])
def test_work_dir_that_is_a_file_is_named(tool_name, request, tmp_path, tool_argv) -> None:
    tool = request.getfixturevalue(tool_name)
    positional = [str(DEMO_CONFIG)] + ([dummy_checkpoint(tmp_path)]
                                       if tool_name == 'test_tool' else [])
    a_file = tmp_path / 'notes.txt'
    a_file.write_text('x')
    # Before: mmengine's bare FileExistsError from makedirs.
    for work_dir, says in ((a_file, 'is an existing file'),
                           (a_file / 'sub', f'lies under {a_file}, which is an existing file')):
        args = tool_argv(tool, *positional, '--work-dir', str(work_dir), entry='parse_args')
        with pytest.raises(NotADirectoryError,
                           match=re.escape(f'--work-dir {work_dir} {says}, not a directory')):
            tool.build_cfg(args)


def test_resume_with_nothing_to_resume_says_so(tmp_path, tool_argv, train_tool) -> None:
    work_dir = tmp_path / 'fresh'
    args = tool_argv(train_tool, str(DEMO_CONFIG), '--work-dir', str(work_dir), '--resume',
                     entry='parse_args')
    # Before: no warning, and mmengine logged "Auto resumed from the latest checkpoint None".
    with pytest.warns(UserWarning, match=re.escape(
            f'--resume: the work dir {work_dir} holds no checkpoint to resume from (no '
            f'last_checkpoint file); training starts from iteration 0.')):
        cfg = train_tool.build_cfg(args)
    assert cfg.resume is False and cfg.load_from is None
    work_dir.mkdir()
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'iter_4.pth'))
    cfg = train_tool.build_cfg(args)
    assert cfg.resume is True and cfg.load_from is None  # mmengine reads last_checkpoint


@pytest.mark.parametrize('options', [['--mode', 'slide', '--crop-size', '32', '32',
                                      '--stride', '16', '16'],
                                     ['--crop-size', '32', '32'], ['--batch-size', '2']])
def test_slide_options_on_a_detector_are_refused(options, tmp_path, tool_argv,
                                                test_tool) -> None:
    args = tool_argv(test_tool, str(DET_CONFIG), dummy_checkpoint(tmp_path), '--work-dir',
                     str(tmp_path / 'work'), *options, entry='parse_args')
    # Before: written into the detector's test_cfg, which nothing reads.
    with pytest.raises(ValueError) as err:
        test_tool.build_cfg(args)
    msg = str(err.value)
    assert "is 'MaskRCNN', which would ignore it" in msg and str(DET_CONFIG) in msg
    assert msg.startswith(options[0] + (' slide' if options[0] == '--mode' else ''))


def test_whole_mode_on_a_detector_is_what_it_does(tmp_path, tool_argv, test_tool) -> None:
    args = tool_argv(test_tool, str(DET_CONFIG), dummy_checkpoint(tmp_path), '--work-dir',
                     str(tmp_path / 'work'), '--mode', 'whole', entry='parse_args')
    assert test_tool.build_cfg(args).model.type == 'MaskRCNN'
