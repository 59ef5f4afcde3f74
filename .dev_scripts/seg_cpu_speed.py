"""CPU inference speed of segmentation models, measured against this machine's matmul peak.

    python .dev_scripts/seg_cpu_speed.py [--threads 2] [--out speed.json] [--quick]

In one run:
  1. fp32 ``torch.matmul`` throughput of square matrices (best of several, after warm-up);
     the peak is the maximum over sizes, measured before and after the models.
  2. Whole-mode inference of each segdet config (default PSPNet and DeepLabV3+ R-50-D8,
     Cityscapes 512x1024, random init, SyncBN -> BN) at batch 1 on a 1x3xHxW input, in the
     contiguous and channels_last memory formats: ``model.predict`` (network, resize to the
     input size, argmax) and the bare network ``model._forward``. torchvision's
     ``fcn_resnet50`` and ``deeplabv3_resnet50`` (weights=None) are timed the same way as
     reference points (predict = forward + argmax; network = backbone + classifier).
  3. Slide inference of one segdet config on a larger image, one crop per forward pass vs.
     all windows (and any other ``--slide-batch-sizes``) per pass, with the logits compared.

FLOPs: ``mmengine.analysis.FlopAnalyzer`` on ``encode_decode`` (segdet) or ``forward``
(torchvision), with one multiply-accumulate = 2 FLOPs, the same convention as the matmul's
2 n^3. Achieved GFLOP/s = FLOPs / (median s/im of predict); the target is
``--target`` (60 %) of the matmul peak for the segdet models.
"""
import argparse
import json
import sys
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import torch
from torch import Tensor, nn

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from segdet.utils import keep_freed_memory  # noqa: E402
from segdet.engine.benchmark import (TimingResult, count_flops,  # noqa: E402
                                     environment_info, format_table, gflops_per_second,
                                     measure_matmul_throughput, time_callable)

DEFAULT_CONFIGS = ('configs/pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
                   'configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-40k_cityscapes-512x1024.py')
REFERENCES = ('fcn_resnet50', 'deeplabv3_resnet50')
FORMATS = {'contiguous': torch.contiguous_format, 'channels_last': torch.channels_last}
FLOP_CONVENTION = ('FLOPs = 2 x multiply-accumulates (mmengine FlopAnalyzer total x 2); '
                   'matmul FLOPs = 2 n^3')
QUICK = dict(size=(128, 256), slide_size=(256, 512), crop_size=(128, 256), stride=(85, 171),
             warmup=1, repeats=1, slide_repeats=1, matmul_sizes=(256, 512, 1024),
             matmul_repeats=3)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description='CPU speed of segmentation models vs. matmul peak')
    p.add_argument('--threads', type=int, default=2, help='torch.set_num_threads')
    p.add_argument('--warmup', type=int, default=1, help='untimed runs per measurement')
    p.add_argument('--repeats', type=int, default=3, help='timed runs per whole measurement')
    p.add_argument('--size', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W'),
                   help='whole-mode input size')
    p.add_argument('--configs', nargs='*', default=list(DEFAULT_CONFIGS),
                   help='segdet configs timed in whole mode (and checked against the target)')
    p.add_argument('--references', nargs='*', default=list(REFERENCES), choices=REFERENCES,
                   help='torchvision reference models (none: give the flag no value)')
    p.add_argument('--formats', nargs='+', default=list(FORMATS), choices=list(FORMATS),
                   help='memory formats of the whole-mode runs')
    p.add_argument('--slide-config', default=DEFAULT_CONFIGS[0],
                   help="config for the slide-mode comparison; '' skips it")
    p.add_argument('--slide-size', type=int, nargs=2, default=(1024, 2048), metavar=('H', 'W'))
    p.add_argument('--crop-size', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W'))
    p.add_argument('--stride', type=int, nargs=2, default=(341, 683), metavar=('H', 'W'),
                   help='slide stride (default 2/3 of the crop, as mmseg\'s 769 configs)')
    p.add_argument('--slide-batch-sizes', type=int, nargs='+', default=[3, 0],
                   help='batched slide runs compared with batch 1; 0 = all windows at once')
    p.add_argument('--slide-format', default='contiguous', choices=list(FORMATS))
    p.add_argument('--slide-repeats', type=int, default=3,
                   help='timed runs per slide setting (taken in turns)')
    p.add_argument('--matmul-sizes', type=int, nargs='+', default=(1024, 2048, 4096))
    p.add_argument('--matmul-repeats', type=int, default=5)
    p.add_argument('--target', type=float, default=0.6, help='fraction of the matmul peak')
    p.add_argument('--stat', choices=['median', 'min'], default='median',
                   help='which s/im gives GFLOP/s and the pass/fail')
    p.add_argument('--quick', action='store_true',
                   help='smoke run: ' + ', '.join(f'{k}={v}' for k, v in QUICK.items()))
    p.add_argument('--no-keep-freed-memory', action='store_true',
                   help="leave glibc's malloc as it is (segdet.utils.keep_freed_memory)")
    p.add_argument('--out', help='write every figure to this JSON file')
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def log(msg: str) -> None:
    print(msg, flush=True)


def resolve_config(path: str) -> Path:
    """A config path as given, else relative to the repository root."""
    for candidate in (Path(path), REPO / path):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f'config file not found: {path} (also tried {REPO / path})')


