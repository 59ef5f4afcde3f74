"""The target side of a conversion: the model a config builds, and the written checkpoint."""
import collections
import io
import os
from typing import Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope

from segdet.engine import atomic_write_bytes, register_all_modules
from segdet.registry import MODELS
from segdet.utils import load_config, revert_sync_bn_cfg

from .core import PathLike, TargetShapes


def load_target_config(config: PathLike, cfg_options: Optional[dict] = None) -> Config:
    """Read a config for conversion (the tools' way, ``--cfg-options`` merged)."""
    return load_config(config, cfg_options)


def target_shapes(cfg: Config, part: Optional[str] = None) -> TargetShapes:
    """Key -> shape of the state dict of the model ``cfg`` builds, without allocating it.

    The model is built on the meta device (no memory, no initialisation, no download of
    pretrained weights); SyncBN is built as BN (same keys).

    Args:
        cfg: Config with a ``model`` section.
        part: A sub-module to take alone (``'backbone'`` for an ImageNet backbone
            checkpoint, whose keys have no ``backbone.`` prefix), or None for the whole model.

    Returns:
        An ``OrderedDict`` in the model's state-dict order.
    """
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('segdet'), torch.device('meta'):
        model = MODELS.build(revert_sync_bn_cfg(cfg.model))
    if part is not None:
        if not hasattr(model, part):
            raise KeyError(f'the model of this config ({type(model).__name__}) has no '
                           f'{part!r} part')
        model = getattr(model, part)
    return collections.OrderedDict((k, v.shape) for k, v in model.state_dict().items())


def save_converted(state_dict: 'collections.OrderedDict[str, torch.Tensor]', out_file: PathLike,
                   meta: dict) -> None:
    """Write ``dict(state_dict=..., meta=...)`` atomically (a temporary file renamed over
    ``out_file``), loadable with segdet's safe (``weights_only``) loader.

    Args:
        state_dict: Converted tensors (CPU).
        out_file: Target ``.pth`` path; its folder is created.
        meta: Plain data only (str, int, float, lists, tuples, dicts).
    """
    buffer = io.BytesIO()
    torch.save(dict(state_dict=collections.OrderedDict(
        (k, v.cpu()) for k, v in state_dict.items()), meta=meta), buffer)
    atomic_write_bytes(buffer.getvalue(), os.fspath(out_file))
