"""Stop training at the first NaN or infinite loss, naming the iteration and the loss term."""
import math
from typing import Optional

import torch
from mmengine.hooks import Hook

from segdet.registry import HOOKS


class NonFiniteLossError(FloatingPointError):
    """A loss term became NaN or infinite during training."""


def non_finite_terms(log_vars: dict) -> dict[str, float]:
    """The loss entries of ``log_vars`` (names containing 'loss') that are NaN or infinite.

    Args:
        log_vars: ``train_step`` outputs: name -> scalar tensor or float.

    Returns:
        name -> value for every non-finite loss entry, in ``log_vars`` order.
    """
    bad = {}
    for name, value in log_vars.items():
        if 'loss' not in name:
            continue
        value = float(value.detach().float().mean()) if torch.is_tensor(value) else float(value)
        if not math.isfinite(value):
            bad[name] = value
    return bad


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    """Raise :class:`NonFiniteLossError` when a loss term is NaN or infinite.

    It runs before the checkpoint hook of the same iteration, so the weights that the bad
    step produced are never saved: the last checkpoint on disk stays the last good one.

    Args:
        interval: Check every ``interval`` iterations (1: every iteration; the check costs a
            device sync per loss term).
    """

    priority = 'VERY_HIGH'

    def __init__(self, interval: int = 1) -> None:
        if interval < 1:
            raise ValueError(f'CheckInvalidLossHook: interval must be >= 1, got {interval}')
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        if not outputs or not self.every_n_train_iters(runner, self.interval):
            return
        bad = non_finite_terms(outputs)
        if not bad:
            return
        terms = ', '.join(f'{name}={value}' for name, value in bad.items())
        last = runner.message_hub.get_info('last_ckpt')
        kept = (f'the last checkpoint, {last}, was written before this iteration and is '
                f'intact' if last else 'no checkpoint had been written yet')
        raise NonFiniteLossError(
            f'non-finite loss at iteration {runner.iter + 1}: {terms}. Training stopped; {kept}. '
            'Lower the learning rate, add gradient clipping (optim_wrapper.clip_grad) or check '
            'the data of this batch.')
