"""Time depthwise 3x3 convolutions fp32 against bf16 autocast, NHWC and NCHW, forward and
forward + backward, on the CPU (the measurement behind ``Fp32DepthwiseHook``).

The input is bf16, as inside a model under bf16 autocast; "bf16" convolves it under autocast,
"fp32" casts it up first and convolves in fp32, as ``Fp32DepthwiseHook`` does (the casts are
timed with the convolution).

Example:
    python .dev_scripts/depthwise_bf16_bench.py --threads 2 --out docs/benchmarks/depthwise.json
"""
import argparse
import json
import time
from typing import Callable

import torch

from segdet.engine.benchmark.report import cpu_model_name
from segdet.engine.optimizers.amp_optim_wrapper import cpu_flags

#: (batch, channels, size, stride, dilation): Fast-SCNN's, MobileNet's and DeepLabV3+'s shapes.
CASES = [(8, 32, 64, 2, 1), (8, 384, 32, 2, 1), (8, 384, 32, 1, 1), (8, 384, 16, 1, 1),
         (8, 128, 32, 1, 1), (8, 256, 32, 1, 2), (2, 256, 64, 1, 12), (1, 256, 128, 2, 1)]
FORMATS = {'NHWC': torch.channels_last, 'NCHW': torch.contiguous_format}


def mean_ms(fn: Callable[[], None], warmup: int, iters: int) -> float:
    """Mean wall time of ``fn`` in milliseconds after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn()
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - start) / iters * 1e3


def time_case(batch: int, channels: int, size: int, stride: int, dilation: int,
              memory_format: torch.memory_format, bf16: bool, warmup: int,
              iters: int) -> tuple[float, float]:
    """(forward ms, forward + backward ms) of one depthwise 3x3 convolution of a bf16 input,
    under bf16 autocast (``bf16``) or cast to fp32 first."""
    conv = torch.nn.Conv2d(channels, channels, 3, stride, dilation, dilation=dilation,
                           groups=channels).to(memory_format=memory_format)
    x = torch.randn(batch, channels, size, size, dtype=torch.bfloat16)
    x = x.to(memory_format=memory_format).requires_grad_()

    def run() -> torch.Tensor:
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            return conv(x if bf16 else x.float())

    def forward() -> None:
        with torch.no_grad():
            run()

    def forward_backward() -> None:
        conv.zero_grad(set_to_none=True)
        x.grad = None
        run().float().sum().backward()

    return mean_ms(forward, warmup, iters), mean_ms(forward_backward, warmup, iters)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--out', help='write the rows and the CPU as JSON')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    print('| N, C, H=W, stride, dilation | layout | fp32 fwd ms | bf16 fwd ms | fp32 fwd+bwd ms '
          '| bf16 fwd+bwd ms | bf16 / fp32 (fwd+bwd) |')
    print('|---|---|---|---|---|---|---|')
    for case in CASES:
        for layout, memory_format in FORMATS.items():
            fp32 = time_case(*case, memory_format, False, args.warmup, args.iters)
            bf16 = time_case(*case, memory_format, True, args.warmup, args.iters)
            rows.append(dict(case=list(case), layout=layout, fp32_fwd_ms=fp32[0],
                             bf16_fwd_ms=bf16[0], fp32_fwd_bwd_ms=fp32[1],
                             bf16_fwd_bwd_ms=bf16[1]))
            print(f'| {", ".join(map(str, case))} | {layout} | {fp32[0]:.2f} | {bf16[0]:.2f} | '
                  f'{fp32[1]:.2f} | {bf16[1]:.2f} | {bf16[1] / fp32[1]:.2f} |', flush=True)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(cpu=cpu_model_name(), flags=sorted(cpu_flags() or []),
                           threads=args.threads, torch=torch.__version__, rows=rows), f,
                      indent=1)
    return rows


if __name__ == '__main__':
    main()
