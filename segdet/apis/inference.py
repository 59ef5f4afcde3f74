"""Python API for segmentation and detection models: build from a config, predict, draw.

    >>> from segdet.apis import init_model, inference_model, show_result
    >>> model = init_model('configs/demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py',
    ...                    'work_dirs/demo/iter_1500.pth')
    >>> sample = inference_model(model, 'data/shapes/leftImg8bit/val/shapes/val_00000_leftImg8bit.png')
    >>> sample.pred_sem_seg.data.shape        # (1, H, W) class indices at the image's size
    >>> show_result(model, img_path, sample, out_file='overlay.png')

Detectors work the same way: ``inference_model`` returns samples with ``pred_instances``
(``bboxes`` (N, 4), ``scores``, ``labels``, Mask R-CNN ``masks`` (N, H, W) bool, all at the
image's own size) and ``show_result`` draws the boxes, class names, scores and masks.
"""
import copy
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import cv2
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import _load_checkpoint_to_model

from segdet.engine import (check_checkpoint_fits, fold_eval_batchnorm, load_uri,
                           register_all_modules, without_pretrained)
from segdet.engine.hooks.memory_format_hook import to_memory_format
from segdet.engine.runtime import fp32_nhwc_is_faster
from segdet.registry import DATASETS, MODELS, TRANSFORMS
from segdet.structures import DataSample
from segdet.utils import load_config, revert_sync_bn_cfg
from segdet.visualization.det_overlay import overlay_instances
from segdet.visualization.seg_overlay import overlay_sem_seg

ImageInput = Union[str, os.PathLike, np.ndarray]


def _load_config(config: Union[str, os.PathLike, Config],
                 cfg_options: Optional[dict]) -> Config:
    if isinstance(config, (str, os.PathLike)):
        return load_config(config, cfg_options)
    if not isinstance(config, Config):
        raise TypeError(f'config must be a path or a Config, got {type(config).__name__}')
    config = copy.deepcopy(config)
    if cfg_options:
        config.merge_from_dict(cfg_options)
    return config


def _dataset_meta(cfg: Config, checkpoint_meta: Optional[dict]) -> dict:
    """``classes``/``palette``: from the checkpoint when it has them, else the test data set."""
    if checkpoint_meta and checkpoint_meta.get('dataset_meta'):
        return dict(checkpoint_meta['dataset_meta'])
    dataset_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
    meta: dict = {}
    dataset_type = dataset_cfg.get('type')
    if dataset_type:
        with DefaultScope.overwrite_default_scope('segdet'):
            cls = DATASETS.get(dataset_type)
        meta.update(copy.deepcopy(getattr(cls, 'METAINFO', {}) or {}))
    meta.update(dataset_cfg.get('metainfo') or {})
    return meta


def init_model(config: Union[str, os.PathLike, Config], checkpoint: Optional[str] = None,
               device: str = 'cpu', cfg_options: Optional[dict] = None,
               allow_partial: bool = False, fuse_conv_bn: bool = True,
               channels_last: Optional[bool] = None) -> torch.nn.Module:
    """Build a model from a config, load weights, and put it in eval mode on ``device``.

    The model is for inference: by default every BatchNorm that a conv feeds is folded into
    that conv (:func:`segdet.engine.fold_eval_batchnorm`: pairs traced on a probe forward,
    outputs checked; predictions equal the unfused model's up to float rounding, ~1e-6 on
    logits) and replaced by ``nn.Identity``, so it must not be trained;
    ``fuse_conv_bn=False`` keeps the model as built (to fine-tune or inspect it).

    Args:
        config: Config file or ``Config``.
        checkpoint: Weights: a local file or a URL (``https://...``, ``open-mmlab://...``;
            kept in the torch hub cache), loaded with segdet's safe loader; None keeps the
            initialisation (random weights: the config's pre-trained backbone is not loaded).
        device: 'cpu', 'cuda', 'cuda:1', ...
        cfg_options: Overrides merged into the config, as ``--cfg-options``.
        allow_partial: Load only what fits when more than 10 % of the model's tensors are
            missing from the checkpoint or of another shape (default: an error).
        fuse_conv_bn: Fold BatchNorm into the preceding convs (default); SyncBN is reverted to
            BatchNorm by the build (one process) and GroupNorm is kept.
        channels_last: Convert the model and its inputs to channels_last
            (:func:`segdet.engine.hooks.memory_format_hook.to_memory_format`); default: on a CPU with AVX-512,
            where fp32 inference is faster in NHWC
            (:func:`segdet.engine.runtime.fp32_nhwc_is_faster`).

    Returns:
        The model, in eval mode, with ``model.cfg`` (the resolved config),
        ``model.dataset_meta`` (``classes``, ``palette``) and ``model.fused_batchnorms`` (int:
        the number of BatchNorm layers folded; 0 with ``fuse_conv_bn=False``) and
        ``model.channels_last`` (bool).

    Raises:
        CheckpointMismatchError: (a ValueError) the checkpoint does not fit the model and
            ``allow_partial`` is False; the message gives the counts and the first names.
        WeightsNotAvailableError: a URL neither cached nor downloadable.
    """
    register_all_modules(init_default_scope=False)  # the safe checkpoint loader
    cfg = _load_config(config, cfg_options)
    # The checkpoint (or nothing) gives the weights: no pre-trained backbone is loaded.
    cfg.model = without_pretrained(revert_sync_bn_cfg(cfg.model))
    cfg.model.train_cfg = None
    with DefaultScope.overwrite_default_scope('segdet'):
        model = MODELS.build(cfg.model)
    meta = None
    if checkpoint is not None:
        loaded, _ = load_uri(checkpoint, map_location='cpu')
        check_checkpoint_fits(model, loaded, str(checkpoint), allow_partial=allow_partial)
        _load_checkpoint_to_model(model, loaded)
        meta = loaded.get('meta') if isinstance(loaded, dict) else None
    model.cfg = cfg
    model.dataset_meta = _dataset_meta(cfg, meta)
    model.to(device).eval()
    model.fused_batchnorms = fold_eval_batchnorm(model) if fuse_conv_bn else 0
    if channels_last is None:
        channels_last = torch.device(device).type == 'cpu' and fp32_nhwc_is_faster()
    if channels_last:
        to_memory_format(model, 'channels_last')
    model.channels_last = channels_last
    return model


