"""CPU inference speed of the FBNet detectors and of Faster / Mask R-CNN R-50-C4, in one run.

The CPU version of maskrcnn-benchmark's "Light-weight Model baselines" table (issue 16 item 8):

    python .dev_scripts/fbnet_speed_table.py --out docs/benchmarks/fbnet_speed.json --markdown

Per config (the four of configs/fbnet/ at 600 px and the two R-50-C4 references at 800 px, with
200 RPN proposals per image at test time as the model zoo's rows), per precision (fp32, and
``--amp``: bf16 autocast with channels_last where the CPU has native bf16, fp32 otherwise; the
JSON says which ran) and per batch size (1, 8), two figures in seconds per image:

- **model**: ``model.test_step`` (normalisation and padding, network, RPN proposals, RoI heads,
  box decoding and NMS, mask pasting) on random uint8 images of the size the config's test
  pipeline gives a 640x480 image (600x800 for FBNet, 800x1067 for R-50-C4), with that
  pipeline's metainfo, so results are rescaled and masks pasted at 640x480;
- **total**: the same model on batches from the config's test data loader over a folder of
  640x480 JPEGs written once per run (fixed seed): JPEG decoding, resizing, packing and
  collation included, one batch after another (``--num-workers 0``: loading is not hidden
  behind the model on other cores).

All models have random weights with BatchNorm folded into the convolutions (tools/test.py's
default), the box score threshold is 0 (``--score-thr``; random weights score every class
below the configs' 0.05, which would leave nothing to post-process) so every image decodes,
NMSes and (Mask R-CNN) pastes 100 detections. Each (config, precision) runs in its own process
(peak RSS per model; nothing cached from the previous one); the fp32 runs go in config order,
the ``--amp`` runs in reverse, so a drift of the machine spreads over the models. Timing,
model building, BN folding, autocast and the channels_last choice are tools/benchmark.py's
(``segdet.engine.benchmark``, ``segdet.engine.runtime``). Target: each FBNet model at least
``--target`` (3) times faster per image than its R-50-C4 reference.

The JSON (``--out``) holds the CPU (model, flags, native bf16), the settings, one row per
(config, precision, batch size) with ``model_s_per_image`` (and its network / post-processing
split), ``total_s_per_image`` = ``loader_model_s_per_image`` + ``data_s_per_image``, the
input sizes, what ran (``autocast``, ``amp_dtype``, ``channels_last``), ``peak_rss_mb`` (the
worker's peak up to that batch size), ``params`` (after BN folding) and
``trunk_gflops_per_image`` (backbone only); and ``ratios``. ``--from-json FILE --markdown``
prints the tables of an earlier run.
"""
import argparse
import gc
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

#: (config relative to configs/, is an R-50-C4 reference), in the model zoo's row order.
CONFIGS = [
    ('faster_rcnn/faster-rcnn_r50-caffe_c4-1x_coco.py', True),
    ('fbnet/faster-rcnn_fbnet-chamv1a_600_0.75x_coco.py', False),
    ('fbnet/faster-rcnn_fbnet-default_600_0.5x_coco.py', False),
    ('mask_rcnn/mask-rcnn_r50-caffe-c4_1x_coco.py', True),
    ('fbnet/mask-rcnn_fbnet-xirb16d-dsmask_600_0.5x_coco.py', False),
    ('fbnet/mask-rcnn_fbnet-default_600_0.5x_coco.py', False),
]
REFERENCES = {config for config, reference in CONFIGS if reference}
CPU_FLAGS = ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')


def cpu_description() -> dict:
    """The CPU model, the flags that decide fp32 / bf16 speed, and whether bf16 is native."""
    from segdet.engine.benchmark import cpu_model_name
    from segdet.engine.optimizers import cpu_flags, cpu_supports_bf16

    flags = cpu_flags() or frozenset()
    return dict(model=cpu_model_name(), flags=[f for f in CPU_FLAGS if f in flags],
                native_bf16=cpu_supports_bf16(), logical_cpus=os.cpu_count())


