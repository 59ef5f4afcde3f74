"""A semantic segmentation data set read from a directory of images and a matching label tree."""
import os.path as osp
import warnings
from typing import Any, Callable, Optional, Sequence, Union

import mmengine.fileio as fileio
import numpy as np
from mmengine.dataset import BaseDataset

from segdet.datasets.transforms.loading import BadSampleError
from segdet.registry import DATASETS, TRANSFORMS


def build_label_map(old_classes: Optional[Sequence[str]],
                    new_classes: Optional[Sequence[str]]) -> Optional[dict[int, int]]:
    """Map label values of a data set's own classes to those of a chosen subset.

    Args:
        old_classes: The classes the label files are written in (a data set's METAINFO).
        new_classes: The classes asked for in ``metainfo``: a subset of ``old_classes``, in
            any order.

    Returns:
        ``{old index: new index}``, with 255 for the classes left out; None when the two lists
        are equal or either is None (the labels are used as they are).

    Raises:
        ValueError: When ``new_classes`` names a class that ``old_classes`` does not have.
    """
    if old_classes is None or new_classes is None or list(old_classes) == list(new_classes):
        return None
    unknown = [c for c in new_classes if c not in old_classes]
    if unknown:
        raise ValueError(f'metainfo classes {unknown} are not classes of this data set; '
                         f'choose a subset of {tuple(old_classes)}')
    new_index = {c: i for i, c in enumerate(new_classes)}
    return {i: new_index.get(c, 255) for i, c in enumerate(old_classes)}


def resolve_palette(palette: Sequence[Sequence[int]], num_classes: int,
                    label_map: Optional[dict[int, int]]) -> list:
    """The palette to use for ``num_classes`` classes.

    Args:
        palette: The palette from metainfo (possibly empty or of the full class list).
        num_classes: Number of classes in use.
        label_map: Old-to-new label mapping when a subset of classes is used.

    Returns:
        ``palette`` itself when its length fits; the colours of the kept classes (in their new
        order) when a subset is used; random colours (seed 42, the global numpy state left
        untouched) when no palette is given.
    """
    if len(palette) == num_classes:
        return list(palette)
    if len(palette) == 0:
        # A fixed seed so that every run (and mmseg) draws the same colours.
        return np.random.RandomState(42).randint(0, 255, size=(num_classes, 3)).tolist()
    if label_map is not None and len(palette) >= num_classes:
        kept = sorted((new, old) for old, new in label_map.items() if new != 255)
        return [palette[old] for _, old in kept]
    raise ValueError(f'metainfo palette has {len(palette)} colours for {num_classes} classes')


