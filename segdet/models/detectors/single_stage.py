"""Single-stage detectors: backbone (+ neck) -> one dense head (RetinaNet-style)."""
import copy
from typing import Optional, Union

import torch
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures import SampleList

from .base import BaseDetector


@MODELS.register_module()
class SingleStageDetector(BaseDetector):
    """``extract_feat`` -> ``bbox_head`` (a dense head, e.g. an ``AnchorHead`` subclass).

    Args:
        backbone, neck, bbox_head: ``MODELS`` configs. ``train_cfg`` and ``test_cfg`` are given
            to the head whole (mmdetection's layout for one-stage detectors).
        data_preprocessor: e.g. ``DetDataPreprocessor``.
    """

    def __init__(self, backbone: dict, neck: Optional[dict] = None,
                 bbox_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if bbox_head is None:
            raise ValueError(f'{type(self).__name__} needs a bbox_head')
        self.backbone = MODELS.build(backbone)
        if neck is not None:
            self.neck = MODELS.build(neck)
        head = copy.deepcopy(dict(bbox_head))
        head.update(train_cfg=train_cfg, test_cfg=test_cfg)
        self.bbox_head = MODELS.build(head)
        self.train_cfg = train_cfg
        self.test_cfg = test_cfg

    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """(N, 3, H, W) images -> feature maps (after the neck, if any)."""
        x = self.backbone(inputs)
        return tuple(self.neck(x)) if self.with_neck else tuple(x)

    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """The dense head's losses (e.g. ``loss_cls``, ``loss_bbox``)."""
        return self.bbox_head.loss(self.extract_feat(inputs), data_samples)

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: SampleList, rescale: bool = True
                ) -> SampleList:
        """New samples with ``pred_instances`` (``bboxes`` (N, 4), ``scores`` (N,), ``labels``
        (N,)), at the original image size (resize and flip undone) when ``rescale``."""
        results = self.bbox_head.predict(self.extract_feat(inputs), data_samples,
                                         rescale=rescale)
        return self.add_pred_to_datasample(data_samples, results, undo_flips=rescale)

    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> tuple:
        """The dense head's raw outputs, e.g. ``(cls_scores, bbox_preds)`` per level."""
        return self.bbox_head.forward(self.extract_feat(inputs))
