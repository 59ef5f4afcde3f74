"""One table per CPU class: inference of the speed issue's models in fp32 unfused (segdet's
eager inference before BatchNorm folding), fp32 with the defaults (folded BatchNorm, the
memory format chosen for this CPU), ``--compile``, ``--amp`` and ``--amp --compile``, and the
training step in fp32 and ``--amp``, against the matmul peak measured in the same run.

Each cell is one ``tools/benchmark.py`` process (fresh memory state, its own JSON in
``--out-dir``); the matmul peak (fp32 and, where the CPU has native bf16, bf16) is measured
before and after the models and the larger value counts. Usage::

    python .dev_scripts/cpu_speed_matrix.py --out-dir docs/benchmarks/cpu_matrix_<class> --markdown

``--quick`` runs tiny shapes and one model of each kind (a smoke test of the script).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional, Sequence

import torch

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from segdet.engine.benchmark import environment_info, measure_matmul_throughput  # noqa: E402
from segdet.engine.optimizers.amp_optim_wrapper import cpu_supports_bf16  # noqa: E402

SEG = (512, 1024)
DET = (800, 1333)
#: name -> (config, inference shape)
MODELS = {
    'FCN R-50-D8': ('configs/fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py', SEG),
    'PSPNet R-50-D8': ('configs/pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py', SEG),
    'DeepLabV3 R-50-D8': ('configs/deeplabv3/deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py',
                          SEG),
    'DeepLabV3+ R-50-D8': (
        'configs/deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py', SEG),
    'OCRNet HRNet-W18': ('configs/ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py', SEG),
    'Faster R-CNN R-50-FPN': ('configs/faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py', DET),
    'Mask R-CNN R-50-FPN': ('configs/mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py', DET),
}
#: The training rows of the issue: PSPNet / DeepLabV3+ at 512x512 batch 2, Mask R-CNN 800x1333.
TRAIN = ('PSPNet R-50-D8', 'DeepLabV3+ R-50-D8', 'Mask R-CNN R-50-FPN')
#: variant -> tools/benchmark.py flags (inference)
VARIANTS = {
    'unfused': ['--no-fuse-conv-bn', '--no-channels-last'],
    'fused': [],
    'compile': ['--compile'],
    'amp': ['--amp'],
    'amp_compile': ['--amp', '--compile'],
}
AMP_VARIANTS = ('amp', 'amp_compile')


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--out-dir', required=True, help='one JSON per cell, and matrix.json')
    p.add_argument('--models', nargs='+', default=list(MODELS), choices=list(MODELS),
                   metavar='NAME', help=f'default: all of {list(MODELS)}')
    p.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument('--train', nargs='*', default=list(TRAIN), choices=list(MODELS),
                   metavar='NAME', help='models whose training step is timed (fp32, --amp)')
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--num-iters', type=int, default=5)
    p.add_argument('--train-iters', type=int, default=2)
    p.add_argument('--markdown', action='store_true', help='print the tables as markdown')
    p.add_argument('--quick', action='store_true',
                   help='tiny shapes, FCN and Faster R-CNN only, a small matmul (smoke test)')
    return p.parse_args(argv)


def run_cell(config: str, flags: list[str], out: Path) -> dict:
    """One ``tools/benchmark.py`` process; its JSON, or ``{'error': ...}`` when it failed.

    ``--compile`` cells get an empty inductor cache, so their compile time is a cold one."""
    cmd = [sys.executable, 'tools/benchmark.py', config, '--no-progress', '--out', str(out)]
    cmd += flags
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix='inductor_') as cache:
        env = dict(os.environ, TORCHINDUCTOR_CACHE_DIR=cache)
        proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    print(f'  {" ".join(cmd[2:])}  [{wall:.0f} s]', flush=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print('    failed: ' + ' | '.join(tail), flush=True)
        return dict(error=' | '.join(tail), command=' '.join(cmd[1:]))
    record = json.loads(out.read_text())
    record['command'] = ' '.join(cmd[1:])
    return record


def inference_flags(shape: tuple[int, int], args: argparse.Namespace) -> list[str]:
    return ['--task', 'inference', '--shape', str(shape[0]), str(shape[1]),
            '--num-warmup', '1', '--num-iters', str(args.num_iters),
            '--threads', str(args.threads)]


def train_flags(name: str, args: argparse.Namespace) -> list[str]:
    shape = DET if MODELS[name][1] == DET else (512, 512)
    if args.quick:
        shape = (128, 128)
    flags = ['--task', 'train', '--shape', str(shape[0]), str(shape[1]), '--batch-size', '2',
             '--num-warmup', '1', '--num-iters', str(args.train_iters),
             '--threads', str(args.threads)]
    if MODELS[name][1] != DET:  # the configs pad training inputs to their 512x1024 crop
        flags += ['--cfg-options', f'model.data_preprocessor.size=({shape[0]},{shape[1]})']
    return flags


def matmul_peaks(args: argparse.Namespace, bf16: bool) -> dict:
    sizes = (256, 512) if args.quick else (1024, 2048, 4096)
    torch.set_num_threads(args.threads)
    peaks = dict(fp32=measure_matmul_throughput(sizes=sizes, repeats=3)['peak_gflops_per_s'])
    if bf16:
        peaks['bf16'] = measure_matmul_throughput(sizes=sizes, repeats=3,
                                                  dtype=torch.bfloat16)['peak_gflops_per_s']
    return peaks


def fmt(value: Optional[float], spec: str) -> str:
    return '-' if value is None else format(value, spec)


def inference_table(cells: dict, peaks: dict, variants: Sequence[str]) -> str:
    """Markdown: one row per model; s/im of each variant, the speed-up of each over
    ``unfused``, GFLOP/s and % of the matmul peak of the same precision, peak RSS."""
    head = ['model', 'input'] + [f'{v} s/im' for v in variants]
    head += [f'unfused / {v}' for v in variants if v != 'unfused']
    compiled = [v for v in variants if 'compile' in v]
    head += [f'compile s ({" / ".join(compiled)})'] if compiled else []
    head += ['GFLOP/s (% of matmul peak)', 'peak RSS MiB']
    lines = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for name, row in cells.items():
        first = next((r for r in row.values() if 'error' not in r), {})
        shape = 'x'.join(map(str, first.get('input_shapes', [['?']])[0])) if first else '?'
        times = {v: row.get(v, {}).get('s_per_image') for v in variants}
        cols = [name, shape] + [fmt(times[v], '.3f') for v in variants]
        base = times.get('unfused')
        cols += [fmt(base / times[v] if base and times[v] else None, '.2f') + 'x'
                 for v in variants if v != 'unfused']
        if compiled:
            cols.append(' / '.join(fmt(row.get(v, {}).get('compile_s'), '.0f') for v in compiled))
        # The network's FLOPs (whole-mode segmentors) are counted in the runs without
        # --compile; the same work in each variant.
        gflops = next((r['gflops_per_image'] for r in row.values() if r.get('gflops_per_image')),
                      None)
        rates = []
        for v in variants:
            if gflops and times[v]:
                rate = gflops / times[v]
                peak = peaks['bf16' if v in AMP_VARIANTS else 'fp32']
                rates.append(f'{v} {rate:.0f} ({rate / peak:.0%})')
        cols.append(', '.join(rates) or '-')
        cols.append(' / '.join(fmt(row.get(v, {}).get('peak_memory_mb'), '.0f')
                               for v in variants))
        lines.append('| ' + ' | '.join(cols) + ' |')
    return '\n'.join(lines)


def train_table(cells: dict) -> str:
    lines = ['| model | input | fp32 s/iter | `--amp` s/iter | fp32 / `--amp` | '
             'peak RSS MiB fp32 / `--amp` |', '|---|---|---|---|---|---|']
    for name, row in cells.items():
        fp32, amp = row.get('fp32', {}), row.get('amp', {})
        shape = 'x'.join(map(str, (fp32.get('input_shapes') or [['?']])[0]))
        a, b = fp32.get('s_per_iter'), amp.get('s_per_iter')
        lines.append(f'| {name} | {shape} b2 | {fmt(a, ".2f")} | {fmt(b, ".2f")} | '
                     f'{fmt(a / b if a and b else None, ".2f")}x | '
                     f'{fmt(fp32.get("peak_memory_mb"), ".0f")} / '
                     f'{fmt(amp.get("peak_memory_mb"), ".0f")} |')
    return '\n'.join(lines)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    bf16 = cpu_supports_bf16()
    variants = [v for v in args.variants if bf16 or v not in AMP_VARIANTS]
    if len(variants) < len(args.variants):
        print('no native bf16 on this CPU: --amp runs fp32 here, its columns are left out')
    models = ['FCN R-50-D8', 'Faster R-CNN R-50-FPN'] if args.quick else args.models
    train = [m for m in args.train if m in models] if args.quick else args.train
    env = environment_info()
    print('environment: ' + ', '.join(f'{k}={v}' for k, v in env.items()), flush=True)
    peaks_before = matmul_peaks(args, bf16)
    cells: dict = {}
    for name in models:
        config, shape = MODELS[name]
        if args.quick:
            shape = (64, 128) if shape == SEG else (128, 192)
        cells[name] = {}
        for v in variants:
            stem = name.lower().replace(' ', '_').replace('+', 'plus').replace('-', '')
            cells[name][v] = run_cell(config, inference_flags(shape, args) + VARIANTS[v],
                                      out_dir / f'{stem}_infer_{v}.json')
    train_cells: dict = {}
    for name in train:
        stem = name.lower().replace(' ', '_').replace('+', 'plus').replace('-', '')
        train_cells[name] = {
            kind: run_cell(MODELS[name][0], train_flags(name, args) + extra,
                           out_dir / f'{stem}_train_{kind}.json')
            for kind, extra in (('fp32', []), ('amp', ['--amp'])) if bf16 or kind == 'fp32'}
    peaks_after = matmul_peaks(args, bf16)
    peaks = {k: max(peaks_before[k], peaks_after[k]) for k in peaks_before}
    summary = dict(environment=env, matmul_peak_gflops_per_s=peaks,
                   matmul_peaks_before_after=[peaks_before, peaks_after],
                   variants={v: VARIANTS[v] for v in variants}, inference=cells,
                   train=train_cells)
    (out_dir / 'matrix.json').write_text(json.dumps(summary, indent=1, default=str))
    print(f'matmul peak, GFLOP/s: ' + ', '.join(f'{k} {v:.0f}' for k, v in peaks.items()))
    if args.markdown:
        print(inference_table(cells, peaks, variants))
        if train_cells:
            print()
            print(train_table(train_cells))
    return summary


if __name__ == '__main__':
    main()
