"""``CocoMetric``: COCO box / mask / keypoint AP and proposal AR through pycocotools'
``COCOeval``, and mmdet's fast proposal recall (``proposal_fast``, :mod:`.proposal_recall`)
without it."""
import contextlib
import io
import logging
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump
from mmengine.logging import print_log
from mmengine.structures import BaseDataElement
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from terminaltables import AsciiTable

from segdet.registry import METRICS
from segdet.utils.coco_json import load_coco_json
from .coco_conversion import (coco_gt_boxes, encode_masks, gt_annotations, gt_to_coco_dict,
                              mask_array, rle_str_counts, to_numpy, xyxy_to_xywh)
from .coco_keypoints import (KEYPOINT_ITEM_INDEX, KEYPOINT_ITEMS, evaluate_keypoints,
                             keypoint_cat_ids, keypoint_results, keypoint_stats)
from .proposal_recall import eval_recalls

_METRICS = ('bbox', 'segm', 'keypoints', 'proposal', 'proposal_fast')
_AP_ITEMS = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


def iou_thr_array(iou_thrs: Union[float, Sequence[float], np.ndarray]) -> np.ndarray:
    """``CocoMetric.iou_thrs`` (a number, a sequence or an array) as the (T,) float64 array
    the evaluation uses.

    Raises:
        TypeError: A value is not a number.
        ValueError: No threshold, or one outside [0, 1].
    """
    try:
        arr = np.atleast_1d(np.asarray(iou_thrs, dtype=np.float64))
    except (TypeError, ValueError) as err:
        raise TypeError(f'CocoMetric: iou_thrs must be a number or a sequence of numbers, got '
                        f'{iou_thrs!r}') from err
    if arr.ndim != 1 or arr.size == 0 or not np.all((arr >= 0) & (arr <= 1)):
        raise ValueError(f'CocoMetric: iou_thrs must be one or more IoUs in [0, 1], got '
                         f'{iou_thrs!r}')
    return arr


def _quiet(fn: Any, *args: Any) -> Any:
    """Call a pycocotools function, sending what it prints to stdout to the debug log."""
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out = fn(*args)
    if buf.getvalue().strip():
        print_log(buf.getvalue().rstrip(), logger='current', level=logging.DEBUG)
    return out


