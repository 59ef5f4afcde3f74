"""DeltaXYWHBBoxCoder: boxes <-> normalised (dx, dy, dw, dh) regression targets."""
from typing import Optional, Sequence, Union

import torch
from torch import Tensor

from segdet.registry import TASK_UTILS
from segdet.structures.bbox import bbox_to_delta, delta_to_bbox


@TASK_UTILS.register_module()
class DeltaXYWHBBoxCoder:
    """mmdetection's delta coder (R-CNN parameterisation), over :func:`bbox_to_delta` and
    :func:`delta_to_bbox`.

    Args:
        target_means, target_stds: Normalisation of the deltas (RPN: 0s and 1s; the R-CNN box
            head: 0s and (0.1, 0.1, 0.2, 0.2)).
        clip_border: Clip decoded boxes to the image.
        add_ctr_clamp, ctr_clamp: Clamp the decoded centre shift to +-ctr_clamp pixels.
    """

    encode_size = 4

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.), clip_border: bool = True,
                 add_ctr_clamp: bool = False, ctr_clamp: int = 32,
                 use_box_type: bool = False) -> None:
        if use_box_type:
            raise NotImplementedError('DeltaXYWHBBoxCoder: segdet works on plain (N, 4) '
                                      'tensors; use_box_type=True is not supported')
        self.means = tuple(float(m) for m in target_means)
        self.stds = tuple(float(s) for s in target_stds)
        self.clip_border = clip_border
        self.add_ctr_clamp = add_ctr_clamp
        self.ctr_clamp = ctr_clamp

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """(N, 4) boxes and their (N, 4) targets -> (N, 4) normalised deltas."""
        if bboxes.shape[0] != gt_bboxes.shape[0] or bboxes.shape[-1] != 4:
            raise ValueError(f'DeltaXYWHBBoxCoder.encode: need (N, 4) and (N, 4), got '
                             f'{tuple(bboxes.shape)} and {tuple(gt_bboxes.shape)}')
        return bbox_to_delta(bboxes, gt_bboxes, self.means, self.stds)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor,
               max_shape: Optional[Union[Sequence[int], Sequence[Sequence[int]], Tensor]] = None,
               wh_ratio_clip: float = 16 / 1000) -> Tensor:
        """Apply deltas to boxes.

        Args:
            bboxes: (N, 4) boxes, or (B, N, 4) for a batch.
            pred_bboxes: (N, 4k) deltas, or (B, N, 4k) for a batch.
            max_shape: (H, W) to clip to; for a batch either one (H, W) for all images or one
                per image (a sequence of B (H, W), or a (B, 2) tensor).
            wh_ratio_clip: Clamp of the log size change (see :func:`delta_to_bbox`).

        Returns:
            (N, 4k) boxes, or (B, N, 4k) for a batch.
        """
        if pred_bboxes.dim() == 3:
            return self._decode_batch(bboxes, pred_bboxes, max_shape, wh_ratio_clip)
        if pred_bboxes.shape[0] != bboxes.shape[0]:
            raise ValueError(f'DeltaXYWHBBoxCoder.decode: {bboxes.shape[0]} boxes but '
                             f'{pred_bboxes.shape[0]} rows of deltas')
        return delta_to_bbox(bboxes, pred_bboxes, self.means, self.stds, max_shape,
                             wh_ratio_clip, self.clip_border, self.add_ctr_clamp,
                             self.ctr_clamp)

    def _decode_batch(self, bboxes: Tensor, pred_bboxes: Tensor,
                      max_shape: Optional[Union[Sequence, Tensor]],
                      wh_ratio_clip: float) -> Tensor:
        """(B, N, 4) boxes and (B, N, 4k) deltas -> (B, N, 4k) boxes, clipped per image."""
        if bboxes.shape[:2] != pred_bboxes.shape[:2] or bboxes.dim() != 3:
            raise ValueError('DeltaXYWHBBoxCoder.decode: batched decoding needs (B, N, 4) boxes '
                             f'and (B, N, 4k) deltas, got {tuple(bboxes.shape)} and '
                             f'{tuple(pred_bboxes.shape)}')
        num_imgs, num = pred_bboxes.shape[:2]
        decoded = delta_to_bbox(bboxes.reshape(-1, 4), pred_bboxes.reshape(num_imgs * num, -1),
                                self.means, self.stds, None, wh_ratio_clip, False,
                                self.add_ctr_clamp, self.ctr_clamp)
        decoded = decoded.reshape(num_imgs, num, -1)
        if not self.clip_border or max_shape is None:
            return decoded
        shapes = torch.as_tensor(max_shape, dtype=decoded.dtype, device=decoded.device)
        shapes = shapes[..., :2]
        if shapes.dim() == 1:
            shapes = shapes.expand(num_imgs, 2)
        if shapes.shape[0] != num_imgs:
            raise ValueError(f'DeltaXYWHBBoxCoder.decode: {shapes.shape[0]} image shapes for a '
                             f'batch of {num_imgs}')
        upper = shapes.flip(-1).repeat(1, decoded.shape[-1] // 2)[:, None, :]  # (w, h, ...)
        return torch.min(decoded.clamp(min=0), upper)
