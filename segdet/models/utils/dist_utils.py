"""Collective helpers that are no-ops in a single process."""
import torch.distributed as dist
from torch import Tensor


def reduce_mean(tensor: Tensor) -> Tensor:
    """The mean of ``tensor`` over all processes of the default group.

    Args:
        tensor: Any tensor, of the same shape on every process.

    Returns:
        A new tensor holding the mean when ``torch.distributed`` is initialised; ``tensor``
        itself otherwise.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return tensor
    out = tensor.clone().div_(dist.get_world_size())
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out
