"""The config side of ``tools/test.py --tta``: wrap the model, swap in the views' pipeline.

A config's ``img_ratios`` is expanded into ``tta_pipeline`` when the file is read (the list
comprehension of mmseg's data set bases), so ``--cfg-options img_ratios=[1.0]`` alone would
change nothing: :func:`apply_tta` rebuilds the scale views from the ratios given.
"""
import copy
from numbers import Real
from typing import Any, Optional, Sequence, Union

from mmengine.config import Config, ConfigDict

TTA_DOCS = 'docs/model_zoo.md#test-time-augmentation'


class MissingTTAConfigError(KeyError):
    """``--tta`` on a config that defines no ``tta_model`` or no ``tta_pipeline``."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def _scale_view_lists(pipeline: Sequence[Any]) -> list[list]:
    """The transform lists of the pipeline's ``TestTimeAug`` steps made only of
    ``Resize(scale_factor=...)`` (the scale views)."""
    found = []
    for step in pipeline:
        if not isinstance(step, dict) or step.get('type') != 'TestTimeAug':
            continue
        for views in step.get('transforms', []):
            if views and all(isinstance(v, dict) and v.get('type') == 'Resize'
                             and 'scale_factor' in v for v in views):
                found.append(views)
    return found


def _check_ratios(ratios: Union[Real, Sequence[Real]]) -> list[float]:
    values = [ratios] if isinstance(ratios, Real) else list(ratios)
    if not all(isinstance(r, Real) and not isinstance(r, bool) for r in values):
        raise TypeError(f'--cfg-options img_ratios must be numbers (e.g. '
                        f'img_ratios=[0.75,1.0,1.25]), got {ratios!r}')
    if not values or min(values) <= 0:
        raise ValueError(f'--cfg-options img_ratios must be a non-empty list of positive '
                         f'numbers (e.g. img_ratios=[0.75,1.0,1.25]), got {ratios!r}')
    return [float(r) for r in values]


def set_img_ratios(cfg: Config, ratios: Union[Real, Sequence[Real]]) -> None:
    """Make the scale views of ``cfg.tta_pipeline`` one ``Resize`` per ratio.

    Each new view is a copy of the first ``Resize`` of the list with its ``scale_factor`` set,
    so its other arguments (``keep_ratio``, ...) are kept. ``cfg.img_ratios`` is set too.

    Raises:
        TypeError: a ratio is not a number.
        ValueError: no ratios, a ratio <= 0, or the pipeline has no (or more than one)
            ``TestTimeAug`` list of ``Resize(scale_factor=...)`` to rebuild.
    """
    values = _check_ratios(ratios)
    lists = _scale_view_lists(cfg.get('tta_pipeline') or [])
    if len(lists) != 1:
        raise ValueError(
            f'--cfg-options img_ratios: the tta_pipeline of {cfg.filename} has '
            f'{len(lists)} TestTimeAug lists of Resize(scale_factor=...) views, so there is no '
            'one list to rebuild from the ratios; edit tta_pipeline in a config instead '
            f'(see {TTA_DOCS})')
    template = lists[0][0]
    lists[0][:] = [ConfigDict(copy.deepcopy(dict(template)), scale_factor=r) for r in values]
    cfg.img_ratios = values


def apply_tta(cfg: Config, img_ratios: Optional[Union[Real, Sequence[Real]]] = None) -> None:
    """Wrap ``cfg.model`` in ``cfg.tta_model`` and test on ``cfg.tta_pipeline``, as mmseg's and
    mmdet's ``tools/test.py --tta`` do.

    Args:
        cfg: The resolved config; changed in place.
        img_ratios: Ratios given with ``--cfg-options img_ratios=...``: the scale views are
            rebuilt from them (:func:`set_img_ratios`).

    Raises:
        MissingTTAConfigError: (a ``KeyError``) the config defines no ``tta_model`` or no
            ``tta_pipeline``.
        TypeError, ValueError: bad ``img_ratios`` (see :func:`set_img_ratios`).
    """
    missing = [key for key in ('tta_model', 'tta_pipeline') if not cfg.get(key)]
    if missing:
        raise MissingTTAConfigError(
            f'--tta: the config {cfg.filename} defines no {" and no ".join(missing)}. '
            "segdet's segmentation configs get tta_model = dict(type='SegTTAModel') from "
            'configs/_base_/default_runtime.py and tta_pipeline (from img_ratios) from their '
            'data set base; the COCO data set bases define a DetTTAModel and a flip '
            f'tta_pipeline. Add them to the config (see {TTA_DOCS}) or test without --tta')
    if img_ratios is not None:
        set_img_ratios(cfg, img_ratios)
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:  # RepeatDataset and the like
        dataset = dataset.dataset
    dataset.pipeline = copy.deepcopy(cfg.tta_pipeline)
    cfg.model = ConfigDict({**cfg.tta_model, 'module': cfg.model})
