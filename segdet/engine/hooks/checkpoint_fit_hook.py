"""Refuse a ``load_from`` checkpoint that does not fit the model (``tools/test.py``)."""
from typing import Any, Optional

from mmengine.hooks import Hook

from segdet.registry import HOOKS
from ..checkpoint_fit import MAX_NOT_LOADED, check_checkpoint_fits


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Refuse, in ``Runner.load_checkpoint``, a ``load_from`` checkpoint of another model.

    ``tools/test.py`` adds it unless ``--allow-partial-checkpoint`` is given. It runs in
    ``after_load_checkpoint``, which mmengine calls after reading the file and before loading
    it into the model, so a mismatch stops the run before any image is evaluated.

    Args:
        max_not_loaded: See :func:`check_checkpoint_fits`.
    """

    priority = 'VERY_LOW'  # after hooks that rewrite the checkpoint (EMA)

    def __init__(self, max_not_loaded: float = MAX_NOT_LOADED) -> None:
        self.max_not_loaded = max_not_loaded

    def after_load_checkpoint(self, runner: Any, checkpoint: dict) -> None:
        source: Optional[str] = getattr(runner, '_load_from', None)
        check_checkpoint_fits(runner.model, checkpoint, source or 'the checkpoint',
                              self.max_not_loaded)
