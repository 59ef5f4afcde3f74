"""Draw semantic-segmentation maps over images (pure numpy)."""
from typing import Optional, Sequence

import numpy as np


def default_palette(num_classes: int, seed: int = 42) -> list[tuple[int, int, int]]:
    """A deterministic random RGB palette of ``num_classes`` colours."""
    rng = np.random.default_rng(seed)
    return [tuple(int(c) for c in rng.integers(0, 256, size=3)) for _ in range(num_classes)]


def overlay_sem_seg(img_bgr: np.ndarray, sem_seg: np.ndarray,
                    palette: Optional[Sequence[Sequence[int]]] = None,
                    alpha: float = 0.5, ignore_index: int = 255) -> np.ndarray:
    """Blend a colour-coded label map over an image.

    Args:
        img_bgr: (H, W, 3) uint8 BGR image.
        sem_seg: (H, W) integer label map; pixels equal to ``ignore_index`` stay unpainted.
        palette: RGB colour per class (the data set's ``palette``); generated if None.
        alpha: Weight of the label colours.
        ignore_index: Label left unpainted.

    Returns:
        (H, W, 3) uint8 BGR image.
    """
    if img_bgr.shape[:2] != sem_seg.shape:
        raise ValueError(f'overlay_sem_seg: image size {img_bgr.shape[:2]} differs from the '
                         f'label map size {sem_seg.shape}')
    labels = np.unique(sem_seg)
    labels = labels[labels != ignore_index]
    n = int(labels.max()) + 1 if labels.size else 0
    palette = list(palette) if palette is not None else default_palette(max(n, 1))
    if n > len(palette):
        palette = palette + default_palette(n)[len(palette):]
    colour = np.zeros_like(img_bgr)
    for label in labels:
        r, g, b = palette[int(label)]
        colour[sem_seg == label] = (b, g, r)
    painted = sem_seg != ignore_index
    out = img_bgr.astype(np.float32)
    out[painted] = (1 - alpha) * out[painted] + alpha * colour[painted].astype(np.float32)
    return out.round().clip(0, 255).astype(np.uint8)
