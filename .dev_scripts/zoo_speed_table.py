"""Whole-mode inference speed of the segmentation model zoo's Cityscapes configs (the 20
R-50 / HRNet-W18 ones, the light-weight and real-time ones, and the shapes demos), fp32 and
``--amp``, with GFLOPs, parameters and peak memory: the table of docs/benchmarks.md.

Each (config, precision) pair is one ``tools/benchmark.py --task inference`` run on random
weights and random 512x1024 inputs; all fp32 runs come first, then the ``--amp`` runs in
reverse order, so a drift of the machine spreads over the models. It then times the ops that
mmcv ships compiled and segdet writes in PyTorch (PSAMask, criss-cross attention) on the
shapes PSANet and CCNet give them, as a share of their model's time. Target: no model with a
pure-PyTorch op more than 1.5x slower than PSPNet R-50-D8.

Usage:
    python .dev_scripts/zoo_speed_table.py --out docs/benchmarks/zoo_speed.json
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import torch

REPO = Path(__file__).resolve().parents[1]
CONFIGS = [
    'fcn/fcn_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'pspnet/pspnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'deeplabv3/deeplabv3_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'deeplabv3plus/deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'ocrnet/ocrnet_hr18_4xb2-80k_cityscapes-512x1024.py',
    'upernet/upernet_r50_4xb2-80k_cityscapes-512x1024.py',
    'psanet/psanet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'nonlocal_net/nonlocal_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'encnet/encnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'ccnet/ccnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'danet/danet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'apcnet/apcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'gcnet/gcnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'dmnet/dmnet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'ann/ann_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'emanet/emanet_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'dnlnet/dnl_r50-d8_4xb2-80k_cityscapes-512x1024.py',
    'sem_fpn/fpn_r50_4xb2-80k_cityscapes-512x1024.py',
    'point_rend/pointrend_r50_4xb2-80k_cityscapes-512x1024.py',
    'hrnet/fcn_hr18_4xb2-80k_cityscapes-512x1024.py',
]
#: the light-weight and real-time models (zoo part 2), timed in the same run, same size.
LIGHT_CONFIGS = [
    'resnest/resnest_s101-d8_fcn_4xb2-80k_cityscapes-512x1024.py',
    'resnest/resnest_s101-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py',
    'mobilenet_v2/mobilenet-v2-d8_pspnet_4xb2-80k_cityscapes-512x1024.py',
    'mobilenet_v2/mobilenet-v2-d8_deeplabv3plus_4xb2-80k_cityscapes-512x1024.py',
    'mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py',
    'fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py',
    'cgnet/cgnet_fcn_4xb8-60k_cityscapes-512x1024.py',
    'bisenetv2/bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024.py',
]
SLOW_OPS = ('psanet', 'ccnet')
BASELINE = 'pspnet'
LIMIT = 1.5


def cpu_flags() -> str:
    """The CPU model and the flags that decide fp32 / bf16 speed."""
    from segdet.engine.benchmark import cpu_model_name
    from segdet.engine.optimizers import cpu_flags as instruction_flags

    flags = instruction_flags() or frozenset()
    wanted = ('avx2', 'avx512f', 'avx512_bf16', 'amx_bf16', 'amx_tile')
    return f'{cpu_model_name()} [{", ".join(f for f in wanted if f in flags) or "no AVX2"}]'


def num_params(config: str) -> int:
    """Parameters of the config's model (built on the meta device)."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from segdet.registry import MODELS
    from segdet.utils import revert_sync_bn_cfg

    init_default_scope('segdet')
    cfg = Config.fromfile(str(REPO / 'configs' / config))
    with torch.device('meta'):
        model = MODELS.build(revert_sync_bn_cfg(cfg.model))
    return sum(p.numel() for p in model.parameters())


