"""Unreadable image/label files: named errors, or skipped with a warning when asked to."""
from pathlib import Path

import pytest

from segdet.datasets import BaseSegDataset
from segdet.datasets.transforms import BadSampleError

PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]


def dataset(root: Path, **kwargs) -> BaseSegDataset:
    return BaseSegDataset(data_root=str(root), img_suffix='.png', seg_map_suffix='_label.png',
                          data_prefix=dict(img_path='img_dir/train', seg_map_path='ann_dir/train'),
                          metainfo=dict(classes=('a', 'b', 'c')), pipeline=PIPELINE, **kwargs)


def corrupt(path: Path) -> None:
    path.write_bytes(b'\x89PNG\r\n\x1a\n this is not an image')


def test_unreadable_image_is_named(custom_root: Path) -> None:
    corrupt(custom_root / 'img_dir/train/b.png')
    ds = dataset(custom_root)
    with pytest.raises(BadSampleError, match=r'cannot read image .*img_dir/train/b\.png'):
        ds[1]


def test_unreadable_label_map_is_named(custom_root: Path) -> None:
    corrupt(custom_root / 'ann_dir/train/a_label.png')
    with pytest.raises(BadSampleError, match=r'label map .*ann_dir/train/a_label\.png'):
        dataset(custom_root)[0]


def test_image_deleted_after_indexing_is_named(custom_root: Path) -> None:
    ds = dataset(custom_root)
    ds.full_init()
    (custom_root / 'img_dir/train/a.png').unlink()
    with pytest.raises(BadSampleError, match=r'img_dir/train/a\.png'):
        ds[0]


def test_skip_bad_samples_replaces_and_tags(custom_root: Path) -> None:
    corrupt(custom_root / 'img_dir/train/b.png')
    ds = dataset(custom_root, skip_bad_samples=True)
    with pytest.warns(UserWarning, match=r'skipping sample 1 .*img_dir/train/b\.png'):
        item = ds[1]
    sample = item['data_samples']
    assert not sample.img_path.endswith('b.png')
    # The random replacement may hit the bad image again before a good one: each skip is tagged.
    skipped = sample.skipped_bad_samples
    assert skipped and all('img_dir/train/b.png' in message for message in skipped)
    # Later good samples carry no tag.
    assert 'skipped_bad_samples' not in ds[0]['data_samples']


def test_skip_bad_samples_never_applies_in_test_mode(custom_root: Path) -> None:
    corrupt(custom_root / 'img_dir/train/b.png')
    ds = dataset(custom_root, skip_bad_samples=True, test_mode=True)
    with pytest.raises(BadSampleError, match='b.png'):
        ds[1]