@DATASETS.register_module()
class BaseSegDataset(BaseDataset):
    """Images and their label maps, paired by file name.

    An image ``img_path/<name><img_suffix>`` pairs with ``seg_map_path/<name><seg_map_suffix>``;
    ``<name>`` may contain sub-directories (``aachen/aachen_000000_000019``). The names come
    from the split file ``ann_file`` (one name per line, no suffix) when given, otherwise from a
    recursive, sorted scan of ``img_path`` for files ending with ``img_suffix``.

    Every item of ``data_list`` holds ``img_path``, ``seg_map_path``, ``label_map``,
    ``reduce_zero_label``, ``seg_fields`` (``[]``), ``num_classes`` and ``ignore_index`` (used
    by ``LoadAnnotations`` to check each label map).

    Args:
        ann_file: Split file, relative to ``data_root``; '' scans ``img_path``.
        metainfo: ``classes`` and ``palette``. A subset of the data set's classes relabels the
            others to 255 through ``label_map``.
        data_root: Root that relative ``ann_file`` and ``data_prefix`` paths are joined to.
        data_prefix: ``img_path`` and ``seg_map_path`` directories. Without ``seg_map_path``
            (or with None) the items have no label maps (e.g. a test set).
        img_suffix: Image file ending, e.g. '.jpg' or '_leftImg8bit.png'.
        seg_map_suffix: Label file ending, e.g. '.png' or '_gtFine_labelTrainIds.png'.
        filter_cfg: Unused (kept for mmengine's interface).
        indices: Use only these items (or the first ``indices`` items).
        serialize_data: Keep ``data_list`` pickled in one buffer (shared by workers).
        pipeline: Transforms applied to every item.
        test_mode: Test phase: a failing item raises instead of being replaced.
        lazy_init: Build ``data_list`` on first use instead of now.
        max_refetch: Tries to replace an item whose pipeline returned None.
        ignore_index: Label value of unlabeled pixels.
        reduce_zero_label: Label 0 becomes ``ignore_index`` and the others move down by one.
        backend_args: mmengine file backend arguments.
        skip_bad_samples: In training, replace a sample whose image or label file cannot be
            read (:class:`BadSampleError`) by another one, with a warning; the replacement
            carries the skipped file in its metainfo ``skipped_bad_samples`` so that
            ``SkippedSamplesHook`` counts it in the log. Also turns the error for label maps
            without an image (see :meth:`load_data_list`) into a warning. Never applies in
            test mode.
    """

    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str = '',
                 img_suffix: str = '.jpg',
                 seg_map_suffix: str = '.png',
                 metainfo: Optional[dict] = None,
                 data_root: Optional[str] = None,
                 data_prefix: dict = dict(img_path='', seg_map_path=''),
                 filter_cfg: Optional[dict] = None,
                 indices: Optional[Union[int, Sequence[int]]] = None,
                 serialize_data: bool = True,
                 pipeline: Sequence[Union[dict, Callable]] = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 max_refetch: int = 1000,
                 ignore_index: int = 255,
                 reduce_zero_label: bool = False,
                 backend_args: Optional[dict] = None,
                 skip_bad_samples: bool = False) -> None:
        self.skip_bad_samples = skip_bad_samples
        self._skipped_errors: list[str] = []
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.ignore_index = ignore_index
        self.reduce_zero_label = reduce_zero_label
        self.backend_args = dict(backend_args) if backend_args else None
        # mmengine's path joining rejects None; no seg_map_path simply means no labels.
        data_prefix = {k: v for k, v in dict(data_prefix).items() if v is not None}
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            filter_cfg=filter_cfg,
            indices=indices,
            serialize_data=serialize_data,
            # Built with segdet's registry so that segdet's transforms resolve even when no
            # default scope is set (outside a Runner); mmcv's are found through its parent.
            pipeline=[TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline],
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)
        if test_mode and self._metainfo.get('classes') is None:
            raise ValueError(f'{type(self).__name__} in test mode needs metainfo `classes`')

    @classmethod
    def get_label_map(cls, new_classes: Optional[Sequence[str]] = None
                      ) -> Optional[dict[int, int]]:
        """``{old label: new label}`` for a subset ``new_classes`` of METAINFO's classes."""
        return build_label_map(cls.METAINFO.get('classes'), new_classes)

    def _load_metainfo(self, metainfo: Optional[dict] = None) -> dict:
        """Merge ``metainfo`` into METAINFO and add ``label_map``, ``reduce_zero_label`` and
        a palette that matches the classes in use (mmengine calls this from ``__init__``)."""
        info = super()._load_metainfo(metainfo)
        classes = info.get('classes')
        self.label_map = self.get_label_map(classes)
        info.update(label_map=self.label_map, reduce_zero_label=self.reduce_zero_label)
        if classes is not None:
            info['palette'] = resolve_palette(info.get('palette', []), len(classes),
                                              self.label_map)
        return info

    @property
    def num_classes(self) -> Optional[int]:
        """Number of classes in use, or None when metainfo has no ``classes``."""
        classes = self._metainfo.get('classes')
        return None if classes is None else len(classes)

    def _exists(self, path: str) -> bool:
        return fileio.exists(path, backend_args=self.backend_args)

    def _names_from_split_file(self, img_dir: str) -> list[str]:
        """Names (without suffix) listed in ``ann_file``, each checked to have its image."""
        if not self._exists(self.ann_file):
            raise FileNotFoundError(
                f'{type(self).__name__}: split file ann_file={self.ann_file!r} does not exist')
        lines = fileio.list_from_file(self.ann_file, backend_args=self.backend_args)
        names = []
        for number, line in enumerate(lines, start=1):
            name = line.strip()
            if not name:
                continue
            img_path = osp.join(img_dir, name + self.img_suffix)
            if not self._exists(img_path):
                raise FileNotFoundError(
                    f'{type(self).__name__}: line {number} of split file {self.ann_file} '
                    f'names {name!r}, but its image {img_path} does not exist')
            names.append(name)
        if not names:
            raise ValueError(f'{type(self).__name__}: split file {self.ann_file} lists no images')
        return names

    def _names_from_scan(self, img_dir: str) -> list[str]:
        """Names (without suffix, relative to ``img_dir``) of every image under ``img_dir``."""
        files = fileio.list_dir_or_file(img_dir or '.', list_dir=False, suffix=self.img_suffix,
                                        recursive=True, backend_args=self.backend_args)
        names = sorted(f[:len(f) - len(self.img_suffix)] for f in files)
        if not names:
            raise ValueError(f'{type(self).__name__}: no images ending with '
                             f'{self.img_suffix!r} under {img_dir}')
        return names

    def _check_unpaired_labels(self, img_dir: str, seg_dir: str, names: list[str]) -> None:
        """Raise (or warn, with ``skip_bad_samples`` in training) when label maps under
        ``seg_dir`` have no image under ``img_dir``: a deleted or renamed image would otherwise
        shrink the data set without a word."""
        if not fileio.isdir(seg_dir or '.', backend_args=self.backend_args):
            return
        images = {osp.join(img_dir, n + self.img_suffix) for n in names}
        labels = fileio.list_dir_or_file(seg_dir or '.', list_dir=False,
                                         suffix=self.seg_map_suffix, recursive=True,
                                         backend_args=self.backend_args)
        paired = set(names)
        unpaired = sorted(
            f for f in labels
            if f[:len(f) - len(self.seg_map_suffix)] not in paired
            # A label directory that is also the image directory lists the images too.
            and osp.join(seg_dir, f) not in images)
        if not unpaired:
            return
        shown = ', '.join(osp.join(seg_dir, f) for f in unpaired[:5])
        more = f' and {len(unpaired) - 5} more' if len(unpaired) > 5 else ''
        first = unpaired[0][:len(unpaired[0]) - len(self.seg_map_suffix)] + self.img_suffix
        message = (f'{type(self).__name__}: {len(unpaired)} label map(s) under {seg_dir} have '
                   f'no image under {img_dir} (img_suffix={self.img_suffix!r}): {shown}{more} '
                   f'(missing: {osp.join(img_dir, first)}{", ..." if len(unpaired) > 1 else ""})')
        if self.skip_bad_samples and not self.test_mode:
            warnings.warn(f'{message}; training on the {len(names)} paired images '
                          f'(skip_bad_samples=True).')
            return
        raise FileNotFoundError(
            f'{message}. Restore the images, remove the label maps, or set '
            f'skip_bad_samples=True in the training data set to train on the paired images '
            f'only.')

    def prepare_data(self, idx: int) -> Any:
        """Run the pipeline on item ``idx``; None (mmengine then draws another item) for an
        unreadable file when ``skip_bad_samples`` is set in training."""
        try:
            data = super().prepare_data(idx)
        except BadSampleError as err:
            if not self.skip_bad_samples or self.test_mode:
                raise
            self._skipped_errors.append(str(err))
            warnings.warn(f'{type(self).__name__}: skipping sample {idx} '
                          f'(skip_bad_samples=True): {err}')
            return None
        if data is not None and self._skipped_errors:
            samples = data.get('data_samples') if isinstance(data, dict) else None
            if samples is not None and hasattr(samples, 'set_metainfo'):
                samples.set_metainfo(dict(skipped_bad_samples=list(self._skipped_errors)))
                self._skipped_errors.clear()
        return data

    def load_data_list(self) -> list[dict[str, Any]]:
        """One dict per image (see the class docstring), checking that every file exists.

        Raises:
            FileNotFoundError: The image directory or the split file is missing, the split
                file names an image that does not exist, or an image has no label file.
                Without a split file, also when label maps have no image (a warning instead
                with ``skip_bad_samples`` in training).
            ValueError: No images are found.
        """
        img_dir = self.data_prefix.get('img_path', '')
        seg_dir = self.data_prefix.get('seg_map_path')
        if not fileio.isdir(img_dir or '.', backend_args=self.backend_args):
            raise FileNotFoundError(
                f'{type(self).__name__}: image directory {img_dir!r} does not exist (data_root='
                f'{self.data_root!r}, data_prefix img_path joined to it)')
        # mmseg treats an ann_file that is a directory as "no split file"; so do we.
        use_split = bool(self.ann_file) and not osp.isdir(self.ann_file)
        if use_split:
            names = self._names_from_split_file(img_dir)
        else:
            names = self._names_from_scan(img_dir)
        data_list = []
        for name in names:
            info: dict[str, Any] = dict(img_path=osp.join(img_dir, name + self.img_suffix))
            if seg_dir is not None:
                info['seg_map_path'] = osp.join(seg_dir, name + self.seg_map_suffix)
                if not self._exists(info['seg_map_path']):
                    raise FileNotFoundError(
                        f'{type(self).__name__}: image {info["img_path"]} has no label map: '
                        f'expected {info["seg_map_path"]} (seg_map_suffix='
                        f'{self.seg_map_suffix!r})')
            info.update(label_map=self.label_map, reduce_zero_label=self.reduce_zero_label,
                        seg_fields=[], num_classes=self.num_classes,
                        ignore_index=self.ignore_index)
            data_list.append(info)
        if seg_dir is not None and not use_split:
            # A split file chooses a subset on purpose; a scan should pair every label map.
            self._check_unpaired_labels(img_dir, seg_dir, names)
        if not use_split:
            data_list.sort(key=lambda x: x['img_path'])
        return data_list
