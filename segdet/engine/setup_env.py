"""The one call that sets segdet up in a process; importing segdet changes no global state.

``register_all_modules()`` is what the tools, ``segdet.apis.init_model`` and code that builds
an mmengine ``Runner`` itself call before loading or writing checkpoints.
"""
import itertools
import warnings

from mmengine.registry import DefaultScope

from .atomic_io import install_atomic_local_backend
from .checkpoint import install_safe_checkpoint_loader
from .hub import install_hub_loaders

SCOPE = 'segdet'


def _init_default_scope() -> None:
    """Make 'segdet' mmengine's current default scope, warning when another one was current."""
    current = DefaultScope.get_current_instance()
    if current is not None and current.scope_name == SCOPE:
        return
    if current is not None:
        warnings.warn(f'register_all_modules: the default scope was {current.scope_name!r}; it '
                      f'is now {SCOPE!r}. Pass init_default_scope=False to keep '
                      f'{current.scope_name!r}.')
    # Instance names are unique per process: a new 'segdet' scope after another one needs a
    # fresh name.
    name = SCOPE
    for i in itertools.count(1):
        if not DefaultScope.check_instance_created(name):
            break
        name = f'{SCOPE}-{i}'
    DefaultScope.get_instance(name, scope_name=SCOPE)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register segdet's modules and install its checkpoint I/O in mmengine (idempotent).

    - Imports segdet's module packages (datasets, models, evaluation, engine, visualization),
      so every registry holds segdet's classes before a config is built.
    - Installs the safe checkpoint loader (``weights_only=True`` and an allow-list) as
      mmengine's ``CheckpointLoader`` for local paths; segdet's loaders for
      ``torchvision://``, ``open-mmlab://``, ``mmcls://`` and ``http(s)://`` (torch hub cache,
      one offline error naming the file to provide, see :mod:`segdet.engine.hub`); segdet's
      ``Pretrained`` initializer (logs which weights initialised a module); and
      :class:`~segdet.engine.atomic_io.AtomicLocalBackend` as mmengine's local storage
      backend (atomic checkpoint writes).
    - With ``init_default_scope``, makes 'segdet' mmengine's default scope (with a warning
      when another scope was current), as ``mmseg.utils.register_all_modules`` does for
      'mmseg'.

    Calling it again changes nothing further.

    Args:
        init_default_scope: Also set the default scope. A Runner sets its own from the
            config's ``default_scope``, so the tools pass False.
    """
    import segdet.datasets  # noqa: F401
    import segdet.evaluation  # noqa: F401
    import segdet.models  # noqa: F401
    import segdet.structures  # noqa: F401
    import segdet.visualization  # noqa: F401

    install_atomic_local_backend()
    install_safe_checkpoint_loader()
    install_hub_loaders()
    if init_default_scope:
        _init_default_scope()
