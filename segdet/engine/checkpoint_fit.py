"""Does a checkpoint fit the model it is loaded into? Count what would be loaded, and refuse a
checkpoint of another model instead of evaluating random weights.

mmengine loads with ``strict=False``: a segmentation checkpoint given to a Mask R-CNN config
logs a long list of mismatches and the model then runs with random heads. segdet refuses a
checkpoint when more than :data:`MAX_NOT_LOADED` (10 %) of the model's state-dict tensors, or of
its weight elements, would not be loaded (missing from the checkpoint or of another shape);
fine-tuning checkpoints whose classifier alone differs stay well below that. Loading only what
fits is still possible on purpose (``--allow-partial-checkpoint``,
``init_model(..., allow_partial=True)``).
"""
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import torch
from mmengine.logging import print_log
from mmengine.model import BaseTTAModel, is_model_wrapper

MAX_NOT_LOADED = 0.1
ALLOW_PARTIAL_HINT = ('pass --allow-partial-checkpoint (Python: init_model(..., '
                      'allow_partial=True)) to load only the tensors that fit')


class CheckpointMismatchError(ValueError):
    """A checkpoint whose tensors do not fit the model (see :func:`check_checkpoint_fits`)."""


@dataclass
class StateDictFit:
    """How a state dict fits a model (``num_batches_tracked`` buffers left out, as mmengine does).

    Attributes:
        loaded: Model keys the state dict fills (same name and shape).
        missing: Model keys the state dict lacks.
        mismatched: ``(key, checkpoint shape, model shape)`` for same-named tensors of another
            shape.
        unexpected: State-dict keys the model lacks.
        model_numel: Elements of all model tensors counted.
        loaded_numel: Elements of the loaded ones.
    """
    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, tuple, tuple]] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    model_numel: int = 0
    loaded_numel: int = 0

    @property
    def total(self) -> int:
        """The number of model tensors counted."""
        return len(self.loaded) + len(self.missing) + len(self.mismatched)

    @property
    def not_loaded_fraction(self) -> float:
        """The larger of the fractions of tensors and of elements that would not be loaded."""
        if not self.total:
            return 0.0
        by_tensors = 1 - len(self.loaded) / self.total
        by_elements = 1 - self.loaded_numel / self.model_numel if self.model_numel else 0.0
        return max(by_tensors, by_elements)

    def summary(self, first: int = 5) -> str:
        """Counts and the first ``first`` names of each kind of mismatch."""
        def names(items: list, fmt=str) -> str:
            shown = ', '.join(fmt(i) for i in items[:first])
            return shown + (', ...' if len(items) > first else '')
        parts = [f'{len(self.loaded)} of {self.total} model tensors would be loaded '
                 f'({self.loaded_numel} of {self.model_numel} elements)']
        if self.missing:
            parts.append(f'{len(self.missing)} missing from the checkpoint ({names(self.missing)})')
        if self.mismatched:
            parts.append(f'{len(self.mismatched)} of another shape ('
                         + names(self.mismatched, lambda m: f'{m[0]}: checkpoint '
                                 f'{tuple(m[1])}, model {tuple(m[2])}') + ')')
        if self.unexpected:
            parts.append(f'{len(self.unexpected)} checkpoint tensors the model does not have '
                         f'({names(self.unexpected)})')
        return '; '.join(parts)


def _counted(key: str) -> bool:
    return not key.endswith('num_batches_tracked')


def state_dict_fit(model: torch.nn.Module, state_dict: dict) -> StateDictFit:
    """Compare ``state_dict`` with ``model.state_dict()`` by name and shape.

    Args:
        model: The module the state dict is meant for (a wrapper's ``.module``).
        state_dict: ``{name: tensor}`` with the model's key names (prefixes already stripped).

    Returns:
        A :class:`StateDictFit`.
    """
    fit = StateDictFit()
    own = {k: v for k, v in model.state_dict().items() if _counted(k)}
    for key, tensor in own.items():
        fit.model_numel += tensor.numel()
        if key not in state_dict:
            fit.missing.append(key)
            continue
        theirs = state_dict[key]
        shape = tuple(getattr(theirs, 'shape', ()))
        if shape != tuple(tensor.shape):
            fit.mismatched.append((key, shape, tuple(tensor.shape)))
        else:
            fit.loaded.append(key)
            fit.loaded_numel += tensor.numel()
    fit.unexpected = [k for k in state_dict if k not in own and _counted(k)]
    return fit


def checkpoint_state_dict(checkpoint: Any,
                          revise_keys: tuple = ((r'^module\.', ''), )) -> dict:
    """The state dict of a loaded checkpoint, keys revised as mmengine's loaders revise them."""
    state_dict = checkpoint.get('state_dict', checkpoint) if isinstance(
        checkpoint, dict) else checkpoint
    if not isinstance(state_dict, dict):
        raise CheckpointMismatchError(
            f'the checkpoint holds a {type(state_dict).__name__}, not a state dict')
    for pattern, repl in revise_keys:
        state_dict = {re.sub(pattern, repl, k): v for k, v in state_dict.items()}
    return state_dict


def unwrap_model(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside DDP / TTA wrappers (what mmengine loads a checkpoint into)."""
    while is_model_wrapper(model) or isinstance(model, BaseTTAModel):
        model = model.module
    return model


def check_checkpoint_fits(model: torch.nn.Module, checkpoint: Any, source: str = 'the checkpoint',
                          max_not_loaded: float = MAX_NOT_LOADED,
                          allow_partial: bool = False) -> StateDictFit:
    """Refuse a checkpoint that leaves more than ``max_not_loaded`` of the model unloaded.

    Args:
        model: The model (wrappers are unwrapped).
        checkpoint: The loaded checkpoint (a dict with ``state_dict``, or a state dict).
        source: How to name the checkpoint in messages (its path or URL).
        max_not_loaded: Largest fraction of tensors or of elements that may stay unloaded.
        allow_partial: Log the mismatch as a warning instead of raising.

    Returns:
        The :class:`StateDictFit`.

    Raises:
        CheckpointMismatchError: (a ValueError) too much would not be loaded; the message
            gives the counts, the first names, and the opt-in.
    """
    model = unwrap_model(model)
    fit = state_dict_fit(model, checkpoint_state_dict(checkpoint))
    fraction = fit.not_loaded_fraction
    if fraction > max_not_loaded:
        message = (f'{source} does not fit the model {type(model).__name__}: '
                   f'{fraction:.1%} of it would not be loaded (at most {max_not_loaded:.0%} '
                   f'allowed). {fit.summary()}.')
        if not allow_partial:
            raise CheckpointMismatchError(
                f'{message} Was it trained with another config? To use it anyway, '
                f'{ALLOW_PARTIAL_HINT}.')
        print_log(f'{message} Loading what fits (allow_partial).', logger='current',
                  level=logging.WARNING)
    return fit