def iterations(batch_sizes: list[int], iters: Optional[list[int]]) -> list[int]:
    """Timed iterations per batch size: ``iters`` (one value for all, or one per batch size),
    else 5 at batch 1 and 2 above (the R-50-C4 takes seconds per image on 2 cores)."""
    if not iters:
        return [5 if b == 1 else 2 for b in batch_sizes]
    if len(iters) == 1:
        return iters * len(batch_sizes)
    if len(iters) != len(batch_sizes):
        raise ValueError(f'--num-iters takes one value or one per batch size '
                         f'({batch_sizes}), got {iters}')
    return list(iters)


def images_needed(batch_sizes: list[int], iters: list[int], warmup: int) -> int:
    """Images to write: enough for the longest loader run, a multiple of every batch size
    (so no batch comes out short)."""
    step = math.lcm(*batch_sizes)
    needed = max(b * (warmup + n) for b, n in zip(batch_sizes, iters))
    return step * math.ceil(needed / step)


def write_images(root: Path, size: tuple[int, int], count: int, seed: int = 0) -> str:
    """``count`` JPEGs of ``size`` (W, H) under ``root/images/`` and a COCO json without
    annotations (the 80 COCO categories) at ``root/annotations/images.json``.

    Each image is a smooth random texture (noise at 1/16 of the size, upscaled) with grain and
    a few filled rectangles and discs, JPEG quality 90: decoding costs about what a COCO photo
    costs, unlike pure noise. Same seed, same files.

    Returns:
        The annotation file's path relative to ``root``.
    """
    import cv2
    import numpy as np

    from segdet.datasets import CocoDataset

    rng = np.random.default_rng(seed)
    w, h = size
    (root / 'images').mkdir(parents=True, exist_ok=True)
    (root / 'annotations').mkdir(exist_ok=True)
    images = []
    for i in range(count):
        low = rng.integers(0, 256, (max(h // 16, 2), max(w // 16, 2), 3), dtype=np.uint8)
        img = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
        for _ in range(int(rng.integers(2, 6))):
            x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = int(rng.integers(max(min(w, h) // 20, 1), max(min(w, h) // 4, 2)))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            if rng.random() < 0.5:
                cv2.rectangle(img, (x - r, y - r // 2), (x + r, y + r // 2), colour, -1)
            else:
                cv2.circle(img, (x, y), r, colour, -1)
        name = f'{i:06d}.jpg'
        cv2.imwrite(str(root / 'images' / name), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        images.append(dict(id=i + 1, file_name=name, width=w, height=h))
    categories = [dict(id=i + 1, name=name)
                  for i, name in enumerate(CocoDataset.METAINFO['classes'])]
    ann = 'annotations/images.json'
    (root / ann).write_text(json.dumps(dict(images=images, annotations=[],
                                            categories=categories)))
    return ann


def prepare_config(spec: dict) -> Any:
    """The worker's config: test loader on the generated images, the proposal and score
    settings, the test Resize scaled by ``scale_factor``, then the user's options."""
    from segdet.utils import load_config

    workers = spec['num_workers']
    options = {
        'model.test_cfg.rpn.max_per_img': spec['proposals'],
        'model.test_cfg.rcnn.score_thr': spec['score_thr'],
        'test_dataloader.dataset.data_root': spec['data_root'] + '/',
        'test_dataloader.dataset.ann_file': spec['ann_file'],
        'test_dataloader.dataset.data_prefix.img': 'images/',
        'test_dataloader.num_workers': workers,
        'test_dataloader.persistent_workers': workers > 0,
        **(spec.get('cfg_options') or {}),
    }
    cfg = load_config(REPO / 'configs' / spec['config'], options)
    if spec['scale_factor'] != 1:
        for step in cfg.test_dataloader.dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = tuple(max(1, round(s * spec['scale_factor']))
                                      for s in step['scale'])
    return cfg


def pipeline_batch(dataset: Any, batch_size: int) -> dict:
    """The first ``batch_size`` items of ``dataset`` through its pipeline, collated."""
    from mmengine.dataset import pseudo_collate
    return pseudo_collate([dataset[i] for i in range(batch_size)])


def random_images_like(batch: dict, seed: int = 0) -> dict:
    """``batch`` with its images replaced by random uint8 ones of the same shapes."""
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=[torch.randint(0, 256, tuple(x.shape), dtype=torch.uint8, generator=g)
                        for x in batch['inputs']], data_samples=batch['data_samples'])


def trunk_gflops(model: torch.nn.Module, batch: dict) -> float:
    """GFLOPs per image of ``extract_feat`` (backbone and neck; MAC = 2 FLOPs) on ``batch``;
    the RPN and RoI heads run on data-dependent proposals and are not counted."""
    from segdet.engine.benchmark import count_flops
    with torch.no_grad():
        inputs = model.data_preprocessor(batch, False)['inputs']
    return count_flops(model, inputs, fn=model.extract_feat).flops / inputs.shape[0] / 1e9


def run_worker(spec: dict) -> list[dict]:
    """Time one (config, precision) at every batch size; one row per batch size."""
    from mmengine.registry import DefaultScope

    import segdet.engine
    from segdet.engine.benchmark import (benchmark_batches, build_benchmark_model,
                                         peak_memory_mb, run_model_benchmark)
    from segdet.engine.optimizers import resolve_amp_dtype
    from segdet.engine.runtime import (configure_runtime, prepare_tool_process,
                                       resolve_channels_last, resolve_fp32_depthwise)
    from segdet.registry import DATASETS
    from segdet.utils import registry_hints

    prepare_tool_process()
    segdet.engine.register_all_modules(init_default_scope=False)
    torch.set_num_threads(spec['threads'])
    amp = spec['precision'] == 'amp'
    cfg = prepare_config(spec)
    configure_runtime(cfg, 'none', amp=amp, channels_last=False)  # model converted below
    channels_last = resolve_channels_last(cfg, None, amp)
    fp32_depthwise = resolve_fp32_depthwise(cfg, amp)  # as tools/benchmark.py --amp
    warmup, rows = spec['warmup'], []
    # the model run warms the model up on the same input size; without loader workers to
    # start, the loader run that follows needs no warm-up of its own
    loader_warmup = warmup if spec['num_workers'] > 0 else 0
    torch.manual_seed(0)  # the same random weights in every run
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        model, fused = build_benchmark_model(cfg, None, 'cpu', fuse_conv_bn=True,
                                             channels_last=channels_last,
                                             fp32_depthwise=fp32_depthwise)
        params = sum(p.numel() for p in model.parameters())
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        gflops = trunk_gflops(model, pipeline_batch(dataset, 1)) if spec['flops'] else None
        for batch_size, iters in zip(spec['batch_sizes'], spec['iters']):
            template = pipeline_batch(dataset, batch_size)
            started = time.perf_counter()
            fixed = itertools.repeat(random_images_like(template))
            model_run = run_model_benchmark(model, 'inference', fixed, batch_size, warmup,
                                            iters, amp=amp)
            loader = benchmark_batches(cfg, 'inference', batch_size)
            loader_run = run_model_benchmark(model, 'inference', loader, batch_size,
                                             loader_warmup, iters, amp=amp)
            del loader  # stops loader workers before the next batch size
            gc.collect()
            row = dict(
                config=spec['config'], name=Path(spec['config']).stem,
                type='Mask' if cfg.model.roi_head.get('mask_head') else 'Fast',
                reference=spec['config'] in REFERENCES, precision=spec['precision'],
                autocast=model_run['autocast'],
                amp_dtype=(str(resolve_amp_dtype(None, 'cpu')).replace('torch.', '')
                           if model_run['autocast'] else None),
                channels_last=channels_last, fp32_depthwise=fp32_depthwise,
                fused_batchnorms=fused, batch_size=batch_size,
                warmup=warmup, loader_warmup=loader_warmup, iters=iters,
                image_shape=list(template['data_samples'][0].ori_shape),
                pipeline_shape=list(template['data_samples'][0].img_shape),
                input_shapes=model_run['input_shapes'],
                model_s_per_image=model_run['s_per_image'],
                network_s_per_image=model_run['network_s_per_image'],
                postprocess_s_per_image=model_run['postprocess_s_per_image'],
                model_times=model_run['times'],
                total_s_per_image=(loader_run['s_per_iter'] + loader_run['data_time'])
                / batch_size,
                data_s_per_image=loader_run['data_time'] / batch_size,
                loader_model_s_per_image=loader_run['s_per_image'],
                loader_model_times=loader_run['times'],
                loader_input_shapes=loader_run['input_shapes'],
                peak_rss_mb=peak_memory_mb('cpu'), params=params,
                trunk_gflops_per_image=gflops)
            rows.append(row)
            print(f"    batch {batch_size}: model {row['model_s_per_image']:.4f} s/im, total "
                  f"{row['total_s_per_image']:.4f} s/im (data "
                  f"{row['data_s_per_image']:.4f}), peak RSS {row['peak_rss_mb']:.0f} MiB "
                  f'[{time.perf_counter() - started:.0f} s]', flush=True)
    return rows


def speed_ratios(rows: list[dict], target: float) -> list[dict]:
    """Reference s/im over model s/im for every non-reference row, against the R-50-C4 row of
    the same type (Fast / Mask), precision and batch size, for "model" and "total"."""
    refs = {(r['type'], r['precision'], r['batch_size']): r for r in rows if r['reference']}
    ratios = []
    for row in rows:
        ref = refs.get((row['type'], row['precision'], row['batch_size']))
        if row['reference'] or ref is None:
            continue
        for measure in ('model', 'total'):
            ratio = ref[f'{measure}_s_per_image'] / row[f'{measure}_s_per_image']
            ratios.append(dict(config=row['config'], reference=ref['config'],
                               precision=row['precision'], batch_size=row['batch_size'],
                               measure=measure, ratio=ratio, meets_target=ratio >= target))
    return ratios


def run_table(args: argparse.Namespace) -> dict:
    """Write the images, run one worker process per (config, precision), collect the rows."""
    iters = iterations(args.batch_sizes, args.num_iters)
    count = images_needed(args.batch_sizes, iters, args.num_warmup)
    results: dict = dict(cpu=cpu_description(), torch=torch.__version__, threads=args.threads,
                         target=args.target, settings=dict(
                             batch_sizes=args.batch_sizes, iters=iters, warmup=args.num_warmup,
                             image_size=args.image_size, images=count, seed=args.seed,
                             proposals=args.proposals, score_thr=args.score_thr,
                             num_workers=args.num_workers,
                             test_scale_factor=args.test_scale_factor,
                             cfg_options=args.cfg_options))
    jobs = [(config, precision) for i, precision in enumerate(args.amp_modes)
            for config in (args.configs if i % 2 == 0 else reversed(args.configs))]
    start, rows = time.perf_counter(), []
    with tempfile.TemporaryDirectory(prefix='fbnet_speed_') as tmp:
        data_root = Path(tmp) / 'data'
        ann_file = write_images(data_root, tuple(args.image_size), count, args.seed)
        for i, (config, precision) in enumerate(jobs):
            print(f'[{i + 1}/{len(jobs)}] {config} {precision} '
                  f'({time.perf_counter() - start:.0f} s elapsed)', flush=True)
            spec = dict(config=config, precision=precision, batch_sizes=args.batch_sizes,
                        iters=iters, warmup=args.num_warmup, threads=args.threads,
                        data_root=str(data_root), ann_file=ann_file,
                        num_workers=args.num_workers, proposals=args.proposals,
                        score_thr=args.score_thr, scale_factor=args.test_scale_factor,
                        cfg_options=args.cfg_options, flops=not args.no_flops,
                        out=str(Path(tmp) / f'rows_{i}.json'))
            spec_file = Path(tmp) / f'spec_{i}.json'
            spec_file.write_text(json.dumps(spec))
            done = subprocess.run([sys.executable, str(Path(__file__).resolve()), '--worker',
                                   str(spec_file)], cwd=REPO, stderr=subprocess.PIPE, text=True)
            if done.returncode != 0:
                raise RuntimeError(f'{config} {precision}: the worker failed (exit '
                                   f'{done.returncode}):\n{done.stderr[-3000:]}')
            rows += json.loads(Path(spec['out']).read_text())
    order = {c: i for i, c in enumerate(args.configs)}
    rows.sort(key=lambda r: (order[r['config']], args.amp_modes.index(r['precision']),
                             r['batch_size']))
    results.update(rows=rows, ratios=speed_ratios(rows, args.target),
                   seconds=time.perf_counter() - start)
    return results


def amp_ran_as(rows: list[dict]) -> str:
    """What the ``--amp`` rows computed in."""
    kinds = sorted({(f"{r['amp_dtype']} autocast" if r['autocast'] else 'fp32 (no native bf16)')
                    + (', channels_last' if r['channels_last'] else '')
                    + (', depthwise convs fp32' if r.get('fp32_depthwise') else '')
                    for r in rows if r['precision'] == 'amp'})
    return ' / '.join(kinds) or '-'


def header(results: dict) -> str:
    """One line: CPU, threads, torch, images, proposals, score threshold, what --amp ran as."""
    cpu, s, threads = results['cpu'], results['settings'], results['threads']
    amp = (f'; `--amp` ran as {amp_ran_as(results["rows"])}'
           if any(r['precision'] == 'amp' for r in results['rows']) else '')
    return (f"{cpu['model']} ({', '.join(cpu['flags']) or 'no AVX2'}; native bf16: "
            f"{'yes' if cpu['native_bf16'] else 'no'}), {threads} thread"
            f"{'s' if threads != 1 else ''}, torch {results['torch']}; "
            f"{s['image_size'][0]}x{s['image_size'][1]} images, {s['proposals']} proposals, "
            f"score threshold {s['score_thr']}{amp}")


def markdown_table(results: dict) -> str:
    """docs/benchmarks.md's tables: s/im per config (model and total per precision and batch
    size), then each FBNet model's speed-up over its R-50-C4 reference."""
    rows, s = results['rows'], results['settings']
    precisions = [p for p in ('fp32', 'amp') if any(r['precision'] == p for r in rows)]
    label = {'fp32': 'fp32', 'amp': '`--amp`'}
    measures = [(p, b, m) for p in precisions for b in s['batch_sizes']
                for m in ('model', 'total')]
    heads = [f'{label[p]} {m} b{b}' for p, b, m in measures]
    lines = [f'CPU: {header(results)}. Seconds per image:', '',
             '| config | type | input | params (M) | trunk GFLOPs/im | ' + ' | '.join(heads)
             + ' | peak RSS MiB ' + ' / '.join(label[p] for p in precisions) + ' |',
             '|---' * (6 + len(heads)) + '|']
    by_key = {(r['config'], r['precision'], r['batch_size']): r for r in rows}
    for config in dict.fromkeys(r['config'] for r in rows):
        mine = [r for r in rows if r['config'] == config]
        first = mine[0]
        cells = []
        for p, b, m in measures:
            row = by_key.get((config, p, b))
            cells.append(f"{row[f'{m}_s_per_image']:.4f}" if row else '-')
        gflops = first.get('trunk_gflops_per_image')
        peaks = [max((r['peak_rss_mb'] for r in mine if r['precision'] == p), default=None)
                 for p in precisions]
        shape = 'x'.join(map(str, first['pipeline_shape']))
        padded = ' '.join('x'.join(map(str, x)) for x in first['input_shapes'])
        lines.append(
            f"| {first['name']}{' (reference)' if first['reference'] else ''} | "
            f"{first['type']} | {shape} ({padded} padded) | {first['params'] / 1e6:.1f} | "
            f"{'-' if gflops is None else f'{gflops:.1f}'} | " + ' | '.join(cells) + ' | '
            + ' / '.join('-' if v is None else f'{v:.0f}' for v in peaks) + ' |')
    ratios = {(r['config'], r['precision'], r['batch_size'], r['measure']): r
              for r in results['ratios']}
    lines += ['', f"R-50-C4 s/im over FBNet s/im (target: >= {results['target']}x, bold where "
              'met):', '', '| config | reference | ' + ' | '.join(heads) + ' |',
              '|---' * (2 + len(heads)) + '|']
    for config in dict.fromkeys(r['config'] for r in results['ratios']):
        cells = []
        for p, b, m in measures:
            r = ratios.get((config, p, b, m))
            text = '-' if r is None else f"{r['ratio']:.2f}x"
            cells.append(f'**{text}**' if r and r['meets_target'] else text)
        ref = next(r['reference'] for r in results['ratios'] if r['config'] == config)
        lines.append(f'| {Path(config).stem} | {Path(ref).stem} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def ascii_table(results: dict) -> str:
    """A terminal table of the rows (tools/benchmark.py's table code)."""
    from segdet.engine.benchmark import format_table
    rows = [dict(r, input='x'.join(map(str, r['pipeline_shape']))) for r in results['rows']]
    columns = [('config', 'name', str), ('precision', 'precision', str),
               ('autocast', 'autocast', str), ('batch', 'batch_size', 'd'),
               ('input', 'input', str), ('model s/im', 'model_s_per_image', '.4f'),
               ('total s/im', 'total_s_per_image', '.4f'),
               ('data s/im', 'data_s_per_image', '.4f'), ('peak MiB', 'peak_rss_mb', '.0f')]
    ratio_rows = [dict(r, name=Path(r['config']).stem) for r in results['ratios']]
    ratio_columns = [('config', 'name', str), ('precision', 'precision', str),
                     ('batch', 'batch_size', 'd'), ('measure', 'measure', str),
                     ('R-50-C4 / this', 'ratio', '.2f'), ('target met', 'meets_target', str)]
    return (format_table(rows, columns, title=f" {results['cpu']['model']} ") + '\n'
            + format_table(ratio_rows, ratio_columns, title=f" target {results['target']}x "))


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--configs', nargs='+', default=[c for c, _ in CONFIGS],
                        help='configs relative to configs/ (default: the six rows); the two '
                        'R-50-C4 ones are the references of the others')
    parser.add_argument('--batch-sizes', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--num-warmup', type=int, default=1,
                        help='untimed iterations before the model run of each batch size')
    parser.add_argument('--num-iters', type=int, nargs='+',
                        help='timed iterations: one value, or one per batch size (default: 5 '
                        'at batch 1, 2 above)')
    parser.add_argument('--amp-modes', nargs='+', choices=['fp32', 'amp'],
                        default=['fp32', 'amp'])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--num-workers', type=int, default=0,
                        help='test loader workers (default 0: loading in the timed process)')
    parser.add_argument('--image-size', type=int, nargs=2, default=[640, 480],
                        metavar=('W', 'H'), help='size of the generated images')
    parser.add_argument('--test-scale-factor', type=float, default=1.0,
                        help="multiply the test pipeline's Resize scale (smoke tests)")
    parser.add_argument('--proposals', type=int, default=200,
                        help='model.test_cfg.rpn.max_per_img (the model zoo rows: 200)')
    parser.add_argument('--score-thr', type=float, default=0.0,
                        help='model.test_cfg.rcnn.score_thr (0: 100 detections per image)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the generated images')
    parser.add_argument('--target', type=float, default=3.0,
                        help='least R-50-C4 / FBNet s/im ratio aimed at')
    parser.add_argument('--no-flops', action='store_true',
                        help='skip the trunk FLOP count (a JIT trace per model)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='options for every config')
    parser.add_argument('--out', help='write the results as JSON')
    parser.add_argument('--markdown', action='store_true',
                        help='print the docs/benchmarks.md tables instead of the terminal ones')
    parser.add_argument('--from-json', help='print the tables of an earlier --out file')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is None and not args.from_json:
        unknown = [c for c in args.configs if not (REPO / 'configs' / c).is_file()]
        if unknown:
            parser.error(f'--configs: no such file under {REPO / "configs"}: {unknown}')
        if min(args.batch_sizes) < 1 or args.num_warmup < 0 or args.threads < 1:
            parser.error('batch sizes and --threads must be >= 1, --num-warmup >= 0')
        try:
            if min(iterations(args.batch_sizes, args.num_iters)) < 1:
                parser.error(f'--num-iters must be >= 1, got {args.num_iters}')
        except ValueError as err:
            parser.error(str(err))
    return args


def main(argv: Optional[list[str]] = None) -> Any:
    args = parse_args(argv)
    if args.worker:
        spec = json.loads(Path(args.worker).read_text())
        rows = run_worker(spec)
        Path(spec['out']).write_text(json.dumps(rows))
        return rows
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())
    else:
        results = run_table(args)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(results, indent=1))
    print(markdown_table(results) if args.markdown else ascii_table(results))
    return results


if __name__ == '__main__':
    main()
