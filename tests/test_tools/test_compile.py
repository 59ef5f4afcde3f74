"""``--compile``: which method is compiled, its options, predictions of a compiled tiny
segmentor equal to eager ones (a real ``torch.compile`` with the default inductor backend), and
the flag in tools/test.py, tools/train.py and tools/benchmark.py."""
import json

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch import nn

from segdet.engine.compile import (INFERENCE_METHODS, compile_for_inference, compile_options,
                                   inference_options)
from segdet.registry import MODELS
from segdet.structures import DataSample
from segdet.utils import revert_sync_bn_cfg
from tool_run_helpers import (DEMO_CONFIG, cli_options, eval_options, load_tool, log_text,
                              metric_json, model_options, train_options, unique_config)


def test_compile_options():
    assert compile_options(None) is None and compile_options(False) is None
    assert compile_options(True) == {}
    assert compile_options({'backend': 'eager'}) == {'backend': 'eager'}
    with pytest.raises(TypeError, match='compile must be a bool or a dict'):
        compile_options('yes')


def test_a_model_without_a_network_method_is_named():
    with pytest.raises(ValueError, match=r"Sequential has none of the methods"):
        compile_for_inference(nn.Sequential(nn.Conv2d(3, 3, 1)))
    assert INFERENCE_METHODS == ('encode_decode', 'extract_feat')


def test_inference_options_freeze_the_weights_on_a_cpu():
    model = nn.Conv2d(3, 3, 1)
    frozen = {'options': {'freezing': True}}
    assert inference_options(model) == frozen
    assert inference_options(model, {'dynamic': False}) == {'dynamic': False, **frozen}
    assert inference_options(model, {'options': {'freezing': False}}) == {
        'options': {'freezing': False}}  # the user's choice stays
    assert inference_options(model, {'options': {'max_autotune': True}}) == {
        'options': {'max_autotune': True, 'freezing': True}}
    # torch.compile takes a mode or inductor options, not both; other backends have neither
    assert inference_options(model, {'mode': 'max-autotune'}) == {'mode': 'max-autotune'}
    assert inference_options(model, {'backend': 'eager'}) == {'backend': 'eager'}
    options = {'dynamic': True}
    inference_options(model, options)
    assert options == {'dynamic': True}  # not modified in place


def tiny_demo_segmentor() -> nn.Module:
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.merge_from_dict(model_options())
    init_default_scope('segdet')
    torch.manual_seed(0)
    return MODELS.build(revert_sync_bn_cfg(cfg.model)).eval()


def test_compiled_segmentor_predicts_as_eager():
    model = tiny_demo_segmentor()
    g = torch.Generator().manual_seed(0)
    data = dict(inputs=[torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8, generator=g)],
                data_samples=[DataSample(metainfo=dict(ori_shape=(64, 64),
                                                       img_shape=(64, 64)))])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            eager = model.test_step(data)[0]
            assert compile_for_inference(model) == 'encode_decode'
            assert model.encode_decode is not type(model).encode_decode
            compiled = model.test_step(data)[0]
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(compiled.seg_logits.data, eager.seg_logits.data, rtol=1e-4,
                               atol=1e-4)
    assert torch.equal(compiled.pred_sem_seg.data, eager.pred_sem_seg.data)


# ------------------------------------------------------------------- the tools' --compile
# The tools are checked with torch.compile's 'eager' backend (--cfg-options compile.backend=
# eager): the plumbing and the metrics, without minutes of compilation per test; the inductor
# backend's numbers are checked above.
EAGER = {'compile.backend': 'eager'}


def test_test_tool_compile_keeps_the_metric(trained, tmp_path, tool_argv, test_tool):
    runs = {}
    for name, flags in (('compiled', ['--compile']), ('eager', [])):
        work = tmp_path / name
        tool_argv(test_tool, str(unique_config(tmp_path, f'compile_{name}')),
                  str(trained.checkpoint), *flags, '--work-dir', str(work), '--cfg-options',
                  *cli_options({**eval_options(str(trained.data_root)), **EAGER}))
        runs[name] = metric_json(work), log_text(work)
    (compiled, compiled_log), (eager, eager_log) = runs['compiled'], runs['eager']
    assert "--compile: EncoderDecoder.encode_decode compiled with torch.compile({'backend': " \
        "'eager'})" in compiled_log
    # A config's `compile` options (e.g. saved by train.py --compile) alone do not compile.
    assert '--compile' not in eager_log
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert compiled[key] == eager[key], key


def test_train_tool_compile_compiles_the_train_step(shapes_root, tmp_path, tool_argv,
                                                    train_tool):
    work = tmp_path / 'work'
    tool_argv(train_tool, str(unique_config(tmp_path, 'compile_train')), '--compile',
              '--work-dir', str(work), '--cfg-options',
              *cli_options({**train_options(str(shapes_root), max_iters=2), **EAGER}))
    log = log_text(work)
    assert 'Model has been "compiled"' in log and (work / 'iter_2.pth').is_file()


@pytest.mark.parametrize('task', ['train', 'inference'])
def test_benchmark_compile_reports_the_compile_time(task, tmp_path, tool_argv):
    out = tmp_path / 'b.json'
    tool_argv(load_tool('benchmark.py'), str(DEMO_CONFIG), '--task', task, '--shape', '64',
              '64', '--batch-size', '2', '--num-warmup', '1', '--num-iters', '2', '--compile',
              '--no-progress', '--out', str(out), '--cfg-options',
              *cli_options({**model_options(), **EAGER}))
    record = json.loads(out.read_text())
    assert record['compile'] is True
    assert record['compiled'] == ('train_step' if task == 'train' else 'encode_decode')
    assert record['compile_s'] == pytest.approx(record['warmup_times'][0]
                                                - record['s_per_iter'])
    assert 'flops_per_image' not in record
    with pytest.raises(ValueError, match='--compile needs --num-warmup >= 1'):
        tool_argv(load_tool('benchmark.py'), str(DEMO_CONFIG), '--task', task, '--compile',
                  '--num-warmup', '0')
