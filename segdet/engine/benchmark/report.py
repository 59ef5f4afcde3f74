"""Benchmark results for people and files: ASCII tables, JSON and the environment they ran in."""
import json
import os
import platform
from typing import Any, Callable, Optional, Sequence, Union

import torch

# Column spec of format_table: (header, row key, format spec or callable on the value).
Column = tuple[str, str, Union[str, Callable[[Any], str]]]


def _format_cell(value: Any, fmt: Union[str, Callable[[Any], str]]) -> str:
    if value is None:
        return '-'
    if callable(fmt):
        return fmt(value)
    return format(value, fmt)


def table_rows(rows: Sequence[dict], columns: Sequence[Column]) -> list[list[str]]:
    """Header plus one list of formatted cells per row (missing or None values give '-').

    Args:
        rows: Result dicts.
        columns: (header, key, format) triples; format is a ``format()`` spec such as
            ``'.2f'`` or a callable from the value to its text.

    Returns:
        ``[[header, ...], [cell, ...], ...]``.
    """
    data = [[header for header, _, _ in columns]]
    for row in rows:
        data.append([_format_cell(row.get(key), fmt) for _, key, fmt in columns])
    return data


def format_table(rows: Sequence[dict], columns: Sequence[Column],
                 title: Optional[str] = None) -> str:
    """A terminaltables ``AsciiTable`` of ``rows`` (see :func:`table_rows`)."""
    from terminaltables import AsciiTable

    return AsciiTable(table_rows(rows, columns), title=title).table


def cpu_model_name() -> str:
    """The CPU model from /proc/cpuinfo (Linux), else ``platform.processor()``."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def environment_info() -> dict:
    """Versions and CPU facts that a benchmark figure depends on."""
    info = dict(
        torch=torch.__version__,
        python=platform.python_version(),
        cpu_model=cpu_model_name(),
        logical_cpus=os.cpu_count(),
        torch_threads=torch.get_num_threads(),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        mkldnn_enabled=bool(torch.backends.mkldnn.is_available()
                            and torch.backends.mkldnn.enabled),
        cuda_available=torch.cuda.is_available(),
    )
    try:
        import torchvision
        info['torchvision'] = torchvision.__version__
    except ImportError:
        pass
    return info


def format_shapes(shapes: Sequence[Sequence[int]]) -> str:
    """``[[512, 1024], [64, 64]]`` -> ``'512x1024 64x64'``."""
    return ' '.join('x'.join(str(s) for s in shape) for shape in shapes)


def add_flop_rates(record: dict) -> None:
    """Add ``gflops_per_image`` and ``achieved_gflops_per_s`` where ``flops_per_image`` is
    known (in place)."""
    if record.get('flops_per_image'):
        record['gflops_per_image'] = record['flops_per_image'] / 1e9
        record['achieved_gflops_per_s'] = record['gflops_per_image'] / record['s_per_image']


def model_task_columns(task: str, repeat_times: int, compiled: bool = False) -> list[Column]:
    """The table of ``tools/benchmark.py --task train|inference``.

    Its ``value`` and ``std`` cells are s/iter (train) or s/im (inference) and their
    standard deviation over the repeats (see :func:`headline`); with ``compiled``, a
    ``compile s`` column (the first warm-up iteration less a timed one).
    """
    unit = 's/iter' if task == 'train' else 's/im'
    columns: list[Column] = [('task', 'task', str), (unit, 'value', '.4f')]
    if repeat_times > 1:
        columns.append(('std', 'std', '.4f'))
    if compiled:
        columns.append(('compile s', 'compile_s', '.1f'))
    if task == 'inference':
        columns += [('network', 'network_s_per_image', '.4f'),
                    ('+ post', 'postprocess_s_per_image', '.4f'),
                    ('= sum', 'network_plus_postprocess_s_per_image', '.4f')]
    return columns + [
        ('data s', 'data_time', '.4f'), ('input', 'input_shapes', format_shapes),
        ('batch', 'batch_size', 'd'), ('autocast', 'autocast', str),
        ('channels_last', 'channels_last', str), ('peak MiB', 'peak_memory_mb', '.0f'),
        ('GFLOPs/im', 'gflops_per_image', '.1f'), ('GFLOP/s', 'achieved_gflops_per_s', '.1f')]


def headline(record: dict) -> dict:
    """The table-only cells ``value`` and ``std`` of :func:`model_task_columns`."""
    if record['task'] == 'train':
        return dict(value=record['s_per_iter'], std=record['s_per_iter_std'])
    return dict(value=record['s_per_image'], std=record['s_per_image_std'])


DATA_TASK_COLUMNS: list[Column] = [
    ('task', 'task', str), ('img/s', 'img_per_s', '.1f'), ('s/batch', 's_per_batch', '.4f'),
    ('batch', 'batch_size', 'd'), ('workers', 'num_workers', 'd')]


def print_report(record: dict, columns: Sequence[Column], title: str,
                 out: Optional[str] = None, table_only: Optional[dict] = None) -> None:
    """Print ``record`` (plus ``table_only`` cells) as a one-row table; write ``record`` as
    JSON to ``out`` when given."""
    print(format_table([dict(record, **(table_only or {}))], columns, title=title))
    if out:
        with open(out, 'w') as f:
            json.dump(record, f, indent=2)
