"""The ``meta.json`` bookkeeping shared by the writers of the synthetic shapes data.

Every writer (Cityscapes-style PNG tree, COCO instances) writes ``root/meta.json`` last: its
presence means the tree is complete, and its ``params`` tell whether an existing tree was made
with the parameters asked for now. :func:`inspect_written_tree` compares the two.
"""
import json
import os
import os.path as osp
from collections.abc import Iterable
from typing import Any, Optional

from .shapes import GENERATOR_VERSION

SPLITS = ('train', 'val')
META_FILE = 'meta.json'


def shapes_params(num_train: int = 400, num_val: int = 100, size: int = 128,
                  seed: int = 0) -> dict[str, Any]:
    """The parameters that fully determine a tree (with the generator version)."""
    return dict(num_train=int(num_train), num_val=int(num_val), size=int(size), seed=int(seed),
                generator_version=GENERATOR_VERSION)


def split_counts(params: dict[str, Any]) -> dict[str, int]:
    """Number of images of each split in :data:`SPLITS`, from ``params``."""
    return dict(train=int(params['num_train']), val=int(params['num_val']))


def read_meta(root: str) -> Optional[dict[str, Any]]:
    """The parsed ``root/meta.json``, or None when there is none."""
    path = osp.join(root, META_FILE)
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def write_meta(root: str, meta: dict[str, Any]) -> None:
    """Write ``meta`` to ``root/meta.json`` (call it last: the file marks a complete tree)."""
    with open(osp.join(root, META_FILE), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')


def remove_meta(root: str) -> None:
    """Delete ``root/meta.json`` if there is one (first, so a partial tree never looks whole)."""
    path = osp.join(root, META_FILE)
    if osp.isfile(path):
        os.remove(path)


def inspect_written_tree(root: str, params: dict[str, Any], expected: Iterable[str]) -> str:
    """What ``root`` holds compared with a tree made with ``params``.

    Args:
        root: Directory to look at.
        params: Parameters of the wanted tree (compared with ``meta.json``'s ``params``).
        expected: Paths of every file the wanted tree has; read lazily, only when the
            parameters match.

    Returns:
        'absent': no such directory, or an empty one.
        'same': a complete tree made with the same parameters.
        'different': a tree made with other parameters (or another generator version).
        'incomplete': meta.json matches but some files are missing.
        'foreign': files but no meta.json (someone else's data, or an interrupted run).
    """
    if not osp.isdir(root) or not os.listdir(root):
        return 'absent'
    meta = read_meta(root)
    if meta is None:
        return 'foreign'
    if meta.get('params') != params:
        return 'different'
    if not all(osp.isfile(path) for path in expected):
        return 'incomplete'
    return 'same'
