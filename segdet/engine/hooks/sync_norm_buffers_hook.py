"""Average normalisation buffers (BN running statistics) across ranks during training."""
import torch
import torch.distributed as dist
from mmengine.dist import is_distributed
from mmengine.hooks import Hook

from segdet.registry import HOOKS


def all_reduce_float_buffers(module: torch.nn.Module) -> int:
    """Replace every floating-point buffer of ``module`` by its mean over all ranks.

    Integer buffers (BN's ``num_batches_tracked``) are equal on all ranks already and are left
    alone. Returns the number of buffers averaged (0 when not distributed).
    """
    if not is_distributed():
        return 0
    buffers = [b for b in module.buffers() if b.is_floating_point()]
    if not buffers:
        return 0
    flat = torch.cat([b.detach().reshape(-1) for b in buffers])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for b in buffers:
        b.copy_(flat[offset:offset + b.numel()].view_as(b))
        offset += b.numel()
    return len(buffers)


@HOOKS.register_module()
class SyncNormBuffersHook(Hook):
    """All-reduce (mean) BN running statistics every ``interval`` iterations and before
    validation, so that every rank, and every checkpoint, holds the same model.

    Without SyncBN each rank's BatchNorm tracks statistics of its own batches, and mmengine's
    DDP wrapper does not broadcast buffers, so ranks drift apart. segdet adds this hook to
    distributed CPU runs, where PyTorch's SyncBatchNorm is unavailable; on GPUs, prefer SyncBN.
    Averaged every iteration, ``running_mean`` is exactly what one process would track on the
    union of the ranks' batches; ``running_var`` misses the spread between the ranks' batch
    means.

    Args:
        interval: Average every ``interval`` training iterations.
    """

    priority = 'ABOVE_NORMAL'  # before the checkpoint hook of the same iteration

    def __init__(self, interval: int = 1) -> None:
        self.interval = interval

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval) or self.is_last_train_iter(runner):
            all_reduce_float_buffers(runner.model)

    def before_val_epoch(self, runner) -> None:
        all_reduce_float_buffers(runner.model)
