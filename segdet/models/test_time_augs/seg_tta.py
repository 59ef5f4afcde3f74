"""SegTTAModel: a segmentor's predictions merged over test-time augmented views (mmseg's name)."""
import torch
from mmengine.model import BaseTTAModel
from mmengine.structures import PixelData

from segdet.registry import MODELS
from segdet.structures import SampleList

from .merge import mean_probabilities, merged_sample


@MODELS.register_module()
class SegTTAModel(BaseTTAModel):
    """Wraps a segmentor and averages its class probabilities over the views of each image.

    ``tools/test.py --tta`` builds it from the config's ``tta_model`` (``module`` = the config's
    model) and tests on the config's ``tta_pipeline``, whose ``TestTimeAug`` makes the views
    (mmseg's bases: the image resized by each of ``img_ratios`` = [0.5, 0.75, 1.0, 1.25, 1.5,
    1.75], each unflipped and flipped horizontally: 12 views). mmengine's ``BaseTTAModel``
    runs the wrapped model's ``test_step`` once per view (whole or slide inference, from its
    ``test_cfg``); every view's ``seg_logits`` come back at the original image size and
    un-flipped, and :meth:`merge_preds` averages them.

    Merging as mmseg 1.2.2: the mean of the views' softmax probabilities, then the argmax.
    A one-channel segmentor already stores sigmoid probabilities in ``seg_logits``; they are
    averaged as they are and thresholded with the model's ``decode_threshold`` (mmseg applies
    the sigmoid a second time there).

    Args:
        module: The segmentor, or its config.
        data_preprocessor: Replaces the segmentor's data preprocessor when given.
    """

    def merge_preds(self, data_samples_list: list[SampleList]) -> SampleList:
        """Merge each image's views into one prediction.

        Args:
            data_samples_list: Per image, the predicted samples of its views, each with
                ``seg_logits`` (C, H, W) at ``ori_shape``.

        Returns:
            One new sample per image with ``pred_sem_seg`` (1, H, W) int64, ``seg_logits``
            (C, H, W) holding the mean probabilities, the metainfo the views share
            (``img_path``, ``ori_shape``, ...) and the ground truth of the first unflipped
            view.
        """
        merged = []
        for views in data_samples_list:
            where = views[0].metainfo.get('img_path')
            probs = mean_probabilities([v.seg_logits.data for v in views], where)
            if probs.shape[0] > 1:
                pred = probs.argmax(dim=0, keepdim=True)
            else:
                threshold = getattr(self.module, 'decode_threshold', 0.5)
                pred = (probs > threshold).to(torch.int64)
            out = merged_sample(views)
            out.seg_logits = PixelData(data=probs)
            out.pred_sem_seg = PixelData(data=pred)
            merged.append(out)
        return merged
