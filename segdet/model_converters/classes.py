"""Class layouts of class-specific tensors (box classifier rows, box-regression blocks,
mask-logit channels) and the permutations between them.

- mmdetection / segdet: ``C`` object classes in data-set order, background **last** in the
  classifier (``C + 1`` rows); box regression and masks have only the ``C`` object classes.
- Detectron, maskrcnn-benchmark: background **first** (``C + 1`` rows everywhere: classifier,
  regression blocks and mask channels), then the classes in data-set order (COCO: the 80
  categories sorted by category id, as mmdetection orders them).
- torchvision's COCO models: 91 rows indexed by the **COCO category id** (1..90, with 10 ids
  that COCO never used), background at 0.
"""
from typing import Sequence

from torch import Tensor

from .core import ClassLayoutError

#: The COCO category ids of the 80 classes, in mmdetection's class order.
COCO_CATEGORY_IDS: tuple[int, ...] = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27,
    28, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53,
    54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80,
    81, 82, 84, 85, 86, 87, 88, 89, 90)

#: Row count of torchvision's COCO heads (background + category ids 1..90).
TORCHVISION_COCO_ROWS = 91


def source_rows_of_classes(num_source_rows: int, num_classes: int,
                           category_id_rows: bool = False) -> list[int]:
    """Which source row holds each of the ``num_classes`` target classes.

    Args:
        num_source_rows: Rows of the source classifier (background included).
        num_classes: Object classes of the target (background excluded).
        category_id_rows: Accept torchvision's COCO layout (91 rows indexed by category id)
            when ``num_classes == 80``.

    Returns:
        ``rows[c]`` = source row of target class ``c``; the source background is row 0.

    Raises:
        ClassLayoutError: the row count fits neither "background first, then the classes" nor
            (with ``category_id_rows``) the COCO category-id layout.
    """
    if num_source_rows == num_classes + 1:
        return list(range(1, num_classes + 1))
    if (category_id_rows and num_source_rows == TORCHVISION_COCO_ROWS
            and num_classes == len(COCO_CATEGORY_IDS)):
        return list(COCO_CATEGORY_IDS)
    layouts = f'{num_classes + 1} (background + {num_classes} classes)'
    if category_id_rows and num_classes == len(COCO_CATEGORY_IDS):
        layouts += f' or {TORCHVISION_COCO_ROWS} (COCO category ids)'
    raise ClassLayoutError(f'{num_source_rows} class rows in the file, the model has '
                           f'{num_classes} classes, so expected {layouts}')


def classifier_rows(weight: Tensor, num_classes: int, category_id_rows: bool = False) -> Tensor:
    """Classifier rows (weight (R, ...) or bias (R,)), background first -> background last.

    Returns:
        (num_classes + 1, ...): the target classes in order, then the source background row.
    """
    rows = source_rows_of_classes(weight.shape[0], num_classes, category_id_rows)
    return weight[rows + [0]]


def regression_blocks(weight: Tensor, num_classes: int, category_id_rows: bool = False
                      ) -> Tensor:
    """Class-specific box regression (rows of 4 per class, background block first in the
    source) -> the ``num_classes`` blocks of the target (mmdetection has no background block).

    A class-agnostic target (4 rows) takes the foreground block of a two-block source
    (maskrcnn-benchmark's ``CLS_AGNOSTIC_BBOX_REG``) or a 4-row source unchanged.

    Args:
        weight: (4 * R, ...) weight or (4 * R,) bias.
        num_classes: Object classes of the target; 1 for a class-agnostic target.
    """
    if weight.shape[0] % 4:
        raise ClassLayoutError(f'{weight.shape[0]} regression rows are not a multiple of 4')
    blocks = weight.reshape(weight.shape[0] // 4, 4, *weight.shape[1:])
    if num_classes == 1 and blocks.shape[0] in (1, 2):
        return blocks[-1]
    rows = source_rows_of_classes(blocks.shape[0], num_classes, category_id_rows)
    return blocks[rows].reshape(4 * num_classes, *weight.shape[1:])


def mask_channels(weight: Tensor, num_classes: int, category_id_rows: bool = False) -> Tensor:
    """Class-specific mask logits (background channel first in the source) -> the
    ``num_classes`` channels of the target; a class-agnostic one (1 channel) is kept."""
    if num_classes == 1 and weight.shape[0] == 1:
        return weight
    return weight[source_rows_of_classes(weight.shape[0], num_classes, category_id_rows)]


def target_num_classes(key: str, shape: Sequence[int]) -> int:
    """Object classes implied by a target class-specific tensor's shape.

    ``fc_cls``: rows - 1; ``fc_reg``: rows / 4; ``conv_logits``: channels.
    """
    rows = int(shape[0])
    if key.split('.')[-2] == 'fc_cls':
        return rows - 1
    if key.split('.')[-2] == 'fc_reg':
        return rows // 4
    return rows
