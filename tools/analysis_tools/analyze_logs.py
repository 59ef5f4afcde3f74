"""Plot logged values and summarise training time from mmengine JSON logs.

    python tools/analysis_tools/analyze_logs.py plot_curve LOG.json [LOG.json ...] \
        --keys loss mIoU [--legend a b] [--title T] --out curve.png
    python tools/analysis_tools/analyze_logs.py cal_train_time LOG.json [LOG.json ...]

A log is the ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (or ``<timestamp>.json``) that a
run writes: one JSON object per line, training lines with ``iter``/``step`` and validation lines
with the metrics and ``step``.
"""
import argparse
import json
import os
import statistics
import sys
from typing import Optional

sys.path.insert(0, os.getcwd())


def load_json_log(path: str) -> list[dict]:
    """The records of a JSON-lines log, in order.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a line is not a JSON object (names the file and the line number).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f'log file not found: {path}')
    records = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}, line {number}: not JSON ({err.msg}); expected the '
                                 'JSON-lines log of a run (vis_data/scalars.json)') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}, line {number}: expected a JSON object, got '
                                 f'{type(record).__name__}')
            records.append(record)
    if not records:
        raise ValueError(f'{path} holds no records')
    return records


def series(records: list[dict], key: str) -> tuple[list[float], list[float]]:
    """(steps, values) of ``key`` over the records that have it."""
    pairs = [(r.get('step', r.get('iter')), r[key]) for r in records if key in r]
    return [p[0] for p in pairs], [float(p[1]) for p in pairs]


def plot_curve(logs: list[str], keys: list[str], out: str, legend: Optional[list[str]] = None,
               title: Optional[str] = None) -> str:
    """One subplot per key, one line per log; writes ``out`` (PNG) and returns it."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    all_records = [load_json_log(p) for p in logs]
    names = legend or [os.path.basename(os.path.dirname(os.path.dirname(p))) or p for p in logs]
    if len(names) != len(logs):
        raise ValueError(f'--legend has {len(names)} names for {len(logs)} logs')
    fig, axes = plt.subplots(len(keys), 1, figsize=(7, 3 * len(keys)), squeeze=False)
    for ax, key in zip(axes[:, 0], keys):
        plotted = False
        for name, records in zip(names, all_records):
            steps, values = series(records, key)
            if steps:
                ax.plot(steps, values, marker='o' if len(steps) < 20 else None, label=name)
                plotted = True
        if not plotted:
            available = sorted({k for r in all_records[0] for k in r})
            raise KeyError(f'no log has the key {key!r}; keys of {logs[0]}: {available}')
        ax.set_xlabel('iteration')
        ax.set_ylabel(key)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def cal_train_time(path: str) -> dict:
    """Seconds per iteration from a log's ``time`` values (each the mean of one log interval),
    leaving out the first interval (warm-up)."""
    times = [float(r['time']) for r in load_json_log(path) if 'time' in r and 'loss' in r]
    if len(times) < 2:
        raise ValueError(f'{path}: needs at least 2 logged training intervals, has {len(times)}')
    steady = times[1:]
    return dict(log=path, mean=statistics.fmean(steady), slowest=max(steady),
                fastest=min(steady), std=statistics.pstdev(steady), intervals=len(steady))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description='Analyse JSON training logs')
    sub = parser.add_subparsers(dest='command', required=True)
    plot = sub.add_parser('plot_curve', help='plot logged keys against the iteration')
    plot.add_argument('logs', nargs='+')
    plot.add_argument('--keys', nargs='+', default=['loss'])
    plot.add_argument('--legend', nargs='+')
    plot.add_argument('--title')
    plot.add_argument('--out', default='curve.png')
    timing = sub.add_parser('cal_train_time', help='mean/slowest/fastest s per iteration')
    timing.add_argument('logs', nargs='+')
    args = parser.parse_args(argv)
    if args.command == 'plot_curve':
        print(f'wrote {plot_curve(args.logs, args.keys, args.out, args.legend, args.title)}')
        return
    for path in args.logs:
        t = cal_train_time(path)
        print(f'{path}\n  s/iter: mean {t["mean"]:.4f}, slowest {t["slowest"]:.4f}, '
              f'fastest {t["fastest"]:.4f}, std {t["std"]:.4f} over {t["intervals"]} logged '
              'intervals (the first one left out as warm-up)')


if __name__ == '__main__':
    main()
