"""segdet.ops is the one door to compiled kernels: NMS and RoIAlign equal torchvision's on
random inputs, and every detection module reaches them through it (no Python-loop kernels)."""
import ast
from pathlib import Path

import torch
import torchvision

from segdet import ops

REPO = Path(__file__).resolve().parents[2]


def random_boxes(n: int, generator: torch.Generator) -> torch.Tensor:
    xy = torch.rand(n, 2, generator=generator) * 100
    wh = torch.rand(n, 2, generator=generator) * 40 + 1
    return torch.cat([xy, xy + wh], dim=1)


def test_nms_and_batched_nms_equal_torchvision():
    g = torch.Generator().manual_seed(0)
    boxes, scores = random_boxes(300, g), torch.rand(300, generator=g)
    idxs = torch.randint(0, 5, (300, ), generator=g)
    assert torch.equal(ops.nms(boxes, scores, 0.5), torchvision.ops.nms(boxes, scores, 0.5))
    assert torch.equal(ops.batched_nms(boxes, scores, idxs, 0.6),
                       torchvision.ops.batched_nms(boxes, scores, idxs, 0.6))


def test_roi_align_equals_torchvision_aligned_and_not():
    g = torch.Generator().manual_seed(1)
    feats = torch.rand(2, 4, 25, 30, generator=g)
    rois = torch.cat([torch.randint(0, 2, (20, 1), generator=g).float(),
                      random_boxes(20, g)], dim=1)
    for aligned in (True, False):
        ours = ops.roi_align(feats, rois, (7, 7), 0.25, 0, aligned)
        theirs = torchvision.ops.roi_align(feats, rois, (7, 7), 0.25, 0, aligned)
        assert torch.equal(ours, theirs)


def test_detection_modules_take_kernels_from_segdet_ops_only():
    offenders = []
    for path in (REPO / 'segdet').rglob('*.py'):
        if path.parent.name == 'ops':
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and (
                    node.module.startswith('torchvision.ops') or node.module.startswith('mmcv.ops')):
                offenders.append(f'{path.relative_to(REPO)}: from {node.module} import ...')
    assert not offenders, offenders


def test_threaded_cpu_paths_equal_torchvision_exactly():
    from segdet.ops import cpu_parallel
    g = torch.Generator().manual_seed(2)
    boxes = random_boxes(6000, g)
    scores = torch.rand(6000, generator=g)
    idxs = torch.randint(0, 40, (6000, ), generator=g)
    feats = torch.rand(1, 8, 40, 40, generator=g)
    rois = torch.cat([torch.zeros(300, 1), random_boxes(300, g) / 3], dim=1)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert boxes.shape[0] >= cpu_parallel.MIN_PARALLEL_BOXES
        assert torch.equal(ops.batched_nms(boxes, scores, idxs, 0.5),
                           torchvision.ops.batched_nms(boxes, scores, idxs, 0.5))
        with torch.no_grad():
            assert torch.equal(ops.roi_align(feats, rois, (7, 7), 0.5, 0, True),
                               torchvision.ops.roi_align(feats, rois, (7, 7), 0.5, 0, True))
        # with a gradient to record, one call (autograd sees torchvision's op)
        feats.requires_grad_(True)
        out = ops.roi_align(feats, rois, (7, 7), 0.5, 0, True)
        out.sum().backward()
        assert feats.grad is not None and out.grad_fn is not None
    finally:
        torch.set_num_threads(threads)


def test_threaded_cpu_paths_under_bf16_autocast_equal_torchvision():
    """Autocast does not reach the worker threads; bf16 inputs must still give torchvision's
    autocast result (computed in fp32) instead of failing for want of a bf16 kernel."""
    from segdet.ops import cpu_parallel
    g = torch.Generator().manual_seed(3)
    feats = torch.rand(1, 8, 40, 40, generator=g).bfloat16()
    rois = torch.cat([torch.zeros(300, 1), random_boxes(300, g) / 3], dim=1)
    boxes = random_boxes(6000, g).bfloat16()
    scores = torch.rand(6000, generator=g).bfloat16()
    idxs = torch.randint(0, 40, (6000, ), generator=g)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        assert rois.shape[0] >= cpu_parallel.MIN_PARALLEL_ROIS
        with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
            ours = ops.roi_align(feats, rois, (7, 7), 0.5, 2, True)
            theirs = torchvision.ops.roi_align(feats, rois, (7, 7), 0.5, 2, True)
            keep = ops.batched_nms(boxes, scores, idxs, 0.5)
            tv_keep = torchvision.ops.batched_nms(boxes.float(), scores.float(), idxs, 0.5)
        assert ours.dtype == theirs.dtype == torch.bfloat16 and torch.equal(ours, theirs)
        assert torch.equal(keep, tv_keep)
    finally:
        torch.set_num_threads(threads)


def test_bf16_features_pool_in_fp32_with_fp32_rois():
    """Half CPU features are pooled as torchvision's autocast does (fp32 features and boxes,
    output cast back), on the one-call path too; SingleRoIExtractor's RoIAlign keeps the RoIs
    fp32 for them (bf16 would move a 1000-px coordinate by up to 4 px)."""
    from segdet.models.roi_heads.roi_extractors.single_level_roi_extractor import RoIAlign
    g = torch.Generator().manual_seed(4)
    feats = torch.rand(1, 4, 300, 300, generator=g).bfloat16()
    rois = torch.tensor([[0., 1001.3, 997.7, 1150.9, 1093.1], [0., 10.2, 20.7, 64.9, 80.1]])
    expected = torchvision.ops.roi_align(feats.float(), rois, (7, 7), 0.25, 2, True).bfloat16()
    with torch.no_grad():
        assert torch.equal(ops.roi_align(feats, rois, (7, 7), 0.25, 2, True), expected)
        layer = RoIAlign(7, spatial_scale=0.25, sampling_ratio=2, aligned=True)
        pooled = layer(feats, rois)
    assert pooled.dtype == torch.bfloat16 and torch.equal(pooled, expected)


def test_threaded_roi_align_works_in_a_forked_child():
    import multiprocessing as mp
    from segdet.ops import cpu_parallel
    feats = torch.rand(1, 4, 20, 20)
    rois = torch.cat([torch.zeros(100, 1), random_boxes(100, torch.Generator().manual_seed(3))
                      / 6], dim=1)
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with torch.no_grad():
            expected = ops.roi_align(feats, rois, (3, 3), 1.0, 0, True)  # parent's pool exists
        assert cpu_parallel._pool is not None
        ctx = mp.get_context('fork')
        with ctx.Pool(1) as pool:
            got = pool.apply_async(_child_roi_align, (feats, rois)).get(timeout=60)
        assert torch.equal(got, expected)
    finally:
        torch.set_num_threads(threads)


def _child_roi_align(feats, rois):
    torch.set_num_threads(2)
    with torch.no_grad():
        return ops.roi_align(feats, rois, (3, 3), 1.0, 0, True)
