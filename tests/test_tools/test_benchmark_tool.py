"""tools/benchmark.py end to end on the shrunk demo model: every figure present and positive."""
import json

import pytest

from segdet.engine.runtime import fp32_nhwc_is_faster
from tool_run_helpers import DEMO_CONFIG, cli_options, eval_options, load_tool, model_options


@pytest.fixture(scope='module')
def bench_tool():
    return load_tool('benchmark.py')


@pytest.mark.parametrize('task', ['train', 'inference'])
def test_random_inputs_write_json(task, tmp_path, tool_argv, bench_tool, capsys) -> None:
    out = tmp_path / 'b.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', task, '--shape', '64', '64',
              '--batch-size', '2', '--num-warmup', '1', '--num-iters', '2', '--amp',
              '--no-progress', '--out', str(out), '--cfg-options',
              *cli_options(model_options()))
    record = json.loads(out.read_text())
    assert record['task'] == task and record['batch_size'] == 2 and record['amp'] is True
    # On by default where --amp runs bf16 autocast on a CPU (native bf16), and for fp32
    # inference on CPUs with AVX-512.
    assert record['channels_last'] is (record['autocast'] or (
        task == 'inference' and fp32_nhwc_is_faster()))
    # BatchNorm is folded for inference by default (as tools/test.py), never for training.
    assert record['fuse_conv_bn'] is (task == 'inference')
    assert (record['fused_batchnorms'] or 0) > 0 if task == 'inference' else \
        record['fused_batchnorms'] is None
    assert len(record['times']) == 2 and record['warmup'] == 1
    for key in ('s_per_iter', 'peak_memory_mb'):
        assert record[key] > 0, key
    assert record['environment']['torch']
    if task == 'inference':
        assert record['s_per_image'] == pytest.approx(record['s_per_iter'] / 2)
    assert ('s/iter' if task == 'train' else 's/im') in capsys.readouterr().out


def test_data_set_inputs(shapes_root, tmp_path, tool_argv, bench_tool) -> None:
    out = tmp_path / 'b.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--num-warmup', '1',
              '--num-iters', '3', '--no-progress', '--out', str(out), '--cfg-options',
              *cli_options(eval_options(str(shapes_root))))
    record = json.loads(out.read_text())
    assert record['batch_size'] == 1 and record['channels_last'] is fp32_nhwc_is_faster()
    assert record['s_per_image'] > 0 and record['data_time'] > 0


def test_missing_checkpoint_is_named(tmp_path, tool_argv, bench_tool) -> None:
    with pytest.raises(FileNotFoundError, match='checkpoint file not found: .*nope.pth'):
        tool_argv(bench_tool, str(DEMO_CONFIG), str(tmp_path / 'nope.pth'))


def test_inference_reports_flops(tmp_path, tool_argv, bench_tool) -> None:
    from tool_run_helpers import load_tool as _load
    out = tmp_path / 'b.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--shape', '64', '64',
              '--num-warmup', '0', '--num-iters', '1', '--no-progress', '--out', str(out),
              '--no-fuse-conv-bn', '--cfg-options', *cli_options(model_options()))
    record = json.loads(out.read_text())
    flops = _load('analysis_tools/get_flops.py').main(
        [str(DEMO_CONFIG), '--shape', '64', '64', '--cfg-options',
         *cli_options(model_options())])['flops']
    assert record['flops_per_image'] == flops  # the same count as get_flops.py
    # Folded (the default), the BatchNorm layers' FLOPs are gone and nothing else changes.
    fused = tmp_path / 'fused.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--shape', '64', '64',
              '--num-warmup', '0', '--num-iters', '1', '--no-progress', '--out', str(fused),
              '--cfg-options', *cli_options(model_options()))
    folded = json.loads(fused.read_text())['flops_per_image']
    assert flops * 0.98 < folded < flops
    assert record['achieved_gflops_per_s'] == pytest.approx(
        flops / 1e9 / record['s_per_image'])


def test_data_task(shapes_root, tmp_path, tool_argv, bench_tool) -> None:
    out = tmp_path / 'd.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'data', '--batch-size', '2',
              '--num-warmup', '1', '--num-iters', '3', '--no-progress', '--out', str(out),
              '--cfg-options', *cli_options(eval_options(str(shapes_root))))
    record = json.loads(out.read_text())
    assert record['task'] == 'data' and record['batch_size'] == 2 and len(record['times']) == 3
    assert record['img_per_s'] == pytest.approx(2 * 3 / sum(record['times']))


DET_CONFIG = DEMO_CONFIG.parent / 'mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py'


