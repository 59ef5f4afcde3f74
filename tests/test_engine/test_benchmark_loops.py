"""benchmark_train / benchmark_inference: warm-up is not timed; data time is separate."""
import time

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
