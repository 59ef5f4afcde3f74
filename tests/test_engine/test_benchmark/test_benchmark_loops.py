"""benchmark_train / benchmark_inference: warm-up is not timed; data time is separate."""
import time

import pytest
import torch

from segdet.engine.benchmark import (benchmark_inference, benchmark_train, peak_memory_mb,
                                     random_seg_batch)


class SlowStart(torch.nn.Module):
    """train_step/test_step sleep 0.3 s on the first two calls, 0.01 s afterwards."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def _work(self) -> None:
        self.calls += 1
        time.sleep(0.3 if self.calls <= 2 else 0.01)

    def train_step(self, data, optim_wrapper):
        self._work()

    def test_step(self, data):
        assert not torch.is_grad_enabled()
        self._work()


def slow_batches(seconds: float):
    while True:
        time.sleep(seconds)
        yield {}


def test_train_excludes_warmup_and_data_time() -> None:
    model = SlowStart()
    result = benchmark_train(model, None, slow_batches(0.05), warmup=2, iters=3)
    assert model.calls == 5 and len(result['times']) == 3
    assert 0.01 <= result['s_per_iter'] < 0.1  # the 0.3 s warm-up calls are not counted
    assert 0.04 <= result['data_time'] < 0.2


def test_inference_without_warmup_counts_the_slow_calls() -> None:
    result = benchmark_inference(SlowStart(), slow_batches(0.0), warmup=0, iters=4)
    assert result['s_per_iter'] > (0.3 * 2) / 4


def test_random_batch_and_peak_memory() -> None:
    batch = random_seg_batch(2, (5, 7), num_classes=3)
    assert [tuple(x.shape) for x in batch['inputs']] == [(3, 5, 7)] * 2
    labels = batch['data_samples'][0].gt_sem_seg.data
    assert labels.shape == (1, 5, 7) and int(labels.max()) < 3
    assert peak_memory_mb('cpu') > 10


def test_random_det_batch() -> None:
    from segdet.engine.benchmark import random_det_batch
    batch = random_det_batch(2, (40, 60), num_classes=3, num_boxes=4)
    sample = batch['data_samples'][1]
    assert sample.metainfo['scale_factor'] == (1.0, 1.0)
    assert sample.metainfo['img_shape'] == sample.metainfo['ori_shape'] == (40, 60)
    gt = sample.gt_instances
    boxes = gt.bboxes
    assert boxes.shape == (4, 4) and gt.labels.shape == (4, ) and int(gt.labels.max()) < 3
    assert (boxes[:, 2:] > boxes[:, :2]).all() and (boxes[:, 2] <= 60).all()
    assert (boxes[:, 3] <= 40).all() and (boxes >= 0).all()
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert gt.masks.shape == (4, 40, 60) and torch.equal(gt.masks.sum((1, 2)).float(), areas)


class Postprocessing(torch.nn.Module):
    """test_step: forward sleeps 0.02 s, of which postprocess_result 0.01 s."""

    def forward(self, x=None):
        time.sleep(0.01)
        return self.postprocess_result()

    def postprocess_result(self):
        time.sleep(0.01)

    def test_step(self, data):
        self()


def test_inference_split_into_network_and_postprocessing() -> None:
    model = Postprocessing()
    result = benchmark_inference(model, slow_batches(0.0), warmup=1, iters=3)
    assert 0.01 <= result['network_time'] < 0.015
    assert 0.01 <= result['postprocess_time'] < 0.015
    assert result['postprocess_parts'] == {'seg_resize_argmax': result['postprocess_time']}
    assert 'forward' not in vars(model) and 'postprocess_result' not in vars(model)  # restored


class PadTo32(torch.nn.Module):
    """A data pre-processor that pads (N, C, H, W) inputs up to multiples of 32."""

    def forward(self, data, training=False):
        x = data['inputs']
        h, w = x.shape[-2:]
        return dict(inputs=torch.nn.functional.pad(x, (0, -w % 32, 0, -h % 32)))


class Padded(torch.nn.Module):
    """train_step/test_step run the pre-processor, as mmengine's BaseModel does."""

    def __init__(self) -> None:
        super().__init__()
        self.data_preprocessor = PadTo32()

    def train_step(self, data, optim_wrapper):
        return self.data_preprocessor(data, True)

    def test_step(self, data):
        return self.data_preprocessor(data, False)


def sized_batches(*shapes):
    for shape in shapes:
        yield dict(inputs=torch.zeros(1, 3, *shape))


def test_loops_report_the_input_size_after_padding() -> None:
    from segdet.engine.benchmark import combine_repeats
    model = Padded()
    train = benchmark_train(model, None, sized_batches((40, 50), (40, 50), (64, 64)), warmup=1,
                            iters=2)
    assert train['input_shapes'] == [[64, 64]]  # 40x50 ran as 64x64
    infer = benchmark_inference(model, sized_batches((20, 20), (70, 10)), warmup=0, iters=2)
    assert infer['input_shapes'] == [[32, 32], [96, 32]]
    assert combine_repeats([train, dict(train, input_shapes=[[32, 32], [64, 64]])], 1,
                           'train')['input_shapes'] == [[64, 64], [32, 32]]
    # Models without a pre-processor module report none.
    assert benchmark_train(SlowStart(), None, slow_batches(0.0), warmup=0,
                           iters=1)['input_shapes'] == []
    assert model.data_preprocessor._forward_hooks == {}  # the recording hook is removed


def test_run_model_benchmark_rejects_an_unknown_task() -> None:
    from segdet.engine.benchmark import run_model_benchmark
    with pytest.raises(ValueError, match="task must be 'train' or 'inference', got 'data'"):
        run_model_benchmark(Padded(), 'data', sized_batches((8, 8)), batch_size=1)