def det_model_options() -> dict:
    """Halve the demo Mask R-CNN's widths (ResNet-18 at 16 base channels, FPN of 32)."""
    options = {'model.backbone.stem_channels': 16, 'model.backbone.base_channels': 16,
               'model.neck.in_channels': [16, 32, 64, 128], 'model.neck.out_channels': 32,
               'model.rpn_head.in_channels': 32, 'model.rpn_head.feat_channels': 32}
    for head in ('bbox', 'mask'):
        options[f'model.roi_head.{head}_roi_extractor.out_channels'] = 32
        options[f'model.roi_head.{head}_head.in_channels'] = 32
    options['model.roi_head.mask_head.conv_out_channels'] = 32
    return options


def det_cli_options() -> list:
    return [f'{k}={v}'.replace(' ', '') for k, v in det_model_options().items()]


def assert_split_adds_up(record: dict) -> None:
    """network + post-processing (own clocks) is the end-to-end step, within timer overhead."""
    total = record['s_per_image']
    split = record['network_s_per_image'] + record['postprocess_s_per_image']
    assert record['network_plus_postprocess_s_per_image'] == pytest.approx(split)
    assert split == pytest.approx(total, rel=0.1, abs=5e-3)
    assert split <= total * 1.001  # both clocks sit inside the step's
    for net, post, step in zip(record['network_times'], record['postprocess_times'],
                               record['times']):
        assert net > 0 and post > 0 and net + post <= step * 1.001


def test_detection_inference_split_repeats_fused(tmp_path, tool_argv, bench_tool,
                                                  capsys) -> None:
    out = tmp_path / 'det.json'
    tool_argv(bench_tool, str(DET_CONFIG), '--task', 'inference', '--shape', '64', '64',
              '--num-warmup', '1', '--num-iters', '2', '--repeat-times', '3',
              '--no-progress', '--out', str(out), '--cfg-options', *det_cli_options())
    record = json.loads(out.read_text())
    assert record['task'] == 'inference' and record['batch_size'] == 1
    assert record['repeat_times'] == 3 and len(record['repeats']) == 3
    assert len(record['times']) == 3 * 2 == len(record['network_times'])
    for key in ('s_per_image', 'network_s_per_image', 'postprocess_s_per_image',
                'peak_memory_mb'):
        assert record[key] > 0, key
    # The figures are the means over the repeats, with their standard deviation.
    per_repeat = [r['s_per_image'] for r in record['repeats']]
    assert record['s_per_image'] == pytest.approx(sum(per_repeat) / 3)
    assert record['s_per_image_std'] > 0
    assert record['repeats'][0]['s_per_image'] == pytest.approx(
        sum(record['times'][:2]) / 2)
    parts = record['postprocess_parts_s_per_image']
    assert set(parts) == {'bbox', 'mask_paste'} and all(v > 0 for v in parts.values())
    assert sum(parts.values()) == pytest.approx(record['postprocess_s_per_image'])
    assert_split_adds_up(record)
    # ResNet-18: the stem's, 2 per block (8 blocks), 3 downsamples; the FPN has no norms.
    assert record['fuse_conv_bn'] is True and record['fused_batchnorms'] == 20
    assert 'flops_per_image' not in record and record['test_cfg'] is None
    table = capsys.readouterr().out
    assert 'network' in table and '+ post' in table and 'std' in table


def test_detection_train(tmp_path, tool_argv, bench_tool) -> None:
    out = tmp_path / 'det_train.json'
    tool_argv(bench_tool, str(DET_CONFIG), '--task', 'train', '--shape', '64', '64',
              '--batch-size', '2', '--num-warmup', '1', '--num-iters', '1', '--no-progress',
              '--out', str(out), '--cfg-options', *det_cli_options())
    record = json.loads(out.read_text())
    assert record['task'] == 'train' and record['batch_size'] == 2 and len(record['times']) == 1
    assert record['s_per_iter'] > 0 and record['s_per_iter_std'] == 0
    assert 'network_s_per_image' not in record


def test_segmentation_split_and_slide_mode(tmp_path, tool_argv, bench_tool) -> None:
    records = {}
    for mode in ('whole', 'slide'):
        out = tmp_path / f'{mode}.json'
        tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--shape', '64', '64',
                  '--mode', mode, '--crop-size', '32', '32', '--stride', '24', '24',
                  '--num-warmup', '1', '--num-iters', '2', '--no-progress', '--no-flops',
                  '--out', str(out), '--cfg-options', *cli_options(model_options()))
        records[mode] = json.loads(out.read_text())
        assert_split_adds_up(records[mode])
        assert set(records[mode]['postprocess_parts_s_per_image']) == {'seg_resize_argmax'}
    assert records['slide']['test_cfg'] == dict(mode='slide', crop_size=[32, 32],
                                                stride=[24, 24])
    assert records['whole']['test_cfg']['mode'] == 'whole'