def build_segmentor(config: str, test_cfg: Optional[dict] = None) -> nn.Module:
    """The config's segmentor in eval mode: SyncBN -> BN, PyTorch's default random init."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from segdet.registry import MODELS
    from segdet.utils import revert_sync_bn_cfg

    cfg = Config.fromfile(str(resolve_config(config)))
    model_cfg = revert_sync_bn_cfg(cfg.model)
    if test_cfg is not None:
        model_cfg.test_cfg = test_cfg
    init_default_scope('segdet')
    torch.manual_seed(0)
    return MODELS.build(model_cfg).eval()


def build_reference(name: str) -> nn.Module:
    """A torchvision segmentation model without weights or auxiliary classifier."""
    from torchvision.models import segmentation

    torch.manual_seed(0)
    return getattr(segmentation, name)(weights=None, weights_backbone=None,
                                       aux_loss=False).eval()


def whole_metas(h: int, w: int) -> list[dict]:
    return [dict(ori_shape=(h, w), img_shape=(h, w), pad_shape=(h, w),
                 padding_size=[0, 0, 0, 0])]


def segdet_calls(model: nn.Module, x: Tensor) -> dict[str, Callable[[], Any]]:
    """``predict`` (network + resize + argmax) and ``network`` (decode-head logits) on x."""
    from segdet.structures import DataSample

    samples = [DataSample(metainfo=m) for m in whole_metas(*x.shape[2:])]
    return dict(predict=lambda: model.predict(x, samples), network=lambda: model._forward(x))


def reference_calls(model: nn.Module, x: Tensor) -> dict[str, Callable[[], Any]]:
    """torchvision's forward (resize included) + argmax, and backbone + classifier."""
    return dict(predict=lambda: model(x)['out'].argmax(dim=1),
                network=lambda: model.classifier(model.backbone(x)['out']))


def model_flops(model: nn.Module, x: Tensor, is_segdet: bool) -> dict:
    """FLOPs of the network + resize to the input size (post-processing has no MACs)."""
    if is_segdet:
        metas = whole_metas(*x.shape[2:])
        return count_flops(model, x, fn=lambda t: model.encode_decode(t, metas)).to_dict()
    return count_flops(model, x).to_dict()


def bench_whole(name: str, model: nn.Module, is_segdet: bool, args: argparse.Namespace,
                step: list) -> list[dict]:
    """Rows (one per memory format) of FLOPs and predict/network timings at ``args.size``."""
    h, w = args.size
    x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(0))
    flops = model_flops(model, x, is_segdet)
    log(f'{name}: {flops["flops"] / 1e9:.1f} GFLOPs/im at {h}x{w} '
        f'({flops["macs"] / 1e9:.1f} GMACs)')
    rows = []
    for fmt in args.formats:
        model.to(memory_format=FORMATS[fmt])
        xf = x.contiguous(memory_format=FORMATS[fmt])
        calls = (segdet_calls if is_segdet else reference_calls)(model, xf)
        row = dict(model=name, kind='segdet' if is_segdet else 'torchvision', format=fmt,
                   input_size=[h, w], gflops=flops['flops'] / 1e9, flop_count=flops)
        for what, fn in calls.items():
            step[0] += 1
            with torch.inference_mode():
                timing, _ = time_callable(fn, warmup=args.warmup, repeats=args.repeats)
            row[what] = timing.to_dict()
            log(f'[{step[0]}] {name} {fmt} {what}: median {timing.median:.3f} s/im, '
                f'min {timing.min:.3f} s/im, '
                f'{gflops_per_second(flops["flops"], timing.median):.1f} GFLOP/s')
        row['postprocess_s'] = row['predict']['median'] - row['network']['median']
        rows.append(row)
    model.to(memory_format=torch.contiguous_format)
    return rows


