"""Checks of the feature maps a multi-level head receives against its configuration."""
from typing import Sequence

from torch import Tensor


def check_selected_channels(name: str, selected: Sequence[Tensor], in_channels: Sequence[int],
                            in_index: Sequence[int]) -> None:
    """Raise a ``ValueError`` when the selected maps do not have ``in_channels`` channels.

    A wrong ``in_channels`` (or an ``in_index`` that picks other backbone outputs than the
    ones it describes) would otherwise fail inside a convolution with a message about weight
    shapes; this names the argument, the entry and the value instead.

    Args:
        name: The head's class name, the start of the message.
        selected: The maps the head selected, each (N, C_i, H_i, W_i).
        in_channels: The channels the head was built for, one per selected map.
        in_index: The indices the maps were selected with (for the message).

    Raises:
        ValueError: A map's channel count differs from its ``in_channels`` entry.
    """
    got = [int(x.shape[1]) for x in selected]
    if got != list(in_channels):
        raise ValueError(
            f'{name}: in_channels={list(in_channels)} does not match the input maps selected by '
            f'in_index={list(in_index)}, which have {got} channels; set in_channels (and '
            'in_index) to the backbone / neck outputs the head reads')
