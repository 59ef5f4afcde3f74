"""Find the configs that ship with segdet: ``segdet.list_configs('pspnet_r50*')``."""
import fnmatch
import os.path as osp
from pathlib import Path
from typing import Optional


def config_root() -> Optional[Path]:
    """The ``configs/`` folder next to the package (source or editable install), if any."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / 'configs', here / '.mim' / 'configs'):
        if candidate.is_dir():
            return candidate
    return None


def list_configs(pattern: str = '*', full_path: bool = False) -> list[str]:
    """Configs whose name (without ``.py``) or relative path matches a shell pattern.

    Base configs under ``_base_/`` are not listed.

    Args:
        pattern: e.g. ``'pspnet_r50*'``, ``'deeplabv3plus/*voc*'``, ``'*amp*'``.
        full_path: Return absolute paths instead of paths relative to the configs folder.

    Returns:
        Sorted matches, e.g. ``['pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py', ...]``.

    Raises:
        FileNotFoundError: segdet was installed without its configs folder.
    """
    root = config_root()
    if root is None:
        raise FileNotFoundError('segdet\'s configs/ folder was not found next to the package; '
                                'install segdet from its source tree (pip install -e .)')
    found = []
    for path in sorted(root.rglob('*.py')):
        rel = path.relative_to(root).as_posix()
        if rel.startswith('_base_/'):
            continue
        name = osp.splitext(path.name)[0]
        if fnmatch.fnmatch(name, pattern) or fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(
                osp.splitext(rel)[0], pattern):
            found.append(str(path) if full_path else rel)
    return found
