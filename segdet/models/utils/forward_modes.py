"""The three forward modes every segmentor and detector answers, dispatched in one place."""
from typing import Any, Optional

from torch import Tensor

FORWARD_MODES = ('loss', 'predict', 'tensor')


def dispatch_forward(model: Any, inputs: Tensor, data_samples: Optional[list],
                     mode: str) -> Any:
    """Run ``model.loss``, ``model.predict`` or ``model._forward`` by ``mode``.

    Both model families (``BaseSegmentor``, ``BaseDetector``) call this from ``forward``, so a
    bad mode raises the same error everywhere.

    Args:
        model: A segmentor or detector.
        inputs: (N, 3, H, W) preprocessed images.
        data_samples: The batch's samples (None is allowed for 'tensor' and, for
            segmentors, 'predict').
        mode: 'loss' -> dict of losses; 'predict' -> list of new samples with predictions;
            'tensor' -> raw network outputs.

    Raises:
        ValueError: ``mode`` is not one of :data:`FORWARD_MODES`.
    """
    if mode == 'loss':
        return model.loss(inputs, data_samples)
    if mode == 'predict':
        return model.predict(inputs, data_samples)
    if mode == 'tensor':
        return model._forward(inputs, data_samples)
    raise ValueError(f'{type(model).__name__}.forward: invalid mode {mode!r}; expected one of '
                     f'{", ".join(repr(m) for m in FORWARD_MODES)}')
