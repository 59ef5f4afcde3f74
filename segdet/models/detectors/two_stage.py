"""Two-stage detectors: backbone (+ neck) -> RPN -> RoI head (Faster R-CNN, Mask R-CNN)."""
import copy
from typing import Optional, Union

import torch
from mmengine.config import ConfigDict
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.structures.bbox import bbox2roi


def undo_flip(results: InstanceData, meta: dict) -> InstanceData:
    """Map detections on a flipped image back to the unflipped original (boxes and masks).

    Args:
        results: ``bboxes`` (N, 4) and optional ``masks`` (N, H, W) at ``meta['ori_shape']``.
        meta: Image metainfo with ``flip`` / ``flip_direction``.
    """
    if not meta.get('flip', False):
        return results
    h, w = meta['ori_shape'][:2]
    direction = meta.get('flip_direction', 'horizontal')
    boxes = results.bboxes.clone()
    if direction in ('horizontal', 'diagonal'):
        boxes[:, [0, 2]] = w - results.bboxes[:, [2, 0]]
    if direction in ('vertical', 'diagonal'):
        boxes[:, [1, 3]] = h - results.bboxes[:, [3, 1]]
    if direction not in ('horizontal', 'vertical', 'diagonal'):
        raise ValueError(f'unknown flip_direction {direction!r} in the metainfo of '
                         f'{meta.get("img_path")}')
    results.bboxes = boxes
    if 'masks' in results:
        dims = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}[direction]
        results.masks = results.masks.flip(dims=dims)
    return results


@MODELS.register_module()
class TwoStageDetector(BaseModel):
    """``extract_feat`` -> ``rpn_head`` proposals -> ``roi_head`` detections.

    Args:
        backbone, neck, rpn_head, roi_head: ``MODELS`` configs; ``train_cfg.rpn`` /
            ``test_cfg.rpn`` go to the RPN head, ``train_cfg.rcnn`` / ``test_cfg.rcnn`` to the
            RoI head (mmdetection's layout).
        train_cfg: Also ``rpn_proposal``: proposal settings used while training.
        data_preprocessor: e.g. ``DetDataPreprocessor``.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 rpn_head: Optional[dict] = None, roi_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        train_cfg = ConfigDict(train_cfg or {})
        test_cfg = ConfigDict(test_cfg or {})
        if rpn_head is None or roi_head is None:
            raise ValueError(f'{type(self).__name__} needs rpn_head and roi_head')
        rpn = copy.deepcopy(dict(rpn_head))
        rpn.update(train_cfg=train_cfg.get('rpn'), test_cfg=test_cfg.get('rpn'))
        self.rpn_head = MODELS.build(rpn)
        roi = copy.deepcopy(dict(roi_head))
        roi.update(train_cfg=train_cfg.get('rcnn'), test_cfg=test_cfg.get('rcnn'))
        self.roi_head = MODELS.build(roi)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @property
    def with_neck(self) -> bool:
        return hasattr(self, 'neck')

    @property
    def with_mask(self) -> bool:
        return self.roi_head.with_mask

    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """(N, 3, H, W) images -> feature maps (after the neck, if any)."""
        x = self.backbone(inputs)
        return tuple(self.neck(x)) if self.with_neck else tuple(x)

    def forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[dict, SampleList, tuple]:
        """``mode='loss'``: dict of losses; ``'predict'``: samples with ``pred_instances``;
        ``'tensor'``: raw head outputs."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f"Invalid mode {mode!r}: use 'loss', 'predict' or 'tensor'")

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """RPN losses (``loss_rpn_cls``, ``loss_rpn_bbox``) and RoI losses (``loss_cls``,
        ``acc``, ``loss_bbox``, ``loss_mask``)."""
        x = self.extract_feat(inputs)
        proposal_cfg = self.train_cfg.get('rpn_proposal', self.test_cfg.get('rpn'))
        losses, proposals = self.rpn_head.loss_and_predict(x, data_samples, proposal_cfg)
        for p in proposals:
            p.bboxes = p.bboxes.detach()
        losses.update(self.roi_head.loss(x, proposals, data_samples))
        return losses

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: SampleList, rescale: bool = True
                ) -> SampleList:
        """New samples (the inputs' fields shared, not copied) with ``pred_instances``:
        ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,) and, for Mask R-CNN, ``masks``
        (N, H, W) bool; at the original image size (resize and flip undone) when ``rescale``."""
        x = self.extract_feat(inputs)
        proposals = self.rpn_head.predict(x, data_samples, rescale=False)
        results = self.roi_head.predict(x, proposals, data_samples, rescale=rescale)
        outputs = []
        for sample, res in zip(data_samples, results):
            new = sample.new()
            new.pred_instances = undo_flip(res, sample.metainfo) if rescale else res
            outputs.append(new)
        return outputs

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> tuple:
        """Features, RPN outputs and the box-head outputs of the test-time proposals."""
        x = self.extract_feat(inputs)
        rpn_outs = self.rpn_head(x)
        if data_samples is None:
            return x, rpn_outs
        proposals = self.rpn_head.predict(x, data_samples, rescale=False)
        rois = bbox2roi([p.bboxes for p in proposals])
        roi_outs = self.roi_head._bbox_forward(x, rois)
        return rpn_outs, (roi_outs['cls_score'], roi_outs['bbox_pred'])


@MODELS.register_module()
class FasterRCNN(TwoStageDetector):
    """Faster R-CNN (Ren et al. 2015): a ``TwoStageDetector`` whose RoI head has no mask head."""


@MODELS.register_module()
class MaskRCNN(TwoStageDetector):
    """Mask R-CNN (He et al. 2017): a ``TwoStageDetector`` whose RoI head has a mask head."""
