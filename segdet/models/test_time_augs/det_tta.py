"""DetTTAModel: a detector's predictions merged over test-time augmented views (mmdet's name)."""
from typing import Optional

from mmengine.model import BaseTTAModel

from segdet.registry import MODELS
from segdet.structures import SampleList

from .merge import merge_instances, merged_sample

#: mmdet's tools/test.py default, and what segdet's COCO data set bases write.
DEFAULT_TTA_CFG = dict(nms=dict(type='nms', iou_threshold=0.5), max_per_img=100)
NMS_KEYS = ('type', 'iou_threshold', 'class_agnostic', 'split_thr')


def check_tta_cfg(tta_cfg: dict) -> tuple[float, int, bool]:
    """Validate ``tta_cfg`` and return (iou_threshold, max_per_img, class_agnostic).

    Raises:
        TypeError: ``tta_cfg`` or its ``nms`` is not a dict, ``nms`` has an unknown key, or
            ``max_per_img`` is not an int.
        KeyError: ``nms``, ``max_per_img`` or ``nms.iou_threshold`` is missing.
        NotImplementedError: an NMS type other than 'nms' (mmcv's soft_nms, ...).
        ValueError: ``iou_threshold`` outside [0, 1] or ``max_per_img`` < 1.
    """
    if not isinstance(tta_cfg, dict):
        raise TypeError(f'DetTTAModel: tta_cfg must be a dict, got {type(tta_cfg).__name__}')
    missing = [k for k in ('nms', 'max_per_img') if k not in tta_cfg]
    if missing:
        raise KeyError(f'DetTTAModel: tta_cfg lacks {missing}; mmdet writes '
                       f'tta_cfg={DEFAULT_TTA_CFG}')
    nms = tta_cfg['nms']
    if not isinstance(nms, dict):
        raise TypeError(f'DetTTAModel: tta_cfg.nms must be a dict, got {type(nms).__name__}')
    if nms.get('type', 'nms') != 'nms':
        raise NotImplementedError(f"DetTTAModel: tta_cfg.nms.type={nms['type']!r} is not "
                                  "supported; segdet merges views with plain NMS (type='nms')")
    unknown = sorted(set(nms) - set(NMS_KEYS))
    if unknown:
        raise TypeError(f'DetTTAModel: tta_cfg.nms has unknown keys {unknown}; it takes '
                        f'{list(NMS_KEYS)}')
    if 'iou_threshold' not in nms:
        raise KeyError(f'DetTTAModel: tta_cfg.nms lacks iou_threshold, got {dict(nms)}')
    iou, max_per_img = float(nms['iou_threshold']), tta_cfg['max_per_img']
    if not 0.0 <= iou <= 1.0:
        raise ValueError(f'DetTTAModel: tta_cfg.nms.iou_threshold must be in [0, 1], got {iou}')
    if not isinstance(max_per_img, int) or isinstance(max_per_img, bool):
        raise TypeError(f'DetTTAModel: tta_cfg.max_per_img must be an int, got '
                        f'{max_per_img!r}')
    if max_per_img < 1:
        raise ValueError(f'DetTTAModel: tta_cfg.max_per_img must be >= 1, got {max_per_img}')
    return iou, max_per_img, bool(nms.get('class_agnostic', False))


@MODELS.register_module()
class DetTTAModel(BaseTTAModel):
    """Wraps a detector and merges its detections over the views of each image.

    ``tools/test.py --tta`` builds it from the config's ``tta_model`` (``module`` = the config's
    model) and tests on the config's ``tta_pipeline``, whose ``TestTimeAug`` makes the views
    (segdet's COCO bases, as mmdet's tools/test.py: the image flipped and unflipped). The
    detector predicts each view with ``rescale=True``, so its boxes and masks come back at the
    original image size and already un-flipped; :meth:`merge_preds` pools the views'
    detections, runs per-class NMS over them and keeps the ``max_per_img`` best, as mmdet
    3.3.0's ``DetTTAModel``.

    Masks: mmdet 3.3.0 refuses instance masks here; segdet keeps, for each detection that
    survives NMS, the mask its own view predicted (at the original size, un-flipped).

    Args:
        tta_cfg: ``dict(nms=dict(type='nms', iou_threshold=...), max_per_img=...)``;
            ``nms.class_agnostic=True`` suppresses across classes. Default: mmdet's
            ``nms`` at IoU 0.5, 100 detections.
        module: The detector, or its config.
        data_preprocessor: Replaces the detector's data preprocessor when given.
    """

    def __init__(self, tta_cfg: Optional[dict] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tta_cfg = dict(DEFAULT_TTA_CFG if tta_cfg is None else tta_cfg)
        self.iou_threshold, self.max_per_img, self.class_agnostic = check_tta_cfg(self.tta_cfg)

    def merge_preds(self, data_samples_list: list[SampleList]) -> SampleList:
        """Merge each image's views into one prediction.

        Args:
            data_samples_list: Per image, the predicted samples of its views, each with
                ``pred_instances`` at ``ori_shape``.

        Returns:
            One new sample per image with ``pred_instances`` (``bboxes`` (N, 4), ``scores``
            (N,), ``labels`` (N,), ``masks`` (N, H, W) when predicted; N <= max_per_img,
            decreasing score), the metainfo the views share (``img_id``, ``img_path``,
            ``ori_shape``, ...) and the ground truth of the first unflipped view.
        """
        merged = []
        for views in data_samples_list:
            out = merged_sample(views)
            out.pred_instances = merge_instances(
                [v.pred_instances for v in views], self.iou_threshold, self.max_per_img,
                self.class_agnostic, where=views[0].metainfo.get('img_path'))
            merged.append(out)
        return merged
