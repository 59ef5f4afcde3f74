"""The model a benchmark times: built from a config, weights loaded, optionally BN-folded."""
import logging
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint

from segdet.engine.hooks.fp32_depthwise_hook import keep_depthwise_fp32
from segdet.engine.hooks.memory_format_hook import to_memory_format
from segdet.engine.pretrained import without_pretrained
from segdet.registry import MODELS
from .inputs import is_detector


def fold_batchnorm(model: torch.nn.Module) -> int:
    """Fold every eval-mode BatchNorm that a conv feeds into that conv (in place), the way
    ``tools/test.py`` does (:func:`segdet.engine.hooks.fold_eval_batchnorm`: pairs traced on a
    probe forward, outputs checked); puts ``model`` in eval mode.

    Returns:
        The number of BatchNorm layers folded.
    """
    from segdet.engine.hooks.fuse_conv_bn_hook import fold_eval_batchnorm
    return fold_eval_batchnorm(model)


def build_benchmark_model(cfg: Config, checkpoint: Optional[str] = None, device: str = 'cpu',
                          fuse_conv_bn: bool = False, channels_last: bool = False,
                          fp32_depthwise: bool = False
                          ) -> tuple[torch.nn.Module, Optional[int]]:
    """Build ``cfg.model`` (in segdet's default scope) for timing.

    Args:
        cfg: The resolved config.
        checkpoint: Weights to load; None keeps the config's initialisation (``init_weights``,
            with its per-parameter INFO log silenced) without its pre-trained weights: random
            weights time the same, and a benchmark needs no download.
        device: Where to put the model.
        fuse_conv_bn: Fold eval-mode BatchNorm into the preceding convs (inference only).
        channels_last: Convert the model and its inputs to channels_last.
        fp32_depthwise: Run the depthwise convs in fp32 under CPU bf16 autocast
            (:func:`segdet.engine.hooks.keep_depthwise_fp32`, as ``--amp`` training does).

    Returns:
        (model, number of folded BatchNorm layers, or None without ``fuse_conv_bn``).
    """
    model = MODELS.build(cfg.model if checkpoint else without_pretrained(cfg.model))
    if checkpoint:
        load_checkpoint(model, checkpoint, map_location='cpu')
    elif hasattr(model, 'init_weights'):
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)  # init_weights logs every parameter at INFO
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    model.to(device)
    fused = fold_batchnorm(model) if fuse_conv_bn else None
    if channels_last:
        to_memory_format(model, 'channels_last')
    if fp32_depthwise:
        keep_depthwise_fp32(model)
    return model, fused


def flops_countable(cfg: Config) -> bool:
    """Whether :func:`.flops.inference_flops` applies: whole-mode segmentors only.

    A detector's RoI heads run on its proposals (no single traced network); slide mode runs
    the network a data-dependent number of times.
    """
    whole = cfg.model.get('test_cfg', {}).get('mode', 'whole') == 'whole'
    return whole and not is_detector(cfg)
