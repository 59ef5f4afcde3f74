"""Helpers that read a batch of samples for the detection heads."""
from typing import Optional

from mmengine.structures import InstanceData

from segdet.structures import SampleList


def unpack_gt_instances(batch_data_samples: SampleList
                        ) -> tuple[list[InstanceData], list[Optional[InstanceData]], list[dict]]:
    """Split a batch into what the heads' ``loss_by_feat`` take.

    Args:
        batch_data_samples: Samples with ``gt_instances`` and, optionally,
            ``ignored_instances`` (crowd regions).

    Returns:
        ``(batch_gt_instances, batch_gt_instances_ignore, batch_img_metas)``: one entry per
        image; an image without ignored instances has None.
    """
    gts, ignores, metas = [], [], []
    for sample in batch_data_samples:
        gts.append(sample.gt_instances)
        ignores.append(sample.ignored_instances if 'ignored_instances' in sample else None)
        metas.append(sample.metainfo)
    return gts, ignores, metas
