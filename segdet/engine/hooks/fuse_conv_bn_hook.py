"""Fold eval-mode BatchNorm into the preceding convolution before testing (inference only).

An eval-mode BatchNorm is a per-channel affine map, ``y = (x - mean) / sqrt(var + eps) * w + b``,
so it can be folded into the convolution before it (``mmcv.cnn.fuse_conv_bn``): one pass over
the feature map less per layer, the same predictions up to float rounding (~1e-6). Training
needs the BatchNorm layers (batch statistics, learnable affine), so the fold is only ever done
on a model that is about to predict: ``tools/test.py`` (this hook, on ``before_test`` only,
never ``before_val``) and ``segdet.apis.init_model``.

Which conv feeds which BatchNorm is traced on a probe forward pass, and the folded model is
checked against the unfused one on it (:mod:`segdet.engine.fold_batchnorm`). ``SyncBatchNorm``
layers (kept only in distributed GPU runs; every other run reverts them to BatchNorm, see
:func:`segdet.utils.revert_sync_bn_cfg`) and GroupNorm are left as they are.
"""
from typing import Any, Callable, Optional

import torch
from mmengine.hooks import Hook

from segdet.engine.checkpoint_fit import unwrap_model
from segdet.registry import HOOKS


def fold_eval_batchnorm(model: torch.nn.Module,
                        run: Optional[Callable[[], Any]] = None) -> int:
    """Put ``model`` in eval mode and fold every BatchNorm that a conv feeds into that conv, in
    place (:func:`segdet.engine.fold_batchnorm.fold_traced_batchnorm`). Do not train the result.

    Args:
        model: The unwrapped model (not a DDP or TTA wrapper).
        run: One forward pass of ``model`` on a probe input, returning its outputs; default:
            its tensor-mode forward on a random 128x128 image
            (:func:`segdet.engine.fold_batchnorm.probe_forward`; segmentors and detectors).

    Returns:
        The number of BatchNorm layers folded (0 for a GroupNorm-only model).
    """
    from segdet.engine.fold_batchnorm import fold_traced_batchnorm, probe_forward

    return fold_traced_batchnorm(model, run if run is not None else probe_forward(model))


@HOOKS.register_module()
class FuseConvBNHook(Hook):
    """Fold the model's BatchNorm layers into its convs before the test loop, and log how many.

    ``tools/test.py`` adds it unless ``--no-fuse-conv-bn``. It acts on ``before_test`` only: the
    validation during training keeps the BatchNorm layers. The count is also kept in
    ``runner.message_hub``'s info as ``fused_batchnorms``.
    """

    # Before MemoryFormatHook (VERY_HIGH): the folded weights are then converted with the rest.
    priority = 'HIGHEST'

    def before_test(self, runner) -> None:
        model = unwrap_model(runner.model)  # DDP and tools/test.py --tta wrap the model
        folded = fold_eval_batchnorm(model)
        runner.message_hub.update_info('fused_batchnorms', folded)
        kept = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
        runner.logger.info(f'fuse_conv_bn: folded {folded} BatchNorm layers into the preceding '
                           f'convolutions ({kept} left; --no-fuse-conv-bn keeps them all)')
