"""Count, in the training log, the samples a data set skipped (``skip_bad_samples=True``)."""
from typing import Optional

from mmengine.hooks import Hook

from segdet.registry import HOOKS


def skipped_in_batch(data_batch: Optional[dict]) -> list[str]:
    """The skip messages carried by the data samples of a collated training batch."""
    if not isinstance(data_batch, dict):
        return []
    found: list[str] = []
    for sample in data_batch.get('data_samples') or []:
        meta = getattr(sample, 'metainfo', None) or {}
        found += list(meta.get('skipped_bad_samples', []))
    return found


@HOOKS.register_module()
class SkippedSamplesHook(Hook):
    """Log every skipped sample with a running count; the total goes to the message hub.

    Data loader workers cannot report to the main process directly, so a data set that skips
    an unreadable file tags the sample that replaces it; this hook reads the tags. The count is
    kept in the message hub's runtime info as ``skipped_samples`` (saved with checkpoints).
    """

    priority = 'LOW'

    def __init__(self) -> None:
        self.total = 0

    def before_train(self, runner) -> None:
        self.total = int(runner.message_hub.get_info('skipped_samples', 0) or 0)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        skipped = skipped_in_batch(data_batch)
        if not skipped:
            return
        for message in skipped:
            self.total += 1
            runner.logger.warning(f'iteration {runner.iter + 1}: skipped a bad sample '
                                  f'({self.total} skipped so far): {message}')
        runner.message_hub.update_info('skipped_samples', self.total)

    def after_train(self, runner) -> None:
        if self.total:
            runner.logger.warning(f'{self.total} bad sample(s) were skipped during training')