def add_ratios(rows: list[dict], peak: float, target: float, stat: str) -> None:
    """Fill s/im, GFLOP/s, ratio to the matmul peak and pass/fail (segdet rows only)."""
    for row in rows:
        seconds = row['predict'][stat]
        row['s_per_im'] = seconds
        row['gflops_per_s'] = gflops_per_second(row['gflops'] * 1e9, seconds)
        row['ratio_to_peak'] = row['gflops_per_s'] / peak
        row['target_met'] = row['ratio_to_peak'] >= target if row['kind'] == 'segdet' else None


def logits_diff(a: Tensor, b: Tensor) -> dict:
    """Bitwise equality, max |a - b| and argmax agreement of two (C, H, W) logit maps."""
    return dict(identical=bool(torch.equal(a, b)),
                max_abs_diff=float((a - b).abs().max()),
                pred_equal_fraction=float((a.argmax(0) == b.argmax(0)).float().mean()))


def bench_slide(args: argparse.Namespace, step: list) -> dict:
    """Slide-mode predict at ``args.slide_size``: batch 1 vs. each of --slide-batch-sizes.

    The settings are timed in turns (batch 1, batch b, ..., then again), so a slow drift of
    the machine's speed during the run falls on all of them alike.
    """
    from segdet.models.segmentors.slide import slide_windows
    from segdet.structures import DataSample

    h, w = args.slide_size
    num_windows = len(slide_windows(h, w, args.crop_size, args.stride))
    test_cfg = dict(mode='slide', crop_size=tuple(args.crop_size), stride=tuple(args.stride),
                    batch_size=1)
    model = build_segmentor(args.slide_config, test_cfg).to(
        memory_format=FORMATS[args.slide_format])
    x = torch.randn(1, 3, h, w, generator=torch.Generator().manual_seed(1)).contiguous(
        memory_format=FORMATS[args.slide_format])
    samples = [DataSample(metainfo=m) for m in whole_metas(h, w)]
    batch_sizes = [1] + [b if b > 0 else num_windows for b in args.slide_batch_sizes]
    batch_sizes = list(dict.fromkeys(min(b, num_windows) for b in batch_sizes))

    def run(bs: int) -> Tensor:
        model.test_cfg.batch_size = bs
        with torch.inference_mode():
            return model.predict(x, samples)[0].seg_logits.data

    logits, times = {}, {bs: [] for bs in batch_sizes}
    for bs in batch_sizes:
        for _ in range(args.warmup):
            logits[bs] = run(bs)
    for repeat in range(args.slide_repeats):
        for bs in batch_sizes:
            timing, out = time_callable(lambda: run(bs), warmup=0, repeats=1)
            times[bs] += timing.times
            logits[bs] = out
            log(f'    slide round {repeat + 1}/{args.slide_repeats}, batch {bs}: '
                f'{timing.times[0]:.3f} s')
    runs = []
    for bs in batch_sizes:
        step[0] += 1
        timing = TimingResult(times=times[bs], warmup=args.warmup)
        result = dict(batch_size=bs, forward_passes=-(-num_windows // bs), **timing.to_dict())
        if bs != 1:
            result.update(logits_diff(logits[1], logits[bs]))
            result['speedup_vs_batch1'] = runs[0][args.stat] / getattr(timing, args.stat)
            result['not_slower'] = getattr(timing, args.stat) <= runs[0][args.stat]
        runs.append(result)
        log(f'[{step[0]}] slide {h}x{w} crop {tuple(args.crop_size)} stride '
            f'{tuple(args.stride)} batch {bs}: median {timing.median:.3f} s/im, '
            f'min {timing.min:.3f} s/im'
            + (f', identical={result["identical"]}, max|diff|={result["max_abs_diff"]:.3g}, '
               f'same argmax={result["pred_equal_fraction"]:.4%}' if bs != 1 else ''))
    return dict(config=args.slide_config, input_size=[h, w], crop_size=list(args.crop_size),
                stride=list(args.stride), num_windows=num_windows, format=args.slide_format,
                runs=runs)


WHOLE_COLUMNS = [
    ('model', 'model', str), ('format', 'format', str), ('GFLOPs/im', 'gflops', '.1f'),
    ('s/im median', None, '.3f'), ('s/im min', None, '.3f'),
    ('net s/im', None, '.3f'), ('GFLOP/s', 'gflops_per_s', '.1f'),
    ('ratio to peak', 'ratio_to_peak', '.1%'),
    ('target', 'target_met', lambda v: 'PASS' if v else 'FAIL'),
]


def whole_table(rows: list[dict], peak: float, target: float, stat: str) -> str:
    flat = [dict(row, **{'s/im median': row['predict']['median'],
                         's/im min': row['predict']['min'],
                         'net s/im': row['network']['median']}) for row in rows]
    columns = [(h, k if k is not None else h, f) for h, k, f in WHOLE_COLUMNS]
    return format_table(flat, columns, title=f' whole mode, fp32, matmul peak {peak:.1f} '
                        f'GFLOP/s, target {target:.0%} ({stat} s/im) ')


def slide_table(slide: dict) -> str:
    columns = [('batch', 'batch_size', 'd'), ('passes', 'forward_passes', 'd'),
               ('s/im median', 'median', '.3f'), ('s/im min', 'min', '.3f'),
               ('speed-up', 'speedup_vs_batch1', '.2f'),
               ('identical', 'identical', str), ('max |diff|', 'max_abs_diff', '.3g'),
               ('same argmax', 'pred_equal_fraction', '.2%')]
    h, w = slide['input_size']
    return format_table(slide['runs'], columns, title=(
        f' slide {h}x{w}, crop {tuple(slide["crop_size"])}, stride {tuple(slide["stride"])}, '
        f'{slide["num_windows"]} windows, {slide["format"]} '))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the benchmark; print tables; return (and optionally write) every figure."""
    args = parse_args(argv)
    kept_freed_memory = False if args.no_keep_freed_memory else keep_freed_memory()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        env = dict(environment_info(), keep_freed_memory=kept_freed_memory)
        log('environment: ' + ', '.join(f'{k}={v}' for k, v in env.items()))
        log(f'FLOP convention: {FLOP_CONVENTION}')
        matmul_kw = dict(sizes=args.matmul_sizes, repeats=args.matmul_repeats, log=log)
        matmul_before = measure_matmul_throughput(**matmul_kw)
        step, rows = [0], []
        for config in args.configs:
            name = Path(config).stem
            model = build_segmentor(config)
            rows += bench_whole(name, model, True, args, step)
            del model
        for ref in args.references:
            rows += bench_whole(ref, build_reference(ref), False, args, step)
        slide = bench_slide(args, step) if args.slide_config else None
        matmul_after = measure_matmul_throughput(**matmul_kw)
        peak = max(matmul_before['peak_gflops_per_s'], matmul_after['peak_gflops_per_s'])
        add_ratios(rows, peak, args.target, args.stat)
        log(f'matmul peak (fp32, {args.threads} threads): {peak:.1f} GFLOP/s')
        if rows:
            log(whole_table(rows, peak, args.target, args.stat))
            for fmt in args.formats[1:]:
                for name in dict.fromkeys(r['model'] for r in rows):
                    by_fmt = {r['format']: r for r in rows if r['model'] == name}
                    base = by_fmt[args.formats[0]]['s_per_im']
                    log(f'{name}: {fmt} is {base / by_fmt[fmt]["s_per_im"]:.2f}x the speed of '
                        f'{args.formats[0]}')
        if slide is not None:
            log(slide_table(slide))
        results = dict(environment=env, args=vars(args), flop_convention=FLOP_CONVENTION,
                       stat=args.stat, target=args.target,
                       matmul=dict(before=matmul_before, after=matmul_after,
                                   peak_gflops_per_s=peak),
                       whole=rows, slide=slide)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            with open(args.out, 'w') as f:
                json.dump(results, f, indent=2, default=str)
            log(f'wrote {args.out}')
        return results
    finally:
        torch.set_num_threads(threads_before)


if __name__ == '__main__':
    main()