@METRICS.register_module()
class CocoMetric(BaseMetric):
    """COCO detection / instance-segmentation metric (mmdetection 3.x's ``CocoMetric``).

    Predictions are converted to COCO results (``[x, y, w, h]`` boxes, ``category_id``,
    ``score``, RLE ``segmentation``) and evaluated with pycocotools' ``COCOeval``.

    Inputs (what ``mmengine.evaluator.Evaluator`` passes to :meth:`process`): one dict per
    image (``DataSample.to_dict()``) with ``img_id`` (the COCO image id), ``ori_shape``
    (h, w) and ``pred_instances``: ``bboxes`` (N, 4) float x1y1x2y2 in original-image pixels,
    ``scores`` (N,), ``labels`` (N,) int in 0..C-1, optional ``masks`` (N, H, W) bool/uint8 at
    ``ori_shape``, optional ``mask_scores`` (N,), optional ``keypoints`` (N, K, 2) x, y in
    original-image pixels with ``keypoint_scores`` (N, K). Without ``ann_file`` the ground truth
    comes from ``instances`` (mmdet's raw annotations: ``bbox`` xyxy, ``bbox_label``,
    ``ignore_flag``, ``mask``) or ``gt_instances`` (+ ``ignored_instances``): ``bboxes``,
    ``labels``, optional ``masks``, all at original image size.

    Label ``k`` is the category of ``ann_file`` whose name is ``dataset_meta['classes'][k]``;
    without ``dataset_meta`` it is the ``k``-th smallest category id.

    Keypoint AP ('keypoints') is COCOeval with ``iouType='keypoints'`` over the categories of
    ``ann_file`` that have keypoints, with ``dataset_meta['sigmas']`` (the data set's OKS
    constants, see :class:`~segdet.datasets.CocoDataset`) and ``iou_thrs`` as OKS
    thresholds. It needs ``ann_file`` (a ``person_keypoints`` json).

    Output of :meth:`compute_metrics` (rounded to 3 decimals, keys as mmdetection):
    ``{metric}_{item}`` for 'bbox' / 'segm' with items ``mAP``, ``mAP_50``, ``mAP_75``,
    ``mAP_s``, ``mAP_m``, ``mAP_l`` by default; for 'proposal' the bare items ``AR@100``,
    ``AR@300``, ``AR@1000``, ``AR_s@1000``, ``AR_m@1000``, ``AR_l@1000`` (numbers from
    ``proposal_nums``); for 'proposal_fast' ``AR@{n}`` for each ``n`` of ``proposal_nums``,
    not rounded (mmdet's fast recall, see :mod:`.proposal_recall`; it ignores
    ``metric_items``); for 'keypoints' ``keypoints_{item}`` with items ``mAP``, ``mAP_50``,
    ``mAP_75``, ``mAP_m``, ``mAP_l`` by default and also ``AR``, ``AR_50``, ``AR_75``,
    ``AR_m``, ``AR_l`` (COCOeval's OKS summary, 20 detections per image; not classwise).
    With ``classwise``, for 'bbox' / 'segm': mmdet's ``{class}_precision``
    (the class's AP over all IoU thresholds, all areas, the largest ``maxDets``; with both
    metrics the last one's value, as in mmdet) and segdet's ``{metric}_{class}_precision``
    (the same number, kept per metric).

    Args:
        ann_file (str, optional): COCO annotation json. Defaults to None (ground truth from the
            data samples).
        metric (str | list[str]): 'bbox', 'segm', 'keypoints', 'proposal', 'proposal_fast'
            or a list. Defaults to 'bbox'.
        classwise (bool): Log a per-class AP table and return per-class APs. Defaults to False.
        proposal_nums (Sequence[int]): The 3 ``maxDets`` of ``COCOeval`` (AP uses the last);
            with only 'proposal_fast', any number of proposal counts. Stored as a list.
            Defaults to (100, 300, 1000).
        iou_thrs (float | Sequence[float], optional): IoU thresholds of AP and AR, stored as
            given (as mmdet); None stores ``np.linspace(.5, .95, 10)``. Defaults to None.
        metric_items (Sequence[str], optional): Items to report instead of the defaults;
            each metric reports those of them it has (each must belong to some metric).
        format_only (bool): Only write the result jsons and return ``{}``. Needs
            ``outfile_prefix``. Defaults to False.
        outfile_prefix (str, optional): Write ``{prefix}.bbox.json`` and, with masks,
            ``{prefix}.segm.json``, with keypoints ``{prefix}.keypoints.json`` (and
            ``{prefix}.gt.json`` without ``ann_file``).
        backend_args (dict, optional): mmengine file backend arguments for ``ann_file`` and
            the written files.
        collect_device (str): 'cpu' or 'gpu', where results of all ranks are gathered.
        prefix (str, optional): Prefix of the metric names. Defaults to None ('coco').
        sort_categories (bool): Sort the ann file's categories by id (Objects365).
    """

    default_prefix: Optional[str] = 'coco'

    def __init__(self,
                 ann_file: Optional[str] = None,
                 metric: Union[str, Sequence[str]] = 'bbox',
                 classwise: bool = False,
                 proposal_nums: Sequence[int] = (100, 300, 1000),
                 iou_thrs: Optional[Union[float, Sequence[float]]] = None,
                 metric_items: Optional[Sequence[str]] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 sort_categories: bool = False) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.metrics: List[str] = [metric] if isinstance(metric, str) else list(metric)
        unknown = [m for m in self.metrics if m not in _METRICS]
        if unknown or not self.metrics:
            raise KeyError(f'CocoMetric: metric must be among {_METRICS}, got {metric!r}')
        self.classwise = classwise
        self.proposal_nums: List[int] = [int(n) for n in proposal_nums]
        if any(n < 1 for n in self.proposal_nums) or not self.proposal_nums:
            raise ValueError(f'CocoMetric: proposal_nums must be positive counts, got '
                             f'{proposal_nums!r}')
        if len(self.proposal_nums) != 3 and set(self.metrics) != {'proposal_fast'}:
            raise ValueError('CocoMetric: proposal_nums must hold 3 numbers (the maxDets of '
                             f'COCOeval.summarize), got {proposal_nums!r}')
        # Stored as mmdet stores it (what a port reads back); evaluation uses iou_thr_array.
        if iou_thrs is None:
            iou_thrs = np.linspace(.5, .95, int(np.round((.95 - .5) / .05)) + 1, endpoint=True)
        iou_thr_array(iou_thrs)  # fail here, not after the whole evaluation
        self.iou_thrs = iou_thrs
        self.item_index = self._item_index()
        if metric_items is not None:
            known = list(self.item_index) if set(self.metrics) - {'keypoints'} else []
            if 'keypoints' in self.metrics:
                known += [i for i in KEYPOINT_ITEMS if i not in known]
            bad = [item for item in metric_items if item not in known]
            if bad:
                raise KeyError(f'CocoMetric: metric_items {bad} are not supported; choose '
                               f'from {known}')
        self.metric_items = None if metric_items is None else list(metric_items)
        if format_only and outfile_prefix is None:
            raise ValueError('CocoMetric: format_only=True writes the result jsons and needs '
                             'outfile_prefix (e.g. "work_dirs/results"); got None')
        self.format_only = format_only
        self.outfile_prefix = outfile_prefix
        self.backend_args = backend_args
        if 'keypoints' in self.metrics and ann_file is None:
            raise ValueError("CocoMetric(metric='keypoints') needs ann_file (a COCO "
                             'person_keypoints json): the ground truth of data samples carries '
                             'no keypoints to evaluate against')
        self._coco_api: Optional[COCO] = None
        if ann_file is not None:
            self._coco_api = load_coco_json(ann_file, backend_args, owner='CocoMetric')
            if sort_categories:
                api = self._coco_api
                api.cats = {i: api.cats[i] for i in sorted(api.cats)}
                api.dataset['categories'] = sorted(api.dataset['categories'],
                                                   key=lambda c: c['id'])
        self.ann_file = ann_file

    def _item_index(self) -> Dict[str, int]:
        """Item name -> index in ``COCOeval.stats`` (AP items only without 3 proposal_nums)."""
        names = list(_AP_ITEMS)
        if len(self.proposal_nums) == 3:
            n0, n1, n2 = self.proposal_nums
            names += [f'AR@{n0}', f'AR@{n1}', f'AR@{n2}', f'AR_s@{n2}', f'AR_m@{n2}',
                      f'AR_l@{n2}']
        return {name: i for i, name in enumerate(names)}

    # ------------------------------------------------------------------ per batch
    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Convert the predictions of each image (masks to RLE) and keep them.

        Appends one ``(gt, pred)`` tuple per image to ``self.results``: ``gt`` has ``img_id``,
        ``height``, ``width`` and ``anns`` (filled only without ``ann_file``); ``pred`` has
        ``img_id``, numpy ``bboxes``, ``scores``, ``labels`` and optionally ``masks`` (RLE
        list) and ``mask_scores``.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs, one dict per image (see class doc).
        """
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                sample = sample.to_dict()
            missing = [k for k in ('img_id', 'ori_shape', 'pred_instances') if k not in sample]
            if missing:
                raise KeyError(f'CocoMetric: data sample lacks {missing}; keys: {sorted(sample)}')
            inst = sample['pred_instances']
            img_id = sample['img_id']
            pred: Dict[str, Any] = dict(
                img_id=img_id.item() if hasattr(img_id, 'item') else img_id,
                bboxes=to_numpy(inst['bboxes']).reshape(-1, 4).astype(np.float64),
                scores=to_numpy(inst['scores']).reshape(-1).astype(np.float64),
                labels=to_numpy(inst['labels']).reshape(-1).astype(np.int64))
            if 'masks' in inst:
                masks = inst['masks']
                # Already-encoded RLEs (mmdet's encode_mask_results) pass through.
                pred['masks'] = ([rle_str_counts(m) for m in masks]
                                 if isinstance(masks, (list, tuple)) else
                                 encode_masks(mask_array(masks)))
            if 'mask_scores' in inst:
                pred['mask_scores'] = to_numpy(inst['mask_scores']).reshape(-1).astype(np.float64)
            if 'keypoints' in inst:
                if 'keypoint_scores' not in inst:
                    raise KeyError(f'CocoMetric: pred_instances of img_id {pred["img_id"]} '
                                   'have keypoints but no keypoint_scores')
                pred['keypoints'] = to_numpy(inst['keypoints']).astype(np.float64)
                pred['keypoint_scores'] = to_numpy(inst['keypoint_scores']).astype(np.float64)
            h, w = sample['ori_shape'][:2]
            gt: Dict[str, Any] = dict(img_id=pred['img_id'], height=h, width=w, anns=[])
            if self._coco_api is None and not self.format_only:
                gt['anns'] = gt_annotations(sample)
            self.results.append((gt, pred))

    # ------------------------------------------------------------------ whole data set
    def _cat_ids(self, api: COCO) -> List[int]:
        """Category id of each label: by class name, else by sorted id."""
        classes = (self.dataset_meta or {}).get('classes')
        if classes is None:
            return sorted(api.getCatIds())
        name_to_id = {c['name']: c['id'] for c in api.dataset['categories']}
        missing = [name for name in classes if name not in name_to_id]
        if missing:
            raise KeyError(f"CocoMetric: dataset_meta['classes'] {missing} are not categories "
                           f'of {self.ann_file or "the ground truth"}; it has '
                           f'{sorted(name_to_id)}')
        return [name_to_id[name] for name in classes]

    def results_to_json(self, preds: Sequence[dict],
                        cat_ids: Sequence[int]) -> Dict[str, List[dict]]:
        """COCO results lists: ``'bbox'`` always, ``'segm'`` when the predictions have masks,
        ``'keypoints'`` when they have keypoints (see :func:`.coco_keypoints.keypoint_results`).

        Args:
            preds (Sequence[dict]): The ``pred`` dicts of :meth:`process`.
            cat_ids (Sequence[int]): Category id of each label.

        Returns:
            dict[str, list[dict]]: Entries with ``image_id``, ``bbox`` [x, y, w, h],
            ``score``, ``category_id`` (and ``segmentation`` RLE in 'segm').
        """
        out: Dict[str, List[dict]] = {'bbox': []}
        for key, kind in (('masks', 'segm'), ('keypoints', 'keypoints')):
            has = [(key in p) for p in preds]
            if any(has) and not all(has):
                raise ValueError(f'CocoMetric: some images have predicted {key} and others not '
                                 f'(e.g. img_id {preds[has.index(False)]["img_id"]})')
            if all(has):  # also with no images at all
                out[kind] = []
        for p in preds:
            labels = p['labels']
            if labels.size and (labels.min() < 0 or labels.max() >= len(cat_ids)):
                raise ValueError(f'CocoMetric: img_id {p["img_id"]} has labels in '
                                 f'[{labels.min()}, {labels.max()}], outside the '
                                 f'{len(cat_ids)} categories')
            boxes = xyxy_to_xywh(p['bboxes'])
            for i, label in enumerate(labels.tolist()):
                entry = dict(image_id=p['img_id'], bbox=boxes[i], score=float(p['scores'][i]),
                             category_id=cat_ids[label])
                out['bbox'].append(entry)
                if 'segm' in out:
                    score = float(p.get('mask_scores', p['scores'])[i])
                    out['segm'].append(dict(entry, score=score, segmentation=p['masks'][i]))
        if 'keypoints' in out:
            out['keypoints'] = keypoint_results(preds, cat_ids)
        return out

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Write / evaluate the COCO results of the whole data set.

        Args:
            results (list): What :meth:`process` appended, gathered from all ranks.

        Returns:
            dict[str, float]: See the class doc; ``{}`` with ``format_only``.
        """
        gts, preds = zip(*results) if results else ((), ())
        api = self._coco_api
        if api is None:
            classes = (self.dataset_meta or {}).get('classes')
            if classes is None:
                raise RuntimeError("CocoMetric without ann_file needs dataset_meta['classes'] "
                                   'to name the categories of the converted ground truth')
            gt_dict = gt_to_coco_dict(gts, classes)
            if self.outfile_prefix is not None and not self.format_only:
                self._dump(gt_dict, f'{self.outfile_prefix}.gt.json')
            api = COCO()
            api.dataset = gt_dict
            _quiet(api.createIndex)
        cat_ids = self._cat_ids(api)
        dets = self.results_to_json(preds, cat_ids)
        if self.outfile_prefix is not None:
            for kind, entries in dets.items():
                self._dump(entries, f'{self.outfile_prefix}.{kind}.json')
        if self.format_only:
            print_log(f'CocoMetric: format_only, results written to '
                      f'{osp.abspath(self.outfile_prefix)}.{{{",".join(dets)}}}.json; '
                      'evaluation skipped', logger='current')
            return {}
        unknown = {d['image_id'] for d in dets['bbox']} - set(api.getImgIds())
        if unknown:
            raise KeyError(f'CocoMetric: predicted img_ids {sorted(unknown)[:10]} are not '
                           f'images of {self.ann_file or "the ground truth"}')
        eval_results: Dict[str, float] = {}
        for metric in self.metrics:
            if metric == 'proposal_fast':
                eval_results.update(self._fast_recall(api, preds))
                continue
            if metric == 'keypoints':
                eval_results.update(self._evaluate_keypoints(api, dets, cat_ids))
                continue
            iou_type = 'bbox' if metric == 'proposal' else metric
            if iou_type not in dets:
                raise KeyError("CocoMetric: metric 'segm' needs predicted masks; "
                               "pred_instances have no 'masks'")
            eval_results.update(self._evaluate(api, dets[iou_type], metric, cat_ids))
        return eval_results

    def _dump(self, obj: Any, path: str) -> None:
        if osp.dirname(path):
            os.makedirs(osp.dirname(path), exist_ok=True)
        dump(obj, path, backend_args=self.backend_args)

    def _fast_recall(self, api: COCO, preds: Sequence[dict]) -> Dict[str, float]:
        """mmdet's ``fast_eval_recall``: ``AR@{n}`` of the predicted boxes, class-agnostic.

        Every image of the ground truth counts (one without predictions has no proposals);
        its boxes are taken in the predicted order (the model ranks them), crowd / ignored
        ground truth is left out.
        """
        print_log('Evaluating proposal_fast...', logger='current')
        img_ids = api.getImgIds()
        boxes_of = {p['img_id']: p['bboxes'] for p in preds}
        gts = [coco_gt_boxes(api, img_id) for img_id in img_ids]
        proposals = [boxes_of.get(img_id, np.zeros((0, 4))) for img_id in img_ids]
        recalls = eval_recalls(gts, proposals, self.proposal_nums,
                               iou_thr_array(self.iou_thrs), logger='current')
        ar = recalls.mean(axis=1)  # (P,): mean over the IoU thresholds
        print_log(''.join(f'\nAR@{n}\t{v:.4f}' for n, v in zip(self.proposal_nums, ar)),
                  logger='current')
        return {f'AR@{n}': float(v) for n, v in zip(self.proposal_nums, ar)}

    def _evaluate_keypoints(self, api: COCO, dets: Dict[str, List[dict]],
                            cat_ids: List[int]) -> Dict[str, float]:
        """OKS AP / AR of the keypoint results (see the class docstring)."""
        items = ([i for i in self.metric_items if i in KEYPOINT_ITEM_INDEX]
                 if self.metric_items else list(KEYPOINT_ITEMS[:5]))
        if 'keypoints' not in dets:
            raise KeyError("CocoMetric: metric 'keypoints' needs predicted keypoints; "
                           "pred_instances have no 'keypoints'")
        kp_cats = keypoint_cat_ids(api, cat_ids)
        if not kp_cats:
            raise ValueError(f'CocoMetric: no category of {self.ann_file} in use defines '
                             f'keypoints; keypoint evaluation needs a person_keypoints json')
        sigmas = (self.dataset_meta or {}).get('sigmas')
        if sigmas is None:
            raise KeyError("CocoMetric(metric='keypoints') needs dataset_meta['sigmas'], the "
                           "data set's per-keypoint OKS constants (CocoDataset sets COCO's for "
                           'the 17 person keypoints; give metainfo=dict(sigmas=...) otherwise)')
        if not dets['keypoints']:
            print_log('CocoMetric: no keypoint detections in the whole data set; reporting 0',
                      logger='current', level=logging.WARNING)
            return {f'keypoints_{item}': 0.0 for item in items}
        coco_eval = _quiet(evaluate_keypoints, api, dets['keypoints'], sigmas, kp_cats,
                           iou_thr_array(self.iou_thrs))
        summary = io.StringIO()
        with contextlib.redirect_stdout(summary):
            coco_eval.summarize()
        print_log('Evaluating keypoints...\n' + summary.getvalue().rstrip(), logger='current')
        return keypoint_stats(coco_eval, items)

    def _evaluate(self, api: COCO, dets: List[dict], metric: str,
                  cat_ids: List[int]) -> Dict[str, float]:
        """Run ``COCOeval`` for one metric and return its items."""
        items = ([i for i in self.metric_items if i in self.item_index] if self.metric_items
                 else list(self.item_index)[6:] if metric == 'proposal' else list(_AP_ITEMS))
        key = (lambda item: item) if metric == 'proposal' else (lambda item: f'{metric}_{item}')
        if not dets:
            # loadRes cannot take an empty list; nothing detected means zero AP and AR.
            print_log(f'CocoMetric: no {metric} detections in the whole data set; '
                      'reporting 0', logger='current', level=logging.WARNING)
            return {key(item): 0.0 for item in items}
        # loadRes writes into the entries: give it copies. Without 'bbox', it takes a segm
        # result's area from the mask (not the box), which decides small / medium / large.
        dets = [{k: v for k, v in d.items() if not (metric == 'segm' and k == 'bbox')}
                for d in dets]
        coco_eval = COCOeval(api, _quiet(api.loadRes, dets), metric if metric == 'segm'
                             else 'bbox')
        params = coco_eval.params
        params.catIds, params.imgIds = list(cat_ids), api.getImgIds()
        iou_thrs = iou_thr_array(self.iou_thrs)
        params.maxDets, params.iouThrs = list(self.proposal_nums), iou_thrs
        if metric == 'proposal':
            params.useCats = 0
        _quiet(coco_eval.evaluate)
        _quiet(coco_eval.accumulate)
        summary = io.StringIO()
        with contextlib.redirect_stdout(summary):
            coco_eval.summarize()
        print_log(f'Evaluating {metric}...\n' + summary.getvalue().rstrip(), logger='current')
        out: Dict[str, float] = {}
        class_ap: Dict[str, float] = {}
        if metric != 'proposal' and self.classwise:
            names = [api.loadCats(c)[0]['name'] for c in cat_ids]
            # evaluate() sorted params.catIds (np.unique): the K axis of 'precision' is in
            # sorted-id order, not in label order; take each label's column.
            order = [list(params.catIds).index(c) for c in cat_ids]
            table, class_ap = class_ap_table(coco_eval.eval['precision'][:, :, order], names,
                                             iou_thrs)
            print_log('\n' + table, logger='current')
            # mmdet's keys first (its order), without the metric: 'segm' overwrites 'bbox'.
            out.update({f'{n}_precision': v for n, v in class_ap.items()})
        out.update({key(item): round(float(coco_eval.stats[self.item_index[item]]), 3)
                    for item in items})
        out.update({f'{metric}_{n}_precision': v for n, v in class_ap.items()})
        if metric != 'proposal':
            ap = coco_eval.stats[:6]
            print_log(f'{metric}_mAP_copypaste: ' + ' '.join(f'{v:.3f}' for v in ap),
                      logger='current')
        return out


