"""A tiny mmengine Runner set-up (a linear regressor, a toy metric) for hook tests."""
import itertools
from pathlib import Path
from typing import Any, Optional, Sequence

import torch
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from segdet.engine import register_all_modules

_RUN_IDS = itertools.count()
from segdet.registry import METRICS, MODELS


@MODELS.register_module(force=True)
class ToyRegressor(BaseModel):
    """y = w x + b; ``nan_at`` makes the loss NaN from that (1-based) training call on."""

    def __init__(self, nan_at: Optional[int] = None) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.nan_at = nan_at
        self.calls = 0

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.linear(torch.stack(inputs) if isinstance(inputs, list) else inputs)
        if mode == 'loss':
            self.calls += 1
            loss = ((out.squeeze(1) - torch.stack(targets)) ** 2).mean()
            if self.nan_at is not None and self.calls >= self.nan_at:
                loss = loss * float('nan')
            return dict(loss_mse=loss, acc_dummy=torch.tensor(1.0))
        if mode == 'predict':
            return [dict(pred=p, target=t) for p, t in zip(out.squeeze(1), targets)]
        return out


@METRICS.register_module(force=True)
class ToyScore(BaseMetric):
    """'score' = 100 - mean squared error (higher is better), like a percent metric."""

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            self.results.append(float((s['pred'] - s['target']) ** 2))

    def compute_metrics(self, results: list) -> dict:
        return dict(score=100.0 - sum(results) / len(results))


class ToyData(Dataset):
    def __init__(self, n: int = 16) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 2, generator=g)
        self.y = self.x @ torch.tensor([2.0, -1.0]) + 0.5

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=self.x[i], targets=self.y[i])


def toy_runner(work_dir: Path, max_iters: int = 6, checkpoint: Optional[dict] = None,
               custom_hooks: Optional[list] = None, val_interval: Optional[int] = None,
               lr: float = 0.05, nan_at: Optional[int] = None, **kwargs: Any) -> Runner:
    """A Runner in segdet's scope over :class:`ToyRegressor`, iteration-based."""
    loader = dict(dataset=ToyData(), sampler=dict(type='DefaultSampler', shuffle=False),
                  batch_size=4, num_workers=0)
    val = val_interval is not None
    register_all_modules(init_default_scope=False)  # safe loader, atomic checkpoint writes
    return Runner(
        model=dict(type='ToyRegressor', nan_at=nan_at),
        work_dir=str(work_dir),
        # Unique per Runner: mmengine keys its logger and message hub by this name.
        experiment_name=f'toy_{work_dir.name}_{next(_RUN_IDS)}',
        train_dataloader=dict(loader, sampler=dict(type='InfiniteSampler', shuffle=False)),
        val_dataloader=loader if val else None,
        val_evaluator=dict(type='ToyScore') if val else None,
        val_cfg=dict(type='ValLoop') if val else None,
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters,
                       val_interval=val_interval or max_iters),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=lr)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                           **(checkpoint or dict(interval=2))),
                           logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=custom_hooks,
        log_processor=dict(by_epoch=False),
        default_scope='segdet',
        **kwargs)
