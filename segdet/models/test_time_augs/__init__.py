"""Test-time augmentation: models that wrap a segmentor or detector and merge its predictions
over the views ``TestTimeAug`` makes (``tools/test.py --tta``)."""
from .det_tta import DetTTAModel
from .merge import mean_probabilities, merge_instances, merged_sample, shared_metainfo
from .seg_tta import SegTTAModel

__all__ = ['SegTTAModel', 'DetTTAModel', 'mean_probabilities', 'merge_instances',
           'merged_sample', 'shared_metainfo']
