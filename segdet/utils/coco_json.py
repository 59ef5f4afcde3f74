"""Read a COCO annotation JSON into pycocotools' ``COCO``, with errors that name the file."""
import contextlib
import io
import json
from typing import Optional

from mmengine.fileio import get_local_path
from pycocotools.coco import COCO


def load_coco_json(path: str, backend_args: Optional[dict] = None, owner: str = 'COCO') -> COCO:
    """The indexed ``COCO`` object of an annotation file (pycocotools' timing prints dropped).

    pycocotools itself lets a truncated or non-JSON file end in a bare ``JSONDecodeError``
    that does not say which file it read; this names the file, the reader and the position.

    Args:
        path: The ``instances_*.json`` (a local path or one ``backend_args`` can read).
        backend_args: mmengine file backend arguments.
        owner: Who reads the file (e.g. 'CocoDataset', 'CocoMetric'), for the messages.

    Returns:
        ``COCO`` with its index built (``imgs``, ``anns``, ``cats``, ``imgToAnns`` ...).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: ``path`` is not UTF-8 JSON (e.g. truncated), or its top level is not an
            object (a results list given as an annotation file, for instance).
    """
    with get_local_path(path, backend_args=backend_args) as local_path:
        try:
            with open(local_path, encoding='utf-8') as f:
                dataset = json.load(f)
        except FileNotFoundError as err:
            raise FileNotFoundError(f'{owner}: annotation file {path} does not exist') from err
        except json.JSONDecodeError as err:
            raise ValueError(
                f'{owner}: annotation file {path} is not valid JSON: {err.msg} (line '
                f'{err.lineno}, column {err.colno}, character {err.pos}). Is it truncated (an '
                f'interrupted download or copy)?') from err
        except UnicodeDecodeError as err:
            raise ValueError(f'{owner}: annotation file {path} is not UTF-8 text '
                             f'(JSON): {err}') from err
    if not isinstance(dataset, dict):
        raise ValueError(f'{owner}: annotation file {path} holds a JSON '
                         f'{type(dataset).__name__}; a COCO annotation file is an object with '
                         f"'images', 'annotations' and 'categories' (a list is a results file)")
    coco = COCO()
    coco.dataset = dataset
    with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints its progress
        coco.createIndex()
    return coco
