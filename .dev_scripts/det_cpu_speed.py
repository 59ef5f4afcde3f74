"""CPU inference speed of segdet's Faster / Mask R-CNN against torchvision's, in one run.

    python .dev_scripts/det_cpu_speed.py [--threads 2] [--size 800 1333]
        [--repeats 5] [--out docs/benchmarks/det_cpu_speed.json] [--quick]

Both sides get random weights (torchvision ``weights=None``, segdet without pre-training), the
same (1, 3, H, W) image (default 800x1333, which neither model resizes), batch 1, and the same
post-processing budget: score threshold 0 and 100 detections per image, so that each model
decodes, NMSes and (Mask R-CNN) pastes 100 masks at full resolution. The timed call is the
whole prediction: normalisation and padding, network, RPN proposals, RoI heads, box decoding,
NMS and mask pasting. Each model is warmed up, then the models are timed in turn
(interleaved, alternating which goes first) ``--repeats`` times; the table reports medians and
segdet / torchvision ratios, and the JSON every time.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from segdet.utils import keep_freed_memory  # noqa: E402
from segdet.engine.benchmark import environment_info, format_table, time_callable  # noqa: E402

CONFIGS = {
    'mask_rcnn': ('configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', 'maskrcnn_resnet50_fpn'),
    'faster_rcnn': ('configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
                    'fasterrcnn_resnet50_fpn'),
}
DETECTIONS = 100


def build_segdet(config: str, num_dets: int) -> torch.nn.Module:
    """segdet's model of ``config``: random init, score threshold 0, ``num_dets`` per image."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from segdet.registry import MODELS
    cfg = Config.fromfile(str(REPO / config))
    cfg.model.backbone.init_cfg = None
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    cfg.model.test_cfg.rcnn.max_per_img = num_dets
    init_default_scope('segdet')
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.eval()


def build_torchvision(name: str, num_dets: int, size: tuple[int, int]) -> torch.nn.Module:
    """torchvision's model ``name`` (weights=None) with the same detection budget; its
    transform keeps an image of ``size``."""
    import torchvision
    model = getattr(torchvision.models.detection, name)(
        weights=None, weights_backbone=None, box_score_thresh=0.0,
        box_detections_per_img=num_dets, min_size=min(size), max_size=max(size))
    return model.eval()


def segdet_predict(model: torch.nn.Module, image: torch.Tensor) -> Callable[[], Any]:
    """A no-argument call running ``model``'s full prediction on a uint8 (3, H, W) image."""
    from segdet.structures import DataSample
    h, w = image.shape[-2:]

    def run():
        sample = DataSample(metainfo=dict(img_shape=(h, w), ori_shape=(h, w),
                                          scale_factor=(1.0, 1.0)))
        with torch.no_grad():
            data = model.data_preprocessor(dict(inputs=[image], data_samples=[sample]), False)
            return model(**data, mode='predict')[0].pred_instances
    return run


def torchvision_predict(model: torch.nn.Module, image: torch.Tensor) -> Callable[[], Any]:
    """The same for torchvision (input in [0, 1], its own normalisation)."""

    def run():
        with torch.no_grad():
            return model([image.float() / 255])[0]
    return run


def time_interleaved(calls: dict[str, Callable[[], Any]], warmup: int, repeats: int
                     ) -> dict[str, list[float]]:
    """Warm every call up, then time them in turn ``repeats`` times, reversing the order every
    other round (machine noise and cache effects hit all of them alike)."""
    for fn in calls.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in calls}
    for i in range(repeats):
        order = list(calls.items())
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            timing, _ = time_callable(fn, warmup=0, repeats=1)
            times[name] += timing.times
    return times


def count_detections(out: Any) -> int:
    return int(out['boxes'].shape[0]) if isinstance(out, dict) else len(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--size', type=int, nargs=2, default=(800, 1333), metavar=('H', 'W'))
    parser.add_argument('--models', nargs='+', default=list(CONFIGS), choices=list(CONFIGS))
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--detections', type=int, default=DETECTIONS)
    parser.add_argument('--out', help='write the results as JSON here')
    parser.add_argument('--quick', action='store_true',
                        help='a 320x480 image, 1 repeat, no warm-up (smoke test)')
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeats, args.warmup = (320, 480), 1, 0
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    keep_freed_memory()
    torch.manual_seed(0)
    size = tuple(args.size)
    image = (torch.rand(3, *size) * 255).to(torch.uint8)
    rows, raw = [], {}
    for key in args.models:
        config, tv_name = CONFIGS[key]
        torch.manual_seed(0)
        ours = segdet_predict(build_segdet(config, args.detections), image)
        theirs = torchvision_predict(build_torchvision(tv_name, args.detections, size), image)
        times = time_interleaved({'segdet': ours, 'torchvision': theirs}, args.warmup,
                                 args.repeats)
        n_ours, n_theirs = count_detections(ours()), count_detections(theirs())
        med = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        raw[key] = dict(config=config, torchvision=tv_name, times=times,
                        detections=dict(segdet=n_ours, torchvision=n_theirs))
        rows.append(dict(model=key, segdet=med['segdet'], torchvision=med['torchvision'],
                         ratio=med['segdet'] / med['torchvision'], dets=f'{n_ours}/{n_theirs}'))
    print(format_table(rows, [('model', 'model', 's'), ('segdet s/im', 'segdet', '.3f'),
                              ('torchvision s/im', 'torchvision', '.3f'),
                              ('ratio', 'ratio', '.3f'),
                              ('detections (segdet/tv)', 'dets', 's')],
                       title=f' {size[0]}x{size[1]}, {args.threads} threads '))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(dict(
            size=size, threads=args.threads, repeats=args.repeats, warmup=args.warmup,
            environment=environment_info(), results=rows, raw=raw), indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
