"""Pure drawing functions of the synthetic "shapes" data: one image, its label map, its instances.

Every image comes from its own random stream, seeded by ``(seed, split, index)``, so any image
can be regenerated alone (the COCO writer of the detection data reuses :func:`generate_sample`),
the train and val splits are independent, and the files are identical from run to run.

Classes: 0 background, 1 circle, 2 rectangle, 3 triangle. Each image holds 1 to 4 shapes whose
width and height are 10% to 40% of the image side, drawn in order on a noisy textured
background; later shapes cover earlier ones (overlaps are allowed, but every shape keeps at
least :data:`MIN_VISIBLE_FRACTION` of its area visible, so every instance has a usable mask).
"""
import math
import zlib
from dataclasses import dataclass

import cv2
import numpy as np

SHAPE_CLASSES = ('background', 'circle', 'rectangle', 'triangle')
# RGB colours used to draw label maps (visualisation only; image colours are random).
SHAPE_PALETTE = [[0, 0, 0], [220, 20, 60], [0, 0, 142], [250, 170, 30]]
CIRCLE, RECTANGLE, TRIANGLE = 1, 2, 3

MIN_SIZE_FRACTION = 0.1
MAX_SIZE_FRACTION = 0.4
MIN_SHAPES, MAX_SHAPES = 1, 4
MIN_VISIBLE_FRACTION = 0.25
# A candidate shape that would hide too much of an earlier one is redrawn this many times.
MAX_PLACEMENT_TRIES = 20
# Version of the drawing algorithm: bump it when the pixels change, so existing trees
# (whose meta.json records it) are no longer taken for up to date.
GENERATOR_VERSION = 1

TRIANGLE_DIRECTIONS = ('up', 'down', 'left', 'right')


@dataclass(frozen=True)
class ShapeSpec:
    """Geometry and colour of one shape.

    Attributes:
        label: Class index (1 circle, 2 rectangle, 3 triangle).
        x, y: Top-left pixel of the shape's bounding box.
        w, h: Bounding-box width and height in pixels (the shape touches all four sides).
        colour: (b, g, r) fill colour.
        direction: Triangles only: where the apex points ('up', 'down', 'left', 'right').
        apex: Triangles only: apex position along its side of the box, in [0, 1].
    """

    label: int
    x: int
    y: int
    w: int
    h: int
    colour: tuple[int, int, int]
    direction: str = 'up'
    apex: float = 0.5

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """(x1, y1, x2, y2) of the whole (unoccluded) shape, x2/y2 exclusive."""
        return self.x, self.y, self.x + self.w, self.y + self.h


@dataclass
class ShapeInstance:
    """One drawn shape.

    Attributes:
        spec: Its geometry and colour.
        mask: (H, W) bool, the pixels where it is visible (after later shapes are drawn).
    """

    spec: ShapeSpec
    mask: np.ndarray

    @property
    def label(self) -> int:
        return self.spec.label


@dataclass
class ShapesSample:
    """One generated image.

    Attributes:
        img: (H, W, 3) uint8 BGR image.
        seg_map: (H, W) uint8 class indices (0 background).
        instances: The shapes in drawing order (later ones on top).
    """

    img: np.ndarray
    seg_map: np.ndarray
    instances: list[ShapeInstance]


def size_range(image_size: int) -> tuple[int, int]:
    """Smallest and largest shape side in pixels, both inclusive: 10% and 40% of the image side."""
    low = math.ceil(MIN_SIZE_FRACTION * image_size)
    high = math.floor(MAX_SIZE_FRACTION * image_size)
    if low < 2 or high < low:
        raise ValueError(f'image size {image_size} is too small for shapes of 10%-40% of it')
    return low, high


