"""Draw detection and instance-segmentation results over images (pure numpy + OpenCV)."""
import colorsys
from typing import Optional, Sequence

import cv2
import numpy as np

RGB = tuple[int, int, int]

_GOLDEN = 0.618033988749895
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def label_colour(label: int) -> RGB:
    """A saturated RGB colour for class ``label``, the same in every run and image.

    Hues step by the golden ratio, so neighbouring labels get far-apart hues; odd labels are
    a little darker so that classes whose hues nearly repeat still differ.
    """
    hue = (int(label) * _GOLDEN) % 1.0
    value = 0.95 if int(label) % 2 == 0 else 0.75
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, value)
    return (round(r * 255), round(g * 255), round(b * 255))


def instance_colours(labels: np.ndarray,
                     palette: Optional[Sequence[Sequence[int]]] = None) -> list[RGB]:
    """RGB colour of each instance: ``palette[label]``, or :func:`label_colour` beyond it.

    Args:
        labels: (N,) integer class indices.
        palette: RGB colour per class (the data set's ``palette``), may be shorter or None.

    Returns:
        N RGB tuples.
    """
    palette = list(palette) if palette is not None else []
    colours = []
    for label in np.asarray(labels, dtype=np.int64).reshape(-1):
        if 0 <= label < len(palette):
            colours.append(tuple(int(c) for c in palette[label])[:3])
        else:
            colours.append(label_colour(int(label)))
    return colours


def _binary_masks(masks: np.ndarray) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.dtype == bool:
        return masks
    # Soft masks (probabilities) are cut at 0.5, like mask heads binarise them.
    return masks >= 0.5 if np.issubdtype(masks.dtype, np.floating) else masks > 0


def _caption(image: np.ndarray, text: str, box: tuple[int, int, int, int], colour: RGB,
             font_scale: float) -> None:
    """Filled caption in ``colour`` above the box (inside its top when there is no room)."""
    h, w = image.shape[:2]
    (tw, th), baseline = cv2.getTextSize(text, _FONT, font_scale, 1)
    pad = 2
    bw, bh = tw + 2 * pad, th + baseline + 2 * pad
    x1, y1 = box[0], box[1]
    top = y1 - bh if y1 - bh >= 0 else y1
    top = max(0, min(top, h - bh))
    left = max(0, min(x1, w - bw))
    cv2.rectangle(image, (left, top), (left + bw - 1, top + bh - 1), colour, -1)
    r, g, b = colour[::-1]  # colour is BGR here
    text_colour = (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)
    cv2.putText(image, text, (left + pad, top + pad + th), _FONT, font_scale, text_colour, 1,
                cv2.LINE_AA)