def test_no_fuse_conv_bn_keeps_batchnorm(tmp_path, tool_argv, bench_tool) -> None:
    out = tmp_path / 'unfused.json'
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--shape', '64', '64',
              '--num-warmup', '0', '--num-iters', '1', '--no-fuse-conv-bn', '--no-progress',
              '--no-flops', '--out', str(out), '--cfg-options', *cli_options(model_options()))
    record = json.loads(out.read_text())
    assert record['fuse_conv_bn'] is False and record['fused_batchnorms'] is None
    with pytest.raises(ValueError, match='--fuse-conv-bn is for --task inference, not train'):
        tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'train', '--fuse-conv-bn')


def test_slide_mode_needs_a_stride(tool_argv, bench_tool) -> None:
    with pytest.raises(ValueError, match='--mode slide needs --stride'):
        tool_argv(bench_tool, str(DEMO_CONFIG), '--mode', 'slide', '--crop-size', '32', '32')


def _randomise_batchnorms(model) -> None:
    """Non-trivial statistics and affine parameters, so folding them changes the convs."""
    import torch
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)


@pytest.mark.parametrize('config', ['seg', 'det'])
def test_fold_batchnorm_keeps_predictions(config) -> None:
    import torch
    from mmengine.registry import DefaultScope
    from segdet.engine.benchmark import fold_batchnorm, random_det_batch, random_seg_batch
    from segdet.registry import MODELS
    from segdet.utils import load_config
    if config == 'seg':
        cfg = load_config(DEMO_CONFIG, model_options())
        batch = random_seg_batch(1, (64, 64), 3)
    else:
        cfg = load_config(DET_CONFIG, det_model_options())
        batch = random_det_batch(1, (64, 64), 3)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
    _randomise_batchnorms(model)
    model.eval()
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs']
        before = model.test_step(batch)[0]
        feats = model.extract_feat(inputs)
        assert fold_batchnorm(model) > 0
        assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                       for m in model.modules())
        after = model.test_step(batch)[0]
        for a, b in zip(feats, model.extract_feat(inputs)):
            torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-4)
    if config == 'seg':
        torch.testing.assert_close(after.seg_logits.data, before.seg_logits.data,
                                   rtol=1e-4, atol=1e-4)
        assert (after.pred_sem_seg.data != before.pred_sem_seg.data).float().mean() < 1e-3
    else:
        # The top detections (ranked by score) are the same boxes with the same scores.
        k = min(10, len(before.pred_instances))
        assert k > 0
        torch.testing.assert_close(after.pred_instances.scores[:k],
                                   before.pred_instances.scores[:k], rtol=1e-3, atol=1e-4)
        torch.testing.assert_close(after.pred_instances.bboxes[:k],
                                   before.pred_instances.bboxes[:k], rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize('shape, message', [
    (['0', '0'], "argument --shape: '0' is not a positive size"),
    (['64', '-8'], "argument --shape: '-8' is not a positive size"),
    (['64x64'], "argument --shape: '64x64' is not an integer"),
    (['8', '16', '32'], 'argument --shape: takes H [W], got 3 values 8 16 32'),
])
def test_bad_shape_is_an_argparse_error_naming_it(shape, message, tool_argv, bench_tool,
                                                  capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'train', '--shape', *shape)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_reports_the_shape_actually_run(tmp_path, tool_argv, bench_tool, capsys) -> None:
    # The shrunk demo pads training inputs to 64x64 (model.data_preprocessor.size).
    out = tmp_path / 'b.json'
    with pytest.warns(UserWarning, match='--shape 48x48: the network ran on 64x64'):
        tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'train', '--shape', '48',
                  '--batch-size', '2', '--num-warmup', '0', '--num-iters', '1',
                  '--no-progress', '--out', str(out), '--cfg-options',
                  *cli_options(model_options()))
    record = json.loads(out.read_text())
    assert record['shape'] == [48, 48]  # one value: a square
    assert record['input_shapes'] == [[64, 64]]
    table = capsys.readouterr().out
    assert '| input ' in table and '| 64x64 |' in table
    # Inference does not pad to the training size: it runs at the size asked for.
    tool_argv(bench_tool, str(DEMO_CONFIG), '--task', 'inference', '--shape', '48', '40',
              '--num-warmup', '0', '--num-iters', '1', '--no-progress', '--no-flops',
              '--out', str(out), '--cfg-options', *cli_options(model_options()))
    record = json.loads(out.read_text())
    assert record['shape'] == [48, 40] and record['input_shapes'] == [[48, 40]]
