"""``IoUMetric``: data-set-level IoU / Dice / F-score for semantic segmentation."""
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from terminaltables import AsciiTable

from segdet.registry import METRICS
from .seg_functional import check_seg_metrics, intersect_and_union, total_area_to_metrics

# Cityscapes image files end in this; the benchmark server wants '<city>_<seq>_<frame>*.png'.
_CITYSCAPES_IMG_SUFFIX = '_leftImg8bit'


def prediction_png_name(img_path: str) -> str:
    """The file name ``output_dir`` gives the prediction of ``img_path``: the image's name
    without its extension and Cityscapes' ``_leftImg8bit``, plus ``.png``."""
    return osp.splitext(osp.basename(img_path))[0].removesuffix(_CITYSCAPES_IMG_SUFFIX) + '.png'


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """Semantic-segmentation metric: aAcc plus mean IoU / Dice / F-score over classes.

    Each image contributes per-class pixel counts (intersection, union, predicted, labeled);
    the counts are summed over the data set and the metrics are computed once from the totals.
    A class absent from both prediction and ground truth has NaN IoU / Dice / Fscore and is left
    out of the means (``np.nanmean``), unless ``nan_to_num`` replaces NaN.

    Inputs (what ``mmengine.evaluator.Evaluator`` passes to :meth:`process`): one dict per image
    (``DataSample.to_dict()``) with ``pred_sem_seg['data']`` (1, H, W) int predicted classes,
    ``gt_sem_seg['data']`` (1, H, W) int labels (not needed with ``format_only``), and the
    metainfo keys ``img_path`` (for ``output_dir``) and optionally ``reduce_zero_label``.
    ``dataset_meta`` (set by the Runner from the dataset's metainfo) must hold ``classes``; an
    optional ``label_ids`` (one id per class) maps classes to the ids written to PNGs.

    Output of :meth:`compute_metrics` (percent, rounded to 2 decimals, keys as mmsegmentation):
    ``aAcc`` always; ``mIoU``, ``mAcc`` for 'mIoU'; ``mDice``, ``mAcc`` for 'mDice';
    ``mFscore``, ``mPrecision``, ``mRecall`` for 'mFscore'. A per-class table is logged.

    Args:
        ignore_index (int): Ground-truth value that is not evaluated. Defaults to 255.
        iou_metrics (str | Sequence[str]): Any of 'mIoU', 'mDice', 'mFscore'.
            Defaults to ('mIoU',).
        nan_to_num (float, optional): Replace NaN class-wise values with this number before
            averaging. Defaults to None (keep NaN, exclude from means).
        beta (float): Weight of recall in the F-score. Defaults to 1.
        collect_device (str): 'cpu' or 'gpu', where results of all ranks are gathered.
            Defaults to 'cpu'.
        output_dir (str, optional): If set, write one prediction PNG per image here, named
            ``<image stem>.png`` (``_leftImg8bit`` removed from Cityscapes names). Values are
            ``dataset_meta['label_ids'][class]`` when the dataset defines ``label_ids`` (e.g. the
            official Cityscapes label ids), else the class index, + 1 for samples with
            ``reduce_zero_label`` (undoing the reduction; the sample's metainfo decides, else
            ``dataset_meta['reduce_zero_label']``). Defaults to None.
        format_only (bool): Only write the PNGs (e.g. for a benchmark server), skip evaluation
            and return ``{}``; ground truth may be absent and ``self.results`` stays ``[]``
            (so mmengine logs that the results are empty, as with mmseg). Needs
            ``output_dir`` (mmseg silently writes nothing without one). Defaults to False.
        prefix (str, optional): Prefix of the metric names, e.g. 'val' gives 'val/mIoU'.
            Defaults to None.
    """

    # mmseg exposes the pure functions as static methods; keep them reachable the same way.
    intersect_and_union = staticmethod(intersect_and_union)
    total_area_to_metrics = staticmethod(total_area_to_metrics)

    def __init__(self,
                 ignore_index: int = 255,
                 iou_metrics: Union[str, Sequence[str]] = ('mIoU', ),
                 nan_to_num: Optional[float] = None,
                 beta: float = 1,
                 collect_device: str = 'cpu',
                 output_dir: Optional[str] = None,
                 format_only: bool = False,
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.ignore_index = ignore_index
        self.metrics: List[str] = list(check_seg_metrics(iou_metrics))
        self.nan_to_num = nan_to_num
        self.beta = beta
        if format_only and output_dir is None:
            raise ValueError('IoUMetric: format_only=True writes prediction PNGs and needs '
                             'output_dir; got output_dir=None')
        self.output_dir = output_dir
        self.format_only = format_only

    # ------------------------------------------------------------------ dataset meta
    def _classes(self) -> Tuple[str, ...]:
        meta = self.dataset_meta
        if not meta or 'classes' not in meta:
            raise RuntimeError(
                "IoUMetric needs dataset_meta['classes']: the Runner sets it from the "
                "dataset's metainfo; outside a Runner set metric.dataset_meta = "
                f'dict(classes=(...)). Got dataset_meta={meta!r}')
        return tuple(meta['classes'])

    def _label_id_table(self, num_classes: int) -> Optional[np.ndarray]:
        label_ids = (self.dataset_meta or {}).get('label_ids')
        if label_ids is None:
            return None
        table = np.asarray(label_ids, dtype=np.int64)
        if table.shape != (num_classes, ):
            raise ValueError(f"IoUMetric: dataset_meta['label_ids'] must hold one id per class "
                             f'({num_classes}), got {len(table)}')
        return table

    # ------------------------------------------------------------------ per batch
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Count pixels of each image (and write its PNG when ``output_dir`` is set).

        Appends to ``self.results`` one (4, C) int64 tensor per image (rows: intersection,
        union, predicted, labeled); with ``format_only`` it only writes the PNG and appends
        nothing, so ``self.results`` stays ``[]`` (as in mmseg).

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs, one dict per image (see class doc).
        """
        num_classes = len(self._classes())
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            pred = _class_map(sample, 'pred_sem_seg')
            if self.output_dir is not None:
                self._write_png(pred, sample, num_classes)
            if self.format_only:
                continue
            label = _class_map(sample, 'gt_sem_seg')
            areas = intersect_and_union(pred, label, num_classes, self.ignore_index)
            self.results.append(torch.stack(areas))

    def _write_png(self, pred: torch.Tensor, sample: dict, num_classes: int) -> str:
        """Write the prediction of one image as a PNG and return its path."""
        img_path = sample.get('img_path')
        if img_path is None:
            raise KeyError('IoUMetric: output_dir is set but the data sample has no '
                           f"'img_path' to name the PNG after; keys: {sorted(sample)}")
        out = pred.cpu().numpy().astype(np.int64)
        table = self._label_id_table(num_classes)
        if table is not None:
            if out.size and (out.min() < 0 or out.max() >= num_classes):
                raise ValueError(f'IoUMetric: prediction for {img_path} has values in '
                                 f'[{out.min()}, {out.max()}], outside the {num_classes} '
                                 "classes that dataset_meta['label_ids'] maps")
            out = table[out]
        elif sample.get('reduce_zero_label',
                        (self.dataset_meta or {}).get('reduce_zero_label', False)):
            # Class k was label k + 1 before the dataset dropped label 0.
            out = out + 1
        if out.size and (out.min() < 0 or out.max() > np.iinfo(np.uint16).max):
            raise ValueError(f'IoUMetric: PNG values for {img_path} in [{out.min()}, '
                             f'{out.max()}] do not fit uint16')
        dtype = np.uint8 if not out.size or out.max() <= np.iinfo(np.uint8).max else np.uint16
        os.makedirs(self.output_dir, exist_ok=True)
        png_path = osp.abspath(osp.join(self.output_dir, prediction_png_name(img_path)))
        if not cv2.imwrite(png_path, out.astype(dtype)):
            raise OSError(f'IoUMetric: could not write {png_path}')
        return png_path

    # ------------------------------------------------------------------ whole data set
    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Sum the per-image counts and compute the summary metrics.

        Args:
            results (list): What :meth:`process` appended, gathered from all ranks.

        Returns:
            dict[str, float]: Metric name (see class doc) -> value in percent, rounded to 2
            decimals; ``{}`` with ``format_only``.
        """
        if self.format_only:
            print_log(f'IoUMetric: format_only, prediction PNGs are in '
                      f'{osp.abspath(self.output_dir)}; evaluation skipped', logger='current')
            return {}
        classes = self._classes()
        if not results:
            raise RuntimeError('IoUMetric: no processed images to evaluate')
        total = torch.stack(results).sum(dim=0)  # (4, C)
        class_wise = total_area_to_metrics(
            total[0], total[1], total[2], total[3], self.metrics, self.nan_to_num, self.beta)

        summary: Dict[str, float] = {}
        for key, values in class_wise.items():
            name = key if key == 'aAcc' else 'm' + key
            summary[name] = _percent(_nanmean(values))
        class_wise.pop('aAcc')
        print_log('per class results:', logger='current')
        print_log('\n' + format_class_table(classes, class_wise), logger='current')
        return summary


def _class_map(sample: dict, key: str) -> torch.Tensor:
    """The (H, W) class map stored at ``sample[key]['data']`` as (1, H, W) or (H, W)."""
    field = sample.get(key)
    if field is None or 'data' not in field:
        raise KeyError(f"IoUMetric: data sample has no '{key}' with 'data'; keys: "
                       f'{sorted(sample)}')
    data = torch.as_tensor(field['data'])
    if data.dim() == 3 and data.shape[0] == 1:
        data = data[0]
    if data.dim() != 2:
        raise ValueError(f"IoUMetric: {key}['data'] must be (1, H, W) or (H, W), got "
                         f'{tuple(data.shape)}')
    return data


def _nanmean(values: np.ndarray) -> float:
    """Mean over the non-NaN values; NaN (without a warning) when all are NaN."""
    finite = values[~np.isnan(values)]
    return float(finite.mean()) if finite.size else float('nan')


def _percent(value: float) -> float:
    return round(value * 100, 2)


def format_class_table(classes: Sequence[str], class_wise: Dict[str, np.ndarray]) -> str:
    """Render class-wise metrics as an ASCII table, values in percent with 2 decimals.

    Args:
        classes (Sequence[str]): C class names.
        class_wise (dict[str, np.ndarray]): Metric name -> (C,) values in [0, 1] (NaN allowed).

    Returns:
        str: The table; one row per class, columns 'Class' then the metric names.
    """
    header = ['Class', *class_wise]
    rows = [[str(name), *(f'{_percent(float(v[i])):.2f}' for v in class_wise.values())]
            for i, name in enumerate(classes)]
    return AsciiTable([header, *rows]).table