def overlay_instances(image_bgr: np.ndarray, bboxes: np.ndarray, labels: np.ndarray,
                      scores: Optional[np.ndarray] = None, masks: Optional[np.ndarray] = None,
                      classes: Optional[Sequence[str]] = None,
                      palette: Optional[Sequence[Sequence[int]]] = None, alpha: float = 0.5,
                      line_width: int = 2, font_scale: Optional[float] = None) -> np.ndarray:
    """Draw instances: translucent masks, box outlines and "name 0.87" captions.

    Each instance is drawn in its class colour (``palette[label]``, or a fixed colour per
    label when the palette is missing or too short). Captions sit above their box, inside the
    image.

    Args:
        image_bgr: (H, W, 3) uint8 BGR image; not modified.
        bboxes: (N, 4) float boxes, x1 y1 x2 y2 in pixels of ``image_bgr``.
        labels: (N,) integer class indices.
        scores: (N,) float confidences, appended to the captions; None for ground truth.
        masks: (N, H, W) bool / uint8 (non-zero = inside) / float (>= 0.5 = inside) masks.
        classes: Class names; a label beyond them is captioned ``class <label>``.
        palette: RGB colour per class.
        alpha: Weight of the mask colour over the image.
        line_width: Box outline thickness in pixels.
        font_scale: OpenCV font scale of the captions; by default from the image size.

    Returns:
        (H, W, 3) uint8 BGR image.

    Raises:
        ValueError: if the image is not (H, W, 3), or the lengths or mask size disagree.
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3:
        raise ValueError(f'overlay_instances: image must be (H, W, 3), got {image_bgr.shape}')
    h, w = image_bgr.shape[:2]
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    n = len(bboxes)
    if len(labels) != n or (scores is not None and len(scores) != n) or \
            (masks is not None and len(masks) != n):
        raise ValueError(
            f'overlay_instances: {n} boxes but {len(labels)} labels'
            + ('' if scores is None else f', {len(scores)} scores')
            + ('' if masks is None else f', {len(masks)} masks'))
    if masks is not None and n and tuple(np.shape(masks)[1:]) != (h, w):
        raise ValueError(f'overlay_instances: masks are {tuple(np.shape(masks)[1:])}, the '
                         f'image is {(h, w)}')
    out = np.ascontiguousarray(image_bgr, dtype=np.uint8).copy()
    if n == 0:
        return out

    # Lowest score first, so the most confident instance ends up on top.
    order = np.argsort(np.asarray(scores), kind='stable') if scores is not None else \
        np.arange(n)
    colours = [c[::-1] for c in instance_colours(labels, palette)]  # BGR for OpenCV
    if masks is not None:
        binary = _binary_masks(masks)
        blended = out.astype(np.float32)
        for i in order:
            inside = binary[i]
            blended[inside] = (1 - alpha) * blended[inside] + \
                alpha * np.asarray(colours[i], np.float32)
        out = blended.round().clip(0, 255).astype(np.uint8)

    boxes = np.nan_to_num(bboxes).round()
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, w - 1)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, h - 1)
    boxes = boxes.astype(np.int64)
    # Outlines after the masks so that they keep the pure class colour.
    for i in order:
        x1, y1, x2, y2 = (int(v) for v in boxes[i])
        cv2.rectangle(out, (x1, y1), (x2, y2), colours[i], line_width)

    if font_scale is None:
        font_scale = float(np.clip(min(h, w) / 1000, 0.35, 0.9))
    names = list(classes) if classes is not None else []
    for i in order:
        label = int(labels[i])
        text = names[label] if 0 <= label < len(names) else f'class {label}'
        if scores is not None:
            text += f' {float(scores[i]):.2f}'
        _caption(out, text, tuple(int(v) for v in boxes[i]), colours[i], font_scale)
    return out


def overlay_keypoints(image_bgr: np.ndarray, keypoints: np.ndarray, visible: np.ndarray,
                      colours: Sequence[RGB], skeleton: Optional[Sequence[Sequence[int]]] = None,
                      radius: Optional[int] = None, line_width: int = 2) -> np.ndarray:
    """Draw keypoints (filled dots) and the skeleton's limbs between visible pairs.

    Args:
        image_bgr: (H, W, 3) uint8 BGR image; not modified.
        keypoints: (N, K, 2) x, y in pixels of ``image_bgr``.
        visible: (N, K) bool: which keypoints to draw (labelled ones for ground truth, scores
            above a threshold for predictions).
        colours: BGR colour per instance.
        skeleton: 0-based keypoint index pairs joined by a line when both are visible.
        radius: Dot radius in pixels; by default from the image size.
        line_width: Limb thickness in pixels.

    Returns:
        (H, W, 3) uint8 BGR image.

    Raises:
        ValueError: the shapes of ``keypoints``, ``visible`` and ``colours`` disagree, or a
            skeleton pair names a keypoint beyond K.
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    visible = np.asarray(visible, dtype=bool)
    if keypoints.ndim != 3 or keypoints.shape[2] < 2 or visible.shape != keypoints.shape[:2] \
            or len(colours) != len(keypoints):
        raise ValueError(f'overlay_keypoints: keypoints {keypoints.shape}, visible '
                         f'{visible.shape} and {len(colours)} colours do not match '
                         '((N, K, 2), (N, K), N)')
    k = keypoints.shape[1]
    pairs = [tuple(int(i) for i in pair) for pair in (skeleton or [])]
    bad = [pair for pair in pairs if len(pair) != 2 or not all(0 <= i < k for i in pair)]
    if bad:
        raise ValueError(f'overlay_keypoints: skeleton pair {bad[0]} is not two indices of '
                         f'the {k} keypoints')
    out = np.ascontiguousarray(image_bgr, dtype=np.uint8).copy()
    h, w = out.shape[:2]
    if radius is None:
        radius = max(1, int(round(min(h, w) / 200)))
    points = np.nan_to_num(keypoints[..., :2]).round().astype(np.int64)
    for i, colour in enumerate(colours):
        colour = tuple(int(c) for c in colour)
        for a, b in pairs:
            if visible[i, a] and visible[i, b]:
                cv2.line(out, tuple(points[i, a]), tuple(points[i, b]), colour, line_width)
        for j in np.flatnonzero(visible[i]):
            cv2.circle(out, tuple(points[i, j]), radius + 1, (255, 255, 255), -1)
            cv2.circle(out, tuple(points[i, j]), radius, colour, -1)
    return out
