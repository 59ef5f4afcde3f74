"""BaseRoIHead: what every second-stage (RoI) head of a two-stage detector shares.

Call graph::

    loss(x, proposals, samples):    sample RoIs -> bbox_loss() [-> mask_loss()]
    predict(x, proposals, samples): predict_bbox() [-> predict_mask()]
    forward(x, proposals, samples): raw box (and mask) head outputs, no post-processing

A subclass builds its branches in ``init_bbox_head`` / ``init_mask_head`` and its training
helpers in ``init_assigner_sampler``, and implements ``forward``, ``loss``,
``predict_bbox`` and ``predict_mask``.
"""
from abc import ABCMeta, abstractmethod
from typing import Optional, Sequence, Union

from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.utils import as_config_dict


class BaseRoIHead(BaseModule, metaclass=ABCMeta):
    """Base of RoI heads.

    Args:
        bbox_roi_extractor, bbox_head: Box branch configs.
        mask_roi_extractor, mask_head: Mask branch configs (optional).
        shared_head: Run on RoI features before the branches (``ResLayer`` for C4).
        train_cfg: The detector's ``train_cfg.rcnn`` (assigner, sampler, ...).
        test_cfg: The detector's ``test_cfg.rcnn`` (score_thr, nms, max_per_img, ...).
        init_cfg: Weight initialisation config.
    """

    def __init__(self, bbox_roi_extractor: Optional[dict] = None,
                 bbox_head: Optional[dict] = None,
                 mask_roi_extractor: Optional[dict] = None, mask_head: Optional[dict] = None,
                 shared_head: Optional[dict] = None, train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(init_cfg)
        self.train_cfg = as_config_dict(train_cfg, 'train_cfg')
        self.test_cfg = as_config_dict(test_cfg, 'test_cfg')
        if shared_head is not None:
            self.shared_head = MODELS.build(shared_head)
        if bbox_head is not None:
            self.init_bbox_head(bbox_roi_extractor, bbox_head)
        if mask_head is not None:
            self.init_mask_head(mask_roi_extractor, mask_head)
        self.init_assigner_sampler()

    @property
    def with_bbox(self) -> bool:
        return getattr(self, 'bbox_head', None) is not None

    @property
    def with_mask(self) -> bool:
        return getattr(self, 'mask_head', None) is not None

    @property
    def with_shared_head(self) -> bool:
        return getattr(self, 'shared_head', None) is not None

    @abstractmethod
    def init_bbox_head(self, bbox_roi_extractor: Optional[dict], bbox_head: dict) -> None:
        """Build the box branch."""

    @abstractmethod
    def init_mask_head(self, mask_roi_extractor: Optional[dict], mask_head: dict) -> None:
        """Build the mask branch."""

    @abstractmethod
    def init_assigner_sampler(self) -> None:
        """Build the training assigner and sampler from ``train_cfg`` (if any)."""

    @abstractmethod
    def forward(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
                batch_data_samples: Optional[SampleList] = None) -> tuple:
        """Raw outputs of the branches on the proposals (no post-processing)."""

    @abstractmethod
    def loss(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
             batch_data_samples: SampleList) -> dict:
        """Losses of the sampled proposals against the samples' ``gt_instances``."""

    @abstractmethod
    def predict_bbox(self, x: Sequence[Tensor], batch_img_metas: list[dict],
                     rpn_results_list: list[InstanceData], rcnn_test_cfg: Optional[dict],
                     rescale: bool = False) -> list[InstanceData]:
        """Per-image detections (``bboxes``, ``scores``, ``labels``) from the proposals."""

    @abstractmethod
    def predict_mask(self, x: Sequence[Tensor], batch_img_metas: list[dict],
                     results_list: list[InstanceData], rescale: bool = False
                     ) -> list[InstanceData]:
        """The detections with ``masks`` (N, H, W) bool added."""

    def predict(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
                batch_data_samples: SampleList, rescale: bool = False) -> list[InstanceData]:
        """Detections of each image from its proposals.

        Args:
            x: Multi-level features.
            rpn_results_list: Per image ``bboxes`` (K, 4) proposals in input pixels.
            batch_data_samples: Samples with metainfo.
            rescale: Return boxes (and paste masks) in original-image pixels.

        Returns:
            Per image ``InstanceData`` with ``bboxes`` (N, 4), ``scores`` (N,), ``labels``
            (N,) and, with a mask head, ``masks`` (N, H, W) bool (H, W = ``ori_shape`` when
            ``rescale``, else ``img_shape``).
        """
        metas = [s.metainfo for s in batch_data_samples]
        # With a mask head the boxes stay in input pixels until the masks are pasted.
        results = self.predict_bbox(x, metas, rpn_results_list, self.test_cfg,
                                    rescale=rescale and not self.with_mask)
        if self.with_mask:
            results = self.predict_mask(x, metas, results, rescale=rescale)
        return results
