"""Two-stage detectors: backbone (+ neck) -> RPN -> RoI head (Faster R-CNN, Mask R-CNN)."""
import copy
from typing import Optional, Union

import torch
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils import as_config_dict

from .base import BaseDetector


@MODELS.register_module()
class TwoStageDetector(BaseDetector):
    """``extract_feat`` -> ``rpn_head`` proposals -> ``roi_head`` detections.

    Args:
        backbone, neck, rpn_head, roi_head: ``MODELS`` configs; ``train_cfg.rpn`` /
            ``test_cfg.rpn`` go to the RPN head, ``train_cfg.rcnn`` / ``test_cfg.rcnn`` to the
            RoI head (mmdetection's layout). The configs passed in are not modified.
        train_cfg: Also ``rpn_proposal``: proposal settings used while training.
        data_preprocessor: e.g. ``DetDataPreprocessor``.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 rpn_head: Optional[dict] = None, roi_head: Optional[dict] = None,
                 train_cfg: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if rpn_head is None or roi_head is None:
            raise ValueError(f'{type(self).__name__} needs rpn_head and roi_head')
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        train_cfg = as_config_dict(train_cfg or {}, 'train_cfg')
        test_cfg = as_config_dict(test_cfg or {}, 'test_cfg')
        rpn = copy.deepcopy(dict(rpn_head))
        rpn.update(train_cfg=train_cfg.get('rpn'), test_cfg=test_cfg.get('rpn'))
        self.rpn_head = MODELS.build(rpn)
        roi = copy.deepcopy(dict(roi_head))
        roi.update(train_cfg=train_cfg.get('rcnn'), test_cfg=test_cfg.get('rcnn'))
        self.roi_head = MODELS.build(roi)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    @property
    def with_rpn(self) -> bool:
        return getattr(self, 'rpn_head', None) is not None

    @property
    def with_roi_head(self) -> bool:
        return getattr(self, 'roi_head', None) is not None

    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """(N, 3, H, W) images -> feature maps (after the neck, if any)."""
        x = self.backbone(inputs)
        return tuple(self.neck(x)) if self.with_neck else tuple(x)

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
        return self.add_pred_to_datasample(data_samples, results, undo_flips=rescale)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> tuple:
        """Raw outputs. Without samples: ``(features, rpn_outs)``. With samples (their metainfo
        places the proposals): ``(rpn_outs, roi_outs)``, where ``rpn_outs`` is the RPN's
        ``(cls_scores, bbox_preds)`` per level and ``roi_outs`` is ``roi_head.forward``'s tuple
        (``cls_score``, ``bbox_pred`` and, with a mask head, ``mask_preds``; with a keypoint
        head, its heatmaps last)."""
        x = self.extract_feat(inputs)
        rpn_outs = self.rpn_head(x)
        if data_samples is None:
            return x, rpn_outs
        proposals = self.rpn_head.predict(x, data_samples, rescale=False)
        return rpn_outs, self.roi_head.forward(x, proposals, data_samples)


@MODELS.register_module()
class FasterRCNN(TwoStageDetector):
    """Faster R-CNN (Ren et al. 2015): a ``TwoStageDetector`` whose RoI head has no mask head."""


@MODELS.register_module()
class MaskRCNN(TwoStageDetector):
    """Mask R-CNN (He et al. 2017): a ``TwoStageDetector`` whose RoI head has a mask head."""


@MODELS.register_module()
class KeypointRCNN(TwoStageDetector):
    """Keypoint R-CNN (He et al. 2017): a ``TwoStageDetector`` whose RoI head is a
    ``KeypointRoIHead`` (box head plus keypoint heatmaps; a mask head optional)."""
