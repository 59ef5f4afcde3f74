"""Pre-trained weights named in a model config: find them, check them before training, load
them with one log line, or switch them off on purpose.

A model config names weights as mmsegmentation and mmdetection do: ``pretrained='...'`` (a
segmentor's, which becomes its backbone's ``init_cfg``) or ``init_cfg=dict(type='Pretrained',
checkpoint='...')`` (a backbone's, a shared head's). :func:`find_pretrained` lists them with the
``--cfg-options`` key that switches each off; :func:`check_pretrained_available` is the
training pre-flight (every file is in the cache or downloads, else one error in seconds, before
data loaders are built); :class:`PretrainedInit` is mmengine's ``Pretrained`` initializer plus
an INFO line naming the URI, the file and how many tensors it filled.
"""
import copy
from dataclasses import dataclass
from typing import Any, Iterator, Optional

from mmengine.logging import print_log
from mmengine.model.weight_init import PretrainedInit as MMEnginePretrainedInit
from mmengine.model.weight_init import update_init_info
from mmengine.runner.checkpoint import load_state_dict

from .checkpoint_fit import state_dict_fit
from .hub import WeightsNotAvailableError, fetch, is_remote, load_uri, unavailable_message


@dataclass(frozen=True)
class PretrainedRef:
    """One place in a config that names weights.

    Attributes:
        key: Dotted config key of the setting, e.g. ``model.pretrained`` or
            ``model.backbone.init_cfg``; ``--cfg-options <key>=None`` switches it off.
        checkpoint: The URI or path it names.
    """
    key: str
    checkpoint: str


def _walk(node: Any, key: str) -> Iterator[PretrainedRef]:
    if isinstance(node, dict):
        if node.get('type') == 'Pretrained' and isinstance(node.get('checkpoint'), str):
            yield PretrainedRef(key, node['checkpoint'])
            return
        for name, value in node.items():
            child = f'{key}.{name}'
            if name == 'pretrained' and isinstance(value, str):
                yield PretrainedRef(child, value)
            else:
                yield from _walk(value, child)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _walk(value, f'{key}.{i}')


def find_pretrained(model_cfg: dict, prefix: str = 'model') -> list[PretrainedRef]:
    """Every ``pretrained=<str>`` and ``init_cfg`` of type ``Pretrained`` in a model config.

    Args:
        model_cfg: ``cfg.model`` (a dict or ConfigDict), searched recursively.
        prefix: Dotted key of ``model_cfg`` itself in the whole config.

    Returns:
        One :class:`PretrainedRef` per setting, in config order.
    """
    return list(_walk(model_cfg, prefix))


def without_pretrained(model_cfg: dict) -> dict:
    """A copy of ``model_cfg`` with every :func:`find_pretrained` setting set to None.

    What ``--cfg-options <key>=None`` does for each: the modules keep their default
    initialisation (random weights). Tests and benchmarks that need no ImageNet weights use it.
    """
    cfg = copy.deepcopy(model_cfg)
    # Last first: removing an entry of an init_cfg list must not shift the ones still to go.
    for ref in reversed(find_pretrained(cfg, prefix='')):
        *parents, last = ref.key.lstrip('.').split('.')
        node = cfg
        for part in parents:
            node = node[int(part)] if isinstance(node, (list, tuple)) else node[part]
        if isinstance(node, list):
            del node[int(last)]  # init_cfg=[Pretrained, ...]: keep the other initialisers
        else:
            node[last] = None
    return cfg


def from_scratch_option(refs: list[PretrainedRef]) -> str:
    """The ``--cfg-options`` that switch all of ``refs`` off."""
    return '--cfg-options ' + ' '.join(f'{ref.key}=None' for ref in refs)


def check_pretrained_available(model_cfg: dict, prefix: str = 'model',
                               extra: Optional[list[PretrainedRef]] = None) -> dict[str, str]:
    """Training pre-flight: every remote checkpoint the model config names is in the torch hub
    cache, or downloads now.

    Local paths are left to the loader (its FileNotFoundError names them).

    Args:
        model_cfg: ``cfg.model``.
        prefix: Dotted key of ``model_cfg`` in the whole config.
        extra: More references to check (e.g. a ``load_from`` URL).

    Returns:
        ``{uri: local file}`` for the remote ones (each logged at INFO).

    Raises:
        WeightsNotAvailableError: one is neither cached nor downloadable; the message names
            the URI, the URL, the cache path, and the ``--cfg-options`` of *this* config that
            train from scratch.
        UnknownCheckpointNameError: an unknown ``open-mmlab://`` (...) name.
    """
    refs = find_pretrained(model_cfg, prefix) + list(extra or [])
    model_refs = [r for r in refs if r.key.startswith(prefix)]
    files: dict[str, str] = {}
    for ref in refs:
        if not is_remote(ref.checkpoint) or ref.checkpoint in files:
            continue
        try:
            files[ref.checkpoint] = str(fetch(ref.checkpoint))
        except WeightsNotAvailableError as err:
            scratch = (from_scratch_option(model_refs) if ref in model_refs else
                       f'another {ref.key} (or none)')
            cause = err.__cause__
            reason = f'{type(cause).__name__}: {cause}' if cause is not None else str(err)
            raise WeightsNotAvailableError(
                f'{ref.key} = {ref.checkpoint!r}: ' + unavailable_message(
                    ref.checkpoint, err.url, err.cache_path, reason, scratch),
                uri=err.uri, url=err.url, cache_path=err.cache_path) from err.__cause__
        print_log(f'{ref.key}: {ref.checkpoint} -> {files[ref.checkpoint]}', logger='current')
    return files


class PretrainedInit(MMEnginePretrainedInit):
    """mmengine's ``Pretrained`` initializer that also logs, at INFO, which weights initialised
    the module: ``ResNet initialised from torchvision://resnet50 -> <file>: 265 of 265 tensors
    loaded (0 missing, 0 of another shape, 2 unexpected)`` (BN ``num_batches_tracked`` buffers
    are not counted; torchvision's file also holds the classifier ``fc``).

    Loading is mmengine's (``strict=False``, mismatches logged as warnings), from the file
    :func:`~segdet.engine.hub.load_uri` resolves (safe loader, torch hub cache).
    """

    def __call__(self, module: Any) -> None:
        checkpoint, file = load_uri(self.checkpoint, map_location=self.map_location)
        state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(
            checkpoint, dict) else checkpoint
        if not isinstance(state_dict, dict):
            raise TypeError(f'{self.checkpoint} ({file}) holds a {type(state_dict).__name__}, '
                            'not a state dict')
        if self.prefix is None:
            state_dict = {k[len('module.'):] if k.startswith('module.') else k: v
                          for k, v in state_dict.items()}
        else:
            prefix = self.prefix if self.prefix.endswith('.') else self.prefix + '.'
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items()
                          if k.startswith(prefix)}
            if not state_dict:
                raise KeyError(f'{self.checkpoint} ({file}) holds no key starting with {prefix!r}')
        load_state_dict(module, state_dict, strict=False, logger='current')
        fit = state_dict_fit(module, state_dict)
        source = self.checkpoint if self.checkpoint == file else f'{self.checkpoint} -> {file}'
        print_log(f'{type(module).__name__} initialised from {source}: {len(fit.loaded)} of '
                  f'{fit.total} tensors loaded ({len(fit.missing)} missing, '
                  f'{len(fit.mismatched)} of another shape, {len(fit.unexpected)} unexpected)',
                  logger='current')
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
