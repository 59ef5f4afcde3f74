"""COCO person-keypoint annotations: parsing, validation and the keypoint metainfo.

A keypoint annotation is ``K`` triplets ``x, y, v`` (pixels; v = 0 not labelled, 1 labelled
but not visible, 2 visible), K being the length of its category's ``keypoints`` name list.
"""
from typing import Any, Optional, Sequence

import numpy as np

COCO_PERSON_KEYPOINTS = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
    'left_knee', 'right_knee', 'left_ankle', 'right_ankle')
# Each keypoint's left/right counterpart (itself for the nose).
COCO_PERSON_FLIP_INDICES = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)
# The per-keypoint OKS constants of the COCO keypoint challenge (pycocotools' defaults).
COCO_PERSON_SIGMAS = tuple(s / 10.0 for s in (.26, .25, .25, .35, .35, .79, .79, .72, .72, .62,
                                              .62, 1.07, 1.07, .87, .87, .89, .89))


def check_flip_indices(flip_indices: Sequence[int], num_keypoints: int) -> list[int]:
    """``flip_indices`` as a list, checked to be a left/right swap of ``num_keypoints`` points.

    Keypoint ``i`` of a mirrored instance is keypoint ``flip_indices[i]`` of the original.

    Raises:
        ValueError: It is not a permutation of ``range(num_keypoints)``, or not its own
            inverse (flipping twice would not give the original labels back).
    """
    values = list(flip_indices)
    if sorted(values) != list(range(num_keypoints)):
        raise ValueError(f'flip_indices {values} is not a permutation of range({num_keypoints}) '
                         f'(one index per keypoint)')
    bad = [i for i, j in enumerate(values) if values[j] != i]
    if bad:
        raise ValueError(f'flip_indices {values} does not swap pairs: keypoint {bad[0]} maps to '
                         f'{values[bad[0]]}, which maps to {values[values[bad[0]]]}')
    return [int(v) for v in values]


def parse_keypoints(keypoints: Optional[Sequence[float]], num_keypoints: int) -> np.ndarray:
    """One annotation's flat ``[x1, y1, v1, x2, ...]`` -> (K, 3) float32 array.

    Args:
        keypoints: The annotation's ``keypoints``; None (an annotation without keypoints in
            a keypoint data set) gives K unlabelled keypoints (all zeros).
        num_keypoints: K, the length of the category's keypoint list.

    Raises:
        ValueError: The length is not 3K, or a visibility is not 0, 1 or 2.
    """
    if keypoints is None:
        return np.zeros((num_keypoints, 3), dtype=np.float32)
    if len(keypoints) != 3 * num_keypoints:
        raise ValueError(f'keypoints has {len(keypoints)} numbers, expected 3 x '
                         f'{num_keypoints} (x, y, v for each of {num_keypoints} keypoints)')
    arr = np.asarray(keypoints, dtype=np.float32).reshape(num_keypoints, 3)
    bad = ~np.isin(arr[:, 2], (0, 1, 2))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        raise ValueError(f'keypoint {k} has visibility {keypoints[3 * k + 2]!r}; COCO '
                         f'visibility is 0 (not labelled), 1 (not visible) or 2 (visible)')
    return arr


def category_keypoint_names(categories: Sequence[dict], cat_ids: Sequence[int],
                            where: str) -> Optional[tuple]:
    """The keypoint names shared by the categories in use, None when none defines any.

    Raises:
        ValueError: Two categories in use define different keypoint lists.
    """
    lists = {c['id']: tuple(c['keypoints']) for c in categories
             if c['id'] in cat_ids and c.get('keypoints')}
    if len(set(lists.values())) > 1:
        raise ValueError(f'{where}: categories {sorted(lists)} define different keypoint lists; '
                         f'one data set has one list of K keypoints')
    return next(iter(lists.values()), None)


def keypoint_metainfo(given: dict, json_names: Optional[tuple], json_skeleton: Optional[list],
                      where: str) -> dict[str, Any]:
    """Complete the keypoint metainfo of a data set.

    ``keypoint_names`` and ``skeleton`` (pairs of 0-based keypoint indices; COCO's json has
    1-based ones) come from the json categories unless ``given`` has them; ``flip_indices``
    and ``sigmas`` default to COCO's for the 17 COCO person keypoints and are left out
    otherwise (a flip then fails, and so does keypoint evaluation, until they are given).

    Args:
        given: The metainfo the config gave (its keys ``keypoint_names``, ``skeleton``,
            ``flip_indices`` and ``sigmas`` are read).
        json_names: Keypoint names of the categories in use, or None.
        json_skeleton: The json category's 1-based ``skeleton``, or None.
        where: Prefix of error messages (data set and file).

    Returns:
        The keypoint keys among those four; empty without keypoints.

    Raises:
        ValueError: ``keypoint_names`` given with a length other than the json's, a
            ``flip_indices`` that is not a pair-swapping permutation, ``sigmas`` not K positive
            numbers, or a skeleton index outside 0..K-1.
    """
    names = given.get('keypoint_names', json_names)
    if names is None:
        return {}
    names = tuple(names)
    num = len(names)
    if json_names is not None and len(json_names) != num:
        raise ValueError(f'{where}: metainfo keypoint_names has {num} names but the json '
                         f'categories define {len(json_names)} keypoints')
    info: dict[str, Any] = dict(keypoint_names=names)
    if 'skeleton' in given:
        skeleton = [tuple(int(i) for i in link) for link in given['skeleton']]
    else:
        skeleton = [(int(a) - 1, int(b) - 1) for a, b in (json_skeleton or [])]
    bad = [link for link in skeleton if len(link) != 2 or not all(0 <= i < num for i in link)]
    if bad:
        raise ValueError(f'{where}: skeleton links {bad} are not pairs of keypoint indices '
                         f'0..{num - 1}')
    info['skeleton'] = skeleton
    coco_person = names == COCO_PERSON_KEYPOINTS
    flip = given.get('flip_indices', COCO_PERSON_FLIP_INDICES if coco_person else None)
    if flip is not None:
        try:
            info['flip_indices'] = check_flip_indices(flip, num)
        except ValueError as err:
            raise ValueError(f'{where}: metainfo {err}') from err
    sigmas = given.get('sigmas', COCO_PERSON_SIGMAS if coco_person else None)
    if sigmas is not None:
        sigmas = [float(s) for s in sigmas]
        if len(sigmas) != num or min(sigmas, default=1.0) <= 0:
            raise ValueError(f'{where}: metainfo sigmas {sigmas} must be {num} positive numbers '
                             f'(one OKS constant per keypoint)')
        info['sigmas'] = sigmas
    return info


def count_labelled_keypoints(instances: Sequence[dict]) -> int:
    """Keypoints with v > 0 over the non-ignored instances of one image (maskrcnn-benchmark's
    and torchvision's count for ``min_keypoints_per_image``)."""
    return sum(int((inst['keypoints'][:, 2] > 0).sum()) for inst in instances
               if 'keypoints' in inst and not inst['ignore_flag'])