def _inference_pipeline(cfg: Config, from_array: bool) -> Compose:
    """The config's test pipeline without label loading; arrays skip file loading."""
    steps = [copy.deepcopy(t) for t in cfg.test_pipeline
             if t['type'] not in ('LoadAnnotations', 'mmseg.LoadAnnotations')]
    if not steps or 'LoadImage' not in steps[0]['type']:
        raise ValueError('the config\'s test_pipeline must start with an image-loading '
                         f'transform, got {steps[0]["type"] if steps else "nothing"}')
    if from_array:
        steps[0] = dict(type='LoadImageFromNDArray')
    with DefaultScope.overwrite_default_scope('segdet'):
        return Compose([TRANSFORMS.build(t) for t in steps])


def inference_model(model: torch.nn.Module, imgs: Union[ImageInput, Sequence[ImageInput]]
                    ) -> Union[DataSample, list[DataSample]]:
    """Predict one image or a list: paths or (H, W, 3) BGR uint8 arrays.

    Returns:
        One ``DataSample`` per image (a list for a list input): for segmentors
        ``pred_sem_seg`` (1, H, W) class indices and ``seg_logits`` (C, H, W); for detectors
        ``pred_instances``; at the image's own size.
    """
    single = not isinstance(imgs, (list, tuple))
    items = [imgs] if single else list(imgs)
    if not items:
        return []
    cfg = model.cfg
    data = []
    for item in items:
        if isinstance(item, np.ndarray):
            if item.ndim != 3 or item.shape[2] != 3:
                raise ValueError(f'inference_model: arrays must be (H, W, 3) BGR images, got '
                                 f'shape {item.shape}')
            data.append(_inference_pipeline(cfg, True)(dict(img=item)))
        else:
            if not os.path.isfile(item):
                raise FileNotFoundError(f'image file not found: {item}')
            data.append(_inference_pipeline(cfg, False)(dict(img_path=str(item))))
    with torch.no_grad():
        results = model.test_step(pseudo_collate(data))
    return results[0] if single else results


def show_result(model: torch.nn.Module, img: ImageInput, result: DataSample,
                out_file: Optional[Union[str, Path]] = None, opacity: float = 0.5,
                score_thr: float = 0.3) -> np.ndarray:
    """Draw ``result.pred_sem_seg`` over the image with the data set's palette, or, for a
    detector's result, its ``pred_instances`` scoring above ``score_thr`` (boxes, class names,
    scores, masks).

    Returns:
        The (H, W, 3) BGR overlay; also written to ``out_file`` when given.
    """
    image = img if isinstance(img, np.ndarray) else cv2.imread(str(img), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(f'cannot read image {img}')
    meta = getattr(model, 'dataset_meta', None) or {}
    if 'pred_instances' in result:
        pred = result.pred_instances
        keep = (pred.scores > score_thr).cpu()
        masks = pred.masks[keep].cpu().numpy() if 'masks' in pred else None
        overlay = overlay_instances(image, pred.bboxes[keep].cpu().numpy(),
                                    pred.labels[keep].cpu().numpy(),
                                    pred.scores[keep].cpu().numpy(), masks,
                                    classes=meta.get('classes'), palette=meta.get('palette'),
                                    alpha=opacity)
    else:
        pred = result.pred_sem_seg.data[0].cpu().numpy()
        overlay = overlay_sem_seg(image, pred, meta.get('palette'), alpha=opacity)
    if out_file is not None:
        os.makedirs(os.path.dirname(os.path.abspath(out_file)), exist_ok=True)
        if not cv2.imwrite(str(out_file), overlay):
            raise OSError(f'cannot write {out_file}')
    return overlay