def class_ap_table(precision: np.ndarray, names: Sequence[str],
                   iou_thrs: np.ndarray) -> Tuple[str, Dict[str, float]]:
    """Per-class AP from ``COCOeval.eval['precision']``.

    Args:
        precision (np.ndarray): (T, R, K, A, M) precision, -1 where undefined; A = (all,
            small, medium, large), the last of M is the largest ``maxDets``.
        names (Sequence[str]): K class names.
        iou_thrs (np.ndarray): (T,) IoU thresholds, to find the 0.5 and 0.75 columns.

    Returns:
        tuple[str, dict[str, float]]: The AsciiTable (columns category, mAP, mAP_50, mAP_75,
        mAP_s, mAP_m, mAP_l; 'nan' where undefined) and class name -> mAP rounded to 3.
    """
    def mean(p: np.ndarray) -> float:
        p = p[p > -1]
        return float(np.mean(p)) if p.size else float('nan')

    def at_iou(thr: float) -> Optional[int]:
        hits = np.flatnonzero(np.isclose(iou_thrs, thr))
        return int(hits[0]) if hits.size else None

    rows, class_ap = [], {}
    for k, name in enumerate(names):
        values = [mean(precision[:, :, k, 0, -1])]
        for t in (at_iou(0.5), at_iou(0.75)):
            values.append(float('nan') if t is None else mean(precision[t, :, k, 0, -1]))
        values += [mean(precision[:, :, k, a, -1]) for a in (1, 2, 3)]
        class_ap[name] = round(values[0], 3)
        rows.append([name, *(f'{v:.3f}' for v in values)])
    return AsciiTable([['category', *_AP_ITEMS], *rows]).table, class_ap
