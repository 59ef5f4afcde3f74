"""KeypointRoIHead: Faster / Mask R-CNN's RoI head plus a keypoint branch (Keypoint R-CNN)."""
from typing import Optional, Sequence

from mmengine.structures import InstanceData
from torch import Tensor

from segdet.registry import MODELS
from segdet.structures import SampleList
from segdet.structures.bbox import bbox2roi, boxes_to_original

from .standard_roi_head import StandardRoIHead


def keypoints_to_original(keypoints: Tensor, meta: dict) -> Tensor:
    """(N, K, 2) keypoints in network-input pixels -> original-image pixels (divided by the
    image's ``scale_factor``)."""
    sw, sh = meta.get('scale_factor', (1.0, 1.0))[:2]
    return keypoints / keypoints.new_tensor([sw, sh])


@MODELS.register_module()
class KeypointRoIHead(StandardRoIHead):
    """The standard RoI head with a keypoint branch on its own RoI features.

    Training: the keypoint branch sees the positive sampled RoIs whose matched ground truth
    has at least one labelled keypoint inside the RoI (the others would add nothing to the
    loss; maskrcnn-benchmark drops them too). Inference: it runs on the final detections.

    Args:
        keypoint_roi_extractor: RoI features for the keypoint head (14x14 in the reference).
        keypoint_head: ``KeypointRCNNHead`` config.
        **kwargs: ``StandardRoIHead``'s arguments (box branch, optional mask branch, train
            and test configs).
    """

    def __init__(self, keypoint_roi_extractor: Optional[dict] = None,
                 keypoint_head: Optional[dict] = None, **kwargs) -> None:
        super().__init__(**kwargs)
        if keypoint_head is None or keypoint_roi_extractor is None:
            raise ValueError('KeypointRoIHead needs keypoint_roi_extractor and keypoint_head')
        self.keypoint_roi_extractor = MODELS.build(keypoint_roi_extractor)
        self.keypoint_head = MODELS.build(keypoint_head)

    @property
    def with_keypoint(self) -> bool:
        return True

    def _keypoint_forward(self, x: Sequence[Tensor], rois: Tensor) -> Tensor:
        """(R, 5) RoIs -> (R, K, M, M) heatmap logits."""
        feats = self.keypoint_roi_extractor(x[:self.keypoint_roi_extractor.num_inputs], rois)
        return self.keypoint_head(feats)

    def forward(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
                batch_data_samples: Optional[SampleList] = None) -> tuple:
        """``StandardRoIHead.forward``'s outputs plus the heatmaps of the first
        ``test_cfg.max_per_img`` (default 100) proposals."""
        results = super().forward(x, rpn_results_list, batch_data_samples)
        rois = bbox2roi([res.bboxes for res in rpn_results_list])
        max_per_img = (self.test_cfg or {}).get('max_per_img', 100)
        return results + (self._keypoint_forward(x, rois[:max_per_img]), )

    # ----------------------------------------------------------------------------- training
    def loss_of_samples(self, x: Sequence[Tensor], sampling_results: list,
                        batch_gt_instances: list[InstanceData]) -> dict:
        """Box (and mask) losses plus ``loss_keypoint``."""
        losses = super().loss_of_samples(x, sampling_results, batch_gt_instances)
        losses.update(self.keypoint_loss(x, sampling_results, batch_gt_instances))
        return losses

    def keypoint_loss(self, x: Sequence[Tensor], sampling_results: list,
                      batch_gt_instances: list[InstanceData]) -> dict:
        """``loss_keypoint`` of the positive RoIs that have a valid keypoint target."""
        rois_list, keypoints_list = [], []
        for res, gt in zip(sampling_results, batch_gt_instances):
            if 'keypoints' not in gt:
                raise KeyError('KeypointRoIHead: gt_instances has no keypoints; load them with '
                               'LoadAnnotations(with_keypoints=True) and a person_keypoints '
                               'annotation file')
            rois_list.append(res.pos_priors)
            keypoints_list.append(gt.keypoints[res.pos_assigned_gt_inds])
        size = self.keypoint_head.heatmap_size(self.keypoint_roi_extractor.output_size[0])
        targets, valid = self.keypoint_head.get_targets(rois_list, keypoints_list, size)
        keep = valid.any(dim=1)
        # With no labelled keypoint in any positive RoI the loss is a zero that still reaches
        # every parameter of the branch (distributed training sees the same graph).
        heatmaps = self._keypoint_forward(x, bbox2roi(rois_list)[keep])
        return self.keypoint_head.loss(heatmaps, targets[keep], valid[keep])

    # ---------------------------------------------------------------------------- inference
    def predict(self, x: Sequence[Tensor], rpn_results_list: list[InstanceData],
                batch_data_samples: SampleList, rescale: bool = False) -> list[InstanceData]:
        """Detections with ``keypoints`` (N, K, 2) and ``keypoint_scores`` (N, K) (and
        ``masks`` with a mask head); in original-image pixels when ``rescale``."""
        metas = [s.metainfo for s in batch_data_samples]
        results = self.predict_bbox(x, metas, rpn_results_list, self.test_cfg, rescale=False)
        results = self.predict_keypoints(x, metas, results, rescale=rescale)
        if self.with_mask:
            return self.predict_mask(x, metas, results, rescale=rescale)
        if rescale:
            for res, meta in zip(results, metas):
                res.bboxes = boxes_to_original(res.bboxes, meta)
        return results

    def predict_keypoints(self, x: Sequence[Tensor], batch_img_metas: list[dict],
                          results_list: list[InstanceData], rescale: bool = False
                          ) -> list[InstanceData]:
        """Add ``keypoints`` and ``keypoint_scores`` to detections whose boxes are in input
        pixels (the boxes are left there); keypoints in original pixels with ``rescale``."""
        rois = bbox2roi([res.bboxes for res in results_list])
        counts = [len(res) for res in results_list]
        k = self.keypoint_head.num_keypoints
        heatmaps = (self._keypoint_forward(x, rois) if rois.shape[0]
                    else rois.new_zeros((0, k, 1, 1))).split(counts)
        for res, maps, meta in zip(results_list, heatmaps, batch_img_metas):
            self.keypoint_head.predict_by_feat(maps, res)
            if rescale:
                res.keypoints = keypoints_to_original(res.keypoints, meta)
        return results_list
