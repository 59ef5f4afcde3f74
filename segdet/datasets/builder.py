"""Build the data set of one of a config's data loaders (for tools that read data sets)."""
from mmengine.config import Config
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from segdet.registry import DATASETS
from segdet.utils import registry_hints


def build_split_dataset(cfg: Config, split: str) -> BaseDataset:
    """``cfg.<split>_dataloader.dataset`` built in segdet's scope, unknown types named.

    Args:
        cfg: A loaded config.
        split: 'train', 'val' or 'test'.

    Raises:
        ValueError: the config has no ``<split>_dataloader``.
    """
    key = f'{split}_dataloader'
    if not cfg.get(key):
        raise ValueError(f'{cfg.filename or "the config"} has no {key}')
    with registry_hints(cfg), DefaultScope.overwrite_default_scope('segdet'):
        return DATASETS.build(cfg[key].dataset)
