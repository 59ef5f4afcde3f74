"""segdet's exception rule for the data transforms (the rule: docs/customize_models.md,
"Exceptions instead of assertions"; the model cases: tests/test_models/test_exception_types.py).

TypeError for a wrong type, ValueError for a bad value of the right type (including an option
outside its allowed values and a shape that does not fit), KeyError for a missing key of a
results dict or annotation dict, NotImplementedError for an mmseg / mmdet option segdet does
not support, BadSampleError (an OSError) for a file that cannot be read.
"""
import copy
from typing import Any, Callable

import numpy as np
import pytest

from segdet.datasets.transforms import (BadSampleError, LoadAnnotations, LoadImageFromFile,
                                        LoadProposals, PackDetInputs, RandomCrop,
                                        ResizeShortestEdge)
from segdet.datasets.transforms.det_transforms import decode_instance_mask, flip_masks
from segdet.registry import TRANSFORMS

BOX = dict(bbox=[0, 0, 4, 4], bbox_label=0, ignore_flag=0)


def build(type_: str, **kwargs: Any) -> Callable[[], Any]:
    """A callable that builds ``dict(type=type_, **kwargs)`` from ``TRANSFORMS``."""
    return lambda: TRANSFORMS.build(dict(type=type_, **copy.deepcopy(kwargs)))


def _det_results(**changes: Any) -> dict:
    results = dict(img_path='a.jpg', ori_shape=(8, 8), height=8, width=8,
                   instances=[dict(BOX, mask=[[0, 0, 4, 0, 4, 4]])])
    results.update(changes)
    return results


CASES = [
    ('crop-size-type', build('RandomCrop', crop_size='8'), TypeError, "got str '8'"),
    ('crop-size-entry-type', lambda: RandomCrop(crop_size=(4.0, 4)), TypeError, 'entry 4.0'),
    ('crop-size-value', lambda: RandomCrop(crop_size=(0, 4)), ValueError,
     'crop_size entries must be >= 1'),
    ('crop-size-length', lambda: RandomCrop(crop_size=(4, 4, 4)), ValueError, '(h, w)'),
    ('shortest-edge-scale-type', lambda: ResizeShortestEdge(scale='8', max_size=10), TypeError,
     'ResizeShortestEdge: scale'),
    ('shortest-edge-scale-value', lambda: ResizeShortestEdge(scale=0, max_size=10), ValueError,
     'scale must be >= 1, got 0'),
    ('shortest-edge-max-size-type', lambda: ResizeShortestEdge(scale=8, max_size=None),
     TypeError, 'max_size must be an int, got NoneType'),
    ('shortest-edge-max-size-value', lambda: ResizeShortestEdge(scale=8, max_size=0),
     ValueError, 'max_size must be >= 1'),
    ('mask-type', lambda: decode_instance_mask('rle', 8, 8), TypeError, 'got str'),
    ('rle-missing-key', lambda: decode_instance_mask(dict(size=[8, 8]), 8, 8), KeyError,
     'counts'),
    ('rle-size', lambda: decode_instance_mask(dict(size=[6, 8], counts=[48]), 8, 8), ValueError,
     'for an image of 8x8'),
    ('flip-direction', lambda: flip_masks(np.zeros((1, 2, 2), np.uint8), 'up'), ValueError,
     "'up'"),
    ('poly2mask', build('LoadAnnotations', with_mask=True, poly2mask=False),
     NotImplementedError, 'poly2mask'),
    ('no-instances', lambda: LoadAnnotations(with_bbox=True)(dict(img_path='a.jpg')), KeyError,
     'no "instances"'),
    ('instance-without-mask', lambda: LoadAnnotations(with_bbox=True, with_mask=True)(
        _det_results(instances=[BOX])), KeyError, 'instance 0 of image a.jpg has no mask'),
    ('instance-rle-missing-key', lambda: LoadAnnotations(with_bbox=True, with_mask=True)(
        _det_results(instances=[dict(BOX, mask=dict(size=[8, 8]))])), KeyError,
     'instance 0 of image a.jpg: RLE mask needs "counts"'),
    ('instance-mask-type', lambda: LoadAnnotations(with_bbox=True, with_mask=True)(
        _det_results(instances=[dict(BOX, mask='rle')])), TypeError,
     'instance 0 of image a.jpg: a mask is a polygon list or an RLE dict'),
    ('image-size-disagrees', lambda: LoadAnnotations(with_bbox=True)(
        _det_results(ori_shape=(6, 8))), ValueError, 'a.jpg is 6x8'),
    ('no-seg-map-path', lambda: LoadAnnotations()(dict(img_path='a.jpg')), KeyError,
     'no seg_map_path'),
    ('proposals-type', lambda: LoadProposals()(dict(img_path='a.jpg', proposals=[[0, 0, 1, 1]])),
     TypeError, 'got list'),
    ('proposals-shape', lambda: LoadProposals()(dict(img_path='a.jpg', proposals=dict(
        bboxes=np.zeros((2, 5))))), ValueError, 'must be (N, 4)'),
    ('proposals-without-scores', lambda: PackDetInputs()(dict(
        img_path='a.jpg', proposals=np.zeros((2, 4), np.float32))), KeyError,
     'proposals_scores'),
    ('unreadable-image', lambda: LoadImageFromFile()(dict(img_path='/nonexistent/a.jpg')),
     BadSampleError, '/nonexistent/a.jpg'),
]


@pytest.mark.parametrize('make,error,fragment', [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_raises_the_documented_type(make: Callable[[], Any], error: type,
                                              fragment: str) -> None:
    with pytest.raises(error) as info:
        make()
    others = (ValueError, TypeError, KeyError, NotImplementedError, OSError)
    assert [k for k in others if isinstance(info.value, k)] == \
        [k for k in others if issubclass(error, k)], type(info.value).__mro__
    message = info.value.args[0] if info.value.args else ''
    assert fragment in str(message), message
