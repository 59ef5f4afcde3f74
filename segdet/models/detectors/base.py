"""BaseDetector: what every detector shares (forward modes, packing predictions into samples).

Call graph::

    forward(mode='loss')    -> loss()     -> dict of losses
    forward(mode='predict') -> predict()  -> add_pred_to_datasample() -> new samples
    forward(mode='tensor')  -> _forward() -> raw head outputs

A subclass builds its parts in ``__init__`` and implements ``extract_feat``, ``loss``,
``predict`` and ``_forward``.
"""
from abc import ABCMeta, abstractmethod
from typing import Optional, Union

from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import Tensor

from segdet.models.utils import dispatch_forward
from segdet.structures import SampleList

FLIP_DIMS = {'horizontal': (-1, ), 'vertical': (-2, ), 'diagonal': (-2, -1)}


def undo_flip(results: InstanceData, meta: dict) -> InstanceData:
    """Map detections on a flipped image back to the unflipped original (boxes, masks and
    keypoints).

    Args:
        results: ``bboxes`` (N, 4), optional ``masks`` (N, H, W) and optional ``keypoints``
            (N, K, 2) with ``keypoint_scores`` (N, K), at ``meta['ori_shape']``.
        meta: Image metainfo with ``flip`` / ``flip_direction`` (and ``flip_indices`` for
            keypoints).

    Returns:
        ``results`` itself when the image was not flipped, else it with boxes and masks
        flipped back.

    Raises:
        ValueError: an unknown ``flip_direction``.
    """
    if not meta.get('flip', False):
        return results
    h, w = meta['ori_shape'][:2]
    direction = meta.get('flip_direction', 'horizontal')
    if direction not in FLIP_DIMS:
        raise ValueError(f'unknown flip_direction {direction!r} in the metainfo of '
                         f'{meta.get("img_path")}')
    boxes = results.bboxes.clone()
    if direction in ('horizontal', 'diagonal'):
        boxes[:, [0, 2]] = w - results.bboxes[:, [2, 0]]
    if direction in ('vertical', 'diagonal'):
        boxes[:, [1, 3]] = h - results.bboxes[:, [3, 1]]
    results.bboxes = boxes
    if 'masks' in results:
        results.masks = results.masks.flip(dims=FLIP_DIMS[direction])
    if 'keypoints' in results:
        results.keypoints = unflip_keypoints(results.keypoints, (h, w), direction,
                                             meta.get('flip_indices'), meta.get('img_path'))
        if direction != 'diagonal':
            results.keypoint_scores = results.keypoint_scores[:, meta['flip_indices']]
    return results


def unflip_keypoints(keypoints: Tensor, ori_shape: tuple, direction: str,
                     flip_indices: Optional[list], where: object = None) -> Tensor:
    """(N, K, 2) keypoints predicted on a flipped view -> the unflipped image: coordinates
    mirrored in the (H, W) ``ori_shape`` and, for a horizontal or vertical flip, left and right
    swapped back (keypoint ``i`` becomes keypoint ``flip_indices[i]`` of the view)."""
    h, w = ori_shape
    out = keypoints.clone()
    if direction in ('horizontal', 'diagonal'):
        out[..., 0] = w - keypoints[..., 0]
    if direction in ('vertical', 'diagonal'):
        out[..., 1] = h - keypoints[..., 1]
    if direction == 'diagonal':  # a 180 degree rotation keeps left and right
        return out
    if flip_indices is None:
        raise ValueError(f'keypoints predicted on a {direction}ly flipped view of {where} need '
                         "flip_indices in its metainfo to swap left and right back (the data "
                         "set's metainfo gives them)")
    return out[:, list(flip_indices)]


class BaseDetector(BaseModel, metaclass=ABCMeta):
    """Detector base: ``forward(mode='loss'|'predict'|'tensor')`` and prediction packing.

    Args:
        data_preprocessor: Config of the data preprocessor (e.g. ``DetDataPreprocessor``).
        init_cfg: Weight initialisation config.
    """

    def __init__(self, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[Union[dict, list]] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)

    @property
    def with_neck(self) -> bool:
        return getattr(self, 'neck', None) is not None

    @property
    def with_shared_head(self) -> bool:
        """Whether the RoI head runs a shared head (the C4 ResLayer) before its branches."""
        roi_head = getattr(self, 'roi_head', None)
        return roi_head is not None and roi_head.with_shared_head

    @property
    def with_bbox(self) -> bool:
        roi_head = getattr(self, 'roi_head', None)
        return ((roi_head is not None and roi_head.with_bbox)
                or getattr(self, 'bbox_head', None) is not None)

    @property
    def with_mask(self) -> bool:
        roi_head = getattr(self, 'roi_head', None)
        return ((roi_head is not None and roi_head.with_mask)
                or getattr(self, 'mask_head', None) is not None)

    def forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None,
                mode: str = 'tensor') -> Union[dict, SampleList, tuple]:
        """Dispatch on ``mode`` (see :func:`segdet.models.utils.dispatch_forward`).

        Args:
            inputs: (N, 3, H, W) preprocessed images.
            data_samples: Samples with metainfo (and ``gt_instances`` for 'loss').
            mode: 'loss' -> dict of losses; 'predict' -> list of new samples with
                ``pred_instances``; 'tensor' -> raw head outputs.
        """
        return dispatch_forward(self, inputs, data_samples, mode)

    @abstractmethod
    def extract_feat(self, inputs: Tensor) -> tuple[Tensor, ...]:
        """(N, 3, H, W) images -> multi-level features (after the neck, if any)."""

    @abstractmethod
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        """Losses of a batch."""

    @abstractmethod
    def predict(self, inputs: Tensor, data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """New samples with ``pred_instances``."""

    @abstractmethod
    def _forward(self, inputs: Tensor, data_samples: Optional[SampleList] = None) -> tuple:
        """Network outputs without post-processing."""

    def add_pred_to_datasample(self, data_samples: SampleList,
                               results_list: list[InstanceData],
                               undo_flips: bool = True) -> SampleList:
        """Pack per-image detections into new samples (the inputs are not modified).

        Args:
            data_samples: The batch's input samples; their metainfo and ground truth are
                shared with the returned samples.
            results_list: One ``InstanceData`` per image: ``bboxes`` (N, 4), ``scores`` (N,),
                ``labels`` (N,) and, with a mask head, ``masks`` (N, H, W) bool.
            undo_flips: Map detections of flipped images back (the results must then be at
                ``ori_shape``, i.e. predicted with ``rescale=True``).

        Returns:
            New samples whose ``pred_instances`` are the results.
        """
        if len(data_samples) != len(results_list):
            raise ValueError(f'{type(self).__name__}: {len(results_list)} results for '
                             f'{len(data_samples)} samples')
        outputs = []
        for sample, results in zip(data_samples, results_list):
            new = sample.new()
            new.pred_instances = undo_flip(results, sample.metainfo) if undo_flips else results
            outputs.append(new)
        return outputs