def best_time(fn, repeats: int = 3) -> float:
    """Fastest of ``repeats`` timed calls of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def pure_pytorch_op_times(shape: list[int], threads: int) -> dict:
    """Seconds per image of the ops mmcv ships compiled and segdet writes in PyTorch, on the
    shapes the Cityscapes R-50-D8 configs give them at input ``shape`` (stride-8 features):
    PSANet's two PSAMask calls (97x97 masks on the map shrunk by 2) and CCNet's two
    criss-cross attention passes (512 channels, with their 1x1 query/key/value convs)."""
    from segdet.ops import CrissCrossAttention, psa_mask_matrix

    torch.set_num_threads(threads)
    h, w = (shape[0] + 7) // 8, (shape[1] + 7) // 8
    sh, sw = (h - 1) // 2 + 1, (w - 1) // 2 + 1
    masks = torch.randn(1, 97 * 97, sh, sw).contiguous(memory_format=torch.channels_last)
    cca = CrissCrossAttention(512).eval()
    feats = torch.randn(1, 512, h, w)
    with torch.no_grad():
        psa = best_time(lambda: [psa_mask_matrix(masks, 97) for _ in range(2)])
        cc = best_time(lambda: cca(cca(feats)))
    return {'psanet': {'op': 'PSAMask x2 (collect + distribute)', 's_per_image': psa},
            'ccnet': {'op': 'CrissCrossAttention x2 (recurrence 2)', 's_per_image': cc}}


def run_one(config: str, amp: bool, args: argparse.Namespace, out: Path) -> dict:
    """One ``tools/benchmark.py`` inference run; its JSON report."""
    command = [sys.executable, str(REPO / 'tools' / 'benchmark.py'), str(REPO / 'configs' / config),
               '--task', 'inference', '--shape', *map(str, args.shape), '--num-warmup',
               str(args.warmup), '--num-iters', str(args.iters), '--threads', str(args.threads),
               '--no-progress', '--out', str(out)] + (['--amp'] if amp else [])
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f'{" ".join(command)} failed:\n{done.stderr[-3000:]}')
    return json.loads(out.read_text())


def main(argv: Optional[list[str]] = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 1024], metavar=('H', 'W'),
                        help='input size of every model (default: 512 1024)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--iters', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--configs', nargs='+', help='configs relative to configs/ (default: '
                        'the part-1 list, plus the light-weight ones that exist)')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    if args.configs is None:
        # the segmentation demos too: their inference speed at the zoo's size
        demos = sorted(str(p.relative_to(REPO / 'configs'))
                       for p in (REPO / 'configs' / 'demo').glob('*_shapes-128x128.py'))
        args.configs = CONFIGS + [c for c in LIGHT_CONFIGS
                                  if (REPO / 'configs' / c).is_file()] + demos
    results: dict = {'cpu': cpu_flags(), 'torch': torch.__version__, 'shape': args.shape,
                     'models': {}}
    with tempfile.TemporaryDirectory() as tmp:
        for amp in (False, True):
            order = args.configs if not amp else list(reversed(args.configs))
            for config in order:
                report = run_one(config, amp, args, Path(tmp) / 'report.json')
                entry = results['models'].setdefault(config, {'params': num_params(config)})
                entry['amp' if amp else 'fp32'] = report
                print(f'{config} {"amp" if amp else "fp32"}: '
                      f'{json.dumps({k: v for k, v in report.items() if "s_per" in k})}',
                      flush=True)
    ops = pure_pytorch_op_times(args.shape, args.threads)
    for name, entry in ops.items():
        model = next((v for k, v in results['models'].items()
                      if Path(k).name.startswith(name + '_') and 'fp32' in v), None)
        if model is not None:
            entry['share_of_model'] = entry['s_per_image'] / model['fp32']['s_per_image']
        print(f"{name}: {entry['op']} {entry['s_per_image']:.3f} s/im, "
              f"{100 * entry.get('share_of_model', float('nan')):.1f} % of the model", flush=True)
    results['pure_pytorch_ops'] = ops
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    print(markdown_table(results))
    return results


def amp_precision(report: dict) -> str:
    """What an ``--amp`` run computed in: the autocast dtype, or fp32 where it fell back."""
    if not report:
        return '-'
    if not report.get('autocast'):
        return 'fp32 (no native bf16)'
    layout = ', channels_last' if report.get('channels_last') else ''
    return f"{report.get('amp_dtype') or 'bfloat16'} autocast{layout}"


def markdown_table(results: dict) -> str:
    """The docs/benchmarks.md table of a results dict, with each model's s/im over PSPNet's and
    its fp32 over ``--amp`` speed-up."""
    models = results['models']
    base = next((v for k, v in models.items() if Path(k).name.startswith(BASELINE + '_')), None)
    lines = ['| config | params (M) | GFLOPs/im | fp32 s/im | x PSPNet | `--amp` s/im | '
             'fp32 / `--amp` | `--amp` ran as | peak RSS MiB (fp32) |',
             '|---|---|---|---|---|---|---|---|---|']
    for config, entry in models.items():
        fp32, amp = entry.get('fp32', {}), entry.get('amp', {})
        ratio = (f"{fp32['s_per_image'] / base['fp32']['s_per_image']:.2f}x"
                 if base and 'fp32' in base and fp32 else '-')
        speedup = (f"{fp32['s_per_image'] / amp['s_per_image']:.2f}x"
                   if fp32 and amp else '-')
        lines.append(
            f"| {Path(config).stem} | {entry['params'] / 1e6:.1f} | "
            f"{fp32.get('gflops_per_image', float('nan')):.1f} | "
            f"{fp32.get('s_per_image', float('nan')):.2f} | {ratio} | "
            f"{amp.get('s_per_image', float('nan')):.2f} | {speedup} | {amp_precision(amp)} | "
            f"{fp32.get('peak_memory_mb', float('nan')):.0f} |")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
