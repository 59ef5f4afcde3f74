"""The one data sample that both families (segmentation, detection) use."""
from mmengine.structures import BaseDataElement, InstanceData, PixelData


class DataSample(BaseDataElement):
    """Annotations and predictions of one image.

    Fields (all optional):
        gt_sem_seg (PixelData): ``data`` (1, H, W) int64 class indices, ``ignore_index`` marks
            unlabeled pixels.
        pred_sem_seg (PixelData): ``data`` (1, H, W) int64 predicted classes at ``ori_shape``.
        seg_logits (PixelData): ``data`` (C, H, W) float logits at ``ori_shape``.
        gt_instances (InstanceData): ``bboxes`` (N, 4) xyxy, ``labels`` (N,), ``masks``.
        ignored_instances (InstanceData): crowd instances, ignored in assignment.
        pred_instances (InstanceData): ``bboxes`` (N, 4), ``scores`` (N,), ``labels`` (N,),
            ``masks`` (N, H, W) bool.

    Metainfo keys used across segdet: ``img_path``, ``seg_map_path``, ``ori_shape`` (h, w),
    ``img_shape`` (h, w) after resizing, ``pad_shape``, ``padding_size`` (left, right, top,
    bottom), ``scale_factor`` (w_scale, h_scale), ``flip``, ``flip_direction``,
    ``reduce_zero_label``.
    """

    @property
    def gt_sem_seg(self) -> PixelData:
        return self._gt_sem_seg

    @gt_sem_seg.setter
    def gt_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, '_gt_sem_seg', dtype=PixelData)

    @gt_sem_seg.deleter
    def gt_sem_seg(self) -> None:
        del self._gt_sem_seg

    @property
    def pred_sem_seg(self) -> PixelData:
        return self._pred_sem_seg

    @pred_sem_seg.setter
    def pred_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, '_pred_sem_seg', dtype=PixelData)

    @pred_sem_seg.deleter
    def pred_sem_seg(self) -> None:
        del self._pred_sem_seg

    @property
    def seg_logits(self) -> PixelData:
        return self._seg_logits

    @seg_logits.setter
    def seg_logits(self, value: PixelData) -> None:
        self.set_field(value, '_seg_logits', dtype=PixelData)

    @seg_logits.deleter
    def seg_logits(self) -> None:
        del self._seg_logits

    @property
    def gt_instances(self) -> InstanceData:
        return self._gt_instances

    @gt_instances.setter
    def gt_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_gt_instances', dtype=InstanceData)

    @gt_instances.deleter
    def gt_instances(self) -> None:
        del self._gt_instances

    @property
    def ignored_instances(self) -> InstanceData:
        return self._ignored_instances

    @ignored_instances.setter
    def ignored_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_ignored_instances', dtype=InstanceData)

    @ignored_instances.deleter
    def ignored_instances(self) -> None:
        del self._ignored_instances

    @property
    def pred_instances(self) -> InstanceData:
        return self._pred_instances

    @pred_instances.setter
    def pred_instances(self, value: InstanceData) -> None:
        self.set_field(value, '_pred_instances', dtype=InstanceData)

    @pred_instances.deleter
    def pred_instances(self) -> None:
        del self._pred_instances


SampleList = list[DataSample]
