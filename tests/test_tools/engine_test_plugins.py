"""Hooks that the engine tests load into tool runs through ``custom_imports``."""
import os
import time
from pathlib import Path

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from segdet.registry import HOOKS


@HOOKS.register_module()
class PauseOnceHook(Hook):
    """After iteration ``at_iter``, write ``marker`` (the pid) and sleep, once per marker.

    Gives a test a known moment to SIGKILL the run: the checkpoints before ``at_iter`` are on
    disk, the next one is not. A resumed run finds the marker and does not pause again.
    """

    def __init__(self, at_iter: int, marker: str, seconds: float = 300) -> None:
        self.at_iter, self.marker, self.seconds = at_iter, Path(marker), seconds

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        if runner.iter + 1 == self.at_iter and not self.marker.exists():
            self.marker.write_text(str(os.getpid()))
            time.sleep(self.seconds)


@HOOKS.register_module()
class DumpRankWeightsHook(Hook):
    """Save each rank's final weights to ``work_dir/rank<r>_weights.pth``."""

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()},
                   Path(runner.work_dir) / f'rank{get_rank()}_weights.pth')
