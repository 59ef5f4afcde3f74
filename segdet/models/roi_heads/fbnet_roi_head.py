"""FBNetRoIHead: StandardRoIHead whose mask branch has its own RoI features and blocks."""
from typing import Optional, Sequence

from torch import Tensor

from segdet.registry import MODELS

from .standard_roi_head import StandardRoIHead


@MODELS.register_module()
class FBNetRoIHead(StandardRoIHead):
    """The second stage of maskrcnn-benchmark's FBNet Mask R-CNN models.

    The box branch is ``StandardRoIHead``'s: RoIs pooled to 6x6 from the trunk, the arch's
    box blocks as ``shared_head`` (``FBNetHeadStage``), then ``BBoxHead``. The mask branch
    pools its own 6x6 RoI features with ``mask_roi_extractor`` and runs the arch's mask blocks
    inside ``FBNetMaskHead``; unlike ``StandardRoIHead`` (mmdetection's C4 semantics), it does
    not pass the mask RoI features through the box branch's ``shared_head``
    (maskrcnn-benchmark's ``SHARE_BOX_FEATURE_EXTRACTOR: False``). Without a
    ``mask_roi_extractor`` the mask head reads the box branch's shared-head output of the
    positive RoIs, as in ``StandardRoIHead``.

    Args: as ``StandardRoIHead``.
    """

    def _mask_forward(self, x: Sequence[Tensor], rois: Optional[Tensor] = None,
                      pos_inds: Optional[Tensor] = None,
                      bbox_feats: Optional[Tensor] = None) -> dict:
        """``mask_preds`` (P, C, M, M) of RoIs (P, 5) pooled by the mask extractor (no shared
        head), or of the ``pos_inds`` rows of ``bbox_feats`` when the extractor is shared."""
        if rois is None or self.share_roi_extractor:
            return super()._mask_forward(x, rois, pos_inds, bbox_feats)
        feats = self.mask_roi_extractor(x[:self.mask_roi_extractor.num_inputs], rois)
        return dict(mask_preds=self.mask_head(feats), mask_feats=feats)