def sample_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of image ``index`` of ``split``, one per (seed, split, index)."""
    split_key = zlib.crc32(split.encode('utf-8'))  # stable across runs, unlike hash()
    return np.random.default_rng(np.random.SeedSequence([int(seed), split_key, int(index)]))


def shape_mask(spec: ShapeSpec, image_size: int) -> np.ndarray:
    """Rasterise one shape alone.

    Args:
        spec: The shape.
        image_size: Side of the square image.

    Returns:
        (image_size, image_size) bool mask whose bounding box is exactly ``spec.bbox``.
    """
    mask = np.zeros((image_size, image_size), np.uint8)
    x1, y1, x2, y2 = spec.x, spec.y, spec.x + spec.w - 1, spec.y + spec.h - 1
    if spec.label == RECTANGLE:
        mask[y1:y2 + 1, x1:x2 + 1] = 1
    elif spec.label == CIRCLE:
        # An ellipse inscribed in the box (w == h for circles); pixel centres within the radius.
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        ys, xs = np.ogrid[:image_size, :image_size]
        inside = ((xs - cx) / (spec.w / 2))**2 + ((ys - cy) / (spec.h / 2))**2 <= 1.0
        mask[inside] = 1
    elif spec.label == TRIANGLE:
        cv2.fillPoly(mask, [triangle_vertices(spec)], 1)
    else:
        raise ValueError(f'unknown shape label {spec.label}; valid: {CIRCLE, RECTANGLE, TRIANGLE}')
    return mask.astype(bool)


def triangle_vertices(spec: ShapeSpec) -> np.ndarray:
    """(3, 2) int32 (x, y) triangle vertices: a base on one side of the box, the apex opposite."""
    x1, y1, x2, y2 = spec.x, spec.y, spec.x + spec.w - 1, spec.y + spec.h - 1
    ax = int(round(x1 + spec.apex * (x2 - x1)))
    ay = int(round(y1 + spec.apex * (y2 - y1)))
    corners = {
        'up': [(x1, y2), (x2, y2), (ax, y1)],
        'down': [(x1, y1), (x2, y1), (ax, y2)],
        'left': [(x2, y1), (x2, y2), (x1, ay)],
        'right': [(x1, y1), (x1, y2), (x2, ay)],
    }[spec.direction]
    return np.array(corners, np.int32)


def textured_background(rng: np.random.Generator, image_size: int) -> np.ndarray:
    """A random base colour with smooth blotches and a few stripes.

    Returns:
        (image_size, image_size, 3) float32 BGR values, roughly in [0, 255].
    """
    base = rng.uniform(40, 215, size=3)
    img = np.broadcast_to(base, (image_size, image_size, 3)).astype(np.float32)
    for cells, amplitude in ((4, 35.0), (16, 15.0)):
        coarse = rng.normal(0.0, amplitude, size=(cells, cells, 3)).astype(np.float32)
        img += cv2.resize(coarse, (image_size, image_size), interpolation=cv2.INTER_CUBIC)
    angle = rng.uniform(0, np.pi)
    period = rng.uniform(6, 20)
    ys, xs = np.mgrid[:image_size, :image_size].astype(np.float32)
    phase = (xs * np.cos(angle) + ys * np.sin(angle)) * (2 * np.pi / period)
    img += (rng.uniform(5, 15) * np.sin(phase))[..., None]
    return img


def random_shape(rng: np.random.Generator, image_size: int,
                 background: np.ndarray) -> ShapeSpec:
    """Draw the class, size, position and colour of one shape (fully inside the image)."""
    low, high = size_range(image_size)
    label = int(rng.integers(CIRCLE, TRIANGLE + 1))
    w = int(rng.integers(low, high + 1))
    h = w if label == CIRCLE else int(rng.integers(low, high + 1))
    x = int(rng.integers(0, image_size - w + 1))
    y = int(rng.integers(0, image_size - h + 1))
    # Keep the colour away from the local background so every shape can be seen.
    local = background[y:y + h, x:x + w].reshape(-1, 3).mean(axis=0)
    colour = rng.integers(0, 256, size=3)
    for _ in range(10):
        if np.abs(colour - local).sum() >= 150:
            break
        colour = rng.integers(0, 256, size=3)
    direction = TRIANGLE_DIRECTIONS[int(rng.integers(0, 4))]
    apex = float(rng.uniform(0.0, 1.0))
    return ShapeSpec(label, x, y, w, h, tuple(int(c) for c in colour), direction, apex)


def place_shapes(rng: np.random.Generator, image_size: int,
                 background: np.ndarray) -> list[ShapeInstance]:
    """Choose 1 to 4 shapes and their visible masks, redrawing any that would bury an earlier one.

    Returns:
        Instances in drawing order; their masks are disjoint and each keeps at least
        ``MIN_VISIBLE_FRACTION`` of its full area.
    """
    num_shapes = int(rng.integers(MIN_SHAPES, MAX_SHAPES + 1))
    instances: list[ShapeInstance] = []
    full_areas: list[int] = []
    for _ in range(num_shapes):
        for _ in range(MAX_PLACEMENT_TRIES):
            spec = random_shape(rng, image_size, background)
            full = shape_mask(spec, image_size)
            kept = [inst.mask & ~full for inst in instances]
            if all(k.sum() >= MIN_VISIBLE_FRACTION * area for k, area in zip(kept, full_areas)):
                for inst, k in zip(instances, kept):
                    inst.mask = k
                instances.append(ShapeInstance(spec, full))
                full_areas.append(int(full.sum()))
                break
    return instances


def render(background: np.ndarray, instances: list[ShapeInstance],
           rng: np.random.Generator, noise_std: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """Paint the shapes over the background, add pixel noise, and build the label map.

    Args:
        background: (S, S, 3) float32 BGR background.
        instances: Shapes with disjoint visible masks.
        rng: Stream for the pixel noise.
        noise_std: Standard deviation of the Gaussian pixel noise.

    Returns:
        (S, S, 3) uint8 BGR image and (S, S) uint8 label map.
    """
    img = background.copy()
    seg_map = np.zeros(background.shape[:2], np.uint8)
    for inst in instances:
        img[inst.mask] = np.asarray(inst.spec.colour, np.float32)
        seg_map[inst.mask] = inst.spec.label
    img += noise_std * rng.standard_normal(size=img.shape, dtype=np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), seg_map


def generate_sample(seed: int, split: str, index: int, image_size: int = 128) -> ShapesSample:
    """Generate image ``index`` of ``split``: the same arguments always give the same arrays.

    Args:
        seed: Data set seed.
        split: Split name ('train', 'val', ...); each split has its own streams.
        index: Image index within the split.
        image_size: Side of the square image in pixels.

    Returns:
        The image (BGR uint8), its label map (uint8) and its instances.
    """
    rng = sample_rng(seed, split, index)
    background = textured_background(rng, image_size)
    instances = place_shapes(rng, image_size, background)
    img, seg_map = render(background, instances, rng)
    return ShapesSample(img=img, seg_map=seg_map, instances=instances)
