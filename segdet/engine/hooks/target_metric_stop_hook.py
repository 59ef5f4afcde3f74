"""Stop training as soon as every named validation metric reaches its target."""
import os.path as osp
from typing import Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from segdet.engine.atomic_io import atomic_write_text
from segdet.registry import HOOKS


def targets_reached(metrics: dict, targets: dict[str, float],
                    rule: str = 'greater') -> tuple[bool, list[str]]:
    """Whether every target is met, and the names of the targets that are missing from metrics.

    Args:
        metrics: Validation results, name -> value.
        targets: name -> target value.
        rule: 'greater' (value >= target) or 'less' (value <= target).
    """
    missing = [name for name in targets if name not in metrics]
    if missing:
        return False, missing
    if rule == 'greater':
        return all(float(metrics[k]) >= v for k, v in targets.items()), []
    return all(float(metrics[k]) <= v for k, v in targets.items()), []


@HOOKS.register_module()
class TargetMetricStopHook(Hook):
    """End training once every metric in ``targets`` has reached its target value.

    Like NVIDIA's Mask R-CNN ``MIN_BBOX_MAP``/``MIN_MASK_MAP``: after each validation, if all
    targets are met, the hook saves a checkpoint of that state (``target_reached_<iter|epoch>_N
    .pth``, pointed to by ``last_checkpoint``), logs the metrics and stops the training loop.

    Args:
        targets: metric name -> target, with the names the evaluator reports (e.g.
            ``{'mIoU': 85.0}`` or ``{'coco/bbox_mAP': 0.377, 'coco/segm_mAP': 0.342}``).
        rule: 'greater' (higher is better) or 'less'.
        save_checkpoint: Save the state that met the targets.
    """

    priority = 'LOW'

    def __init__(self, targets: dict[str, float], rule: str = 'greater',
                 save_checkpoint: bool = True) -> None:
        if not targets:
            raise ValueError('TargetMetricStopHook: targets must name at least one metric')
        if rule not in ('greater', 'less'):
            raise ValueError(f"TargetMetricStopHook: rule must be 'greater' or 'less', got {rule!r}")
        self.targets = {str(k): float(v) for k, v in targets.items()}
        self.rule = rule
        self.save_checkpoint = save_checkpoint
        self.reached_at: Optional[int] = None
        self._warned_missing = False

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        # Only during training: a standalone runner.val() has no built train loop (the property
        # would try to build one).
        loop = getattr(runner, '_train_loop', None)
        if not metrics or loop is None or isinstance(loop, dict) or self.reached_at is not None:
            return
        reached, missing = targets_reached(metrics, self.targets, self.rule)
        if missing and not self._warned_missing:
            self._warned_missing = True
            runner.logger.warning(
                f'TargetMetricStopHook: metric(s) {missing} are not among the validation '
                f'results {sorted(metrics)}; training will not stop early.')
        if not reached:
            return
        by_epoch = type(loop).__name__.startswith('Epoch')
        unit, step = ('epoch', runner.epoch) if by_epoch else ('iter', runner.iter)
        self.reached_at = step
        values = ', '.join(f'{k}={float(metrics[k]):.4f} (target {v})'
                           for k, v in self.targets.items())
        if self.save_checkpoint:
            filename = f'target_reached_{unit}_{step}.pth'
            # Validation runs after the loop counted the finished iteration/epoch, so the
            # runner's counters are already the completed ones (save_checkpoint would add 1).
            runner.save_checkpoint(runner.work_dir, filename, by_epoch=by_epoch,
                                   meta=dict(epoch=runner.epoch, iter=runner.iter))
            path = osp.join(runner.work_dir, filename)
            if is_main_process():
                atomic_write_text(path, osp.join(runner.work_dir, 'last_checkpoint'))
            values += f'; checkpoint {path}'
        runner.logger.info(f'TargetMetricStopHook: all targets reached at {unit} {step}: '
                           f'{values}. Stopping training.')
        loop.stop_training = True
