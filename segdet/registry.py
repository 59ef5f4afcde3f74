"""All of segdet's registries, each a child of mmengine's root registry of the same kind.

``locations`` lets a lookup import the package that registers the modules lazily, so
``MODELS.build(dict(type='ResNetV1c'))`` works without importing ``segdet.models`` first.
Configs set ``default_scope='segdet'``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry as MMEngineRegistry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'DATASETS', 'DATA_SAMPLERS',
    'TRANSFORMS', 'MODELS', 'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'OPTIMIZERS',
    'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS', 'METRICS',
    'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS',
    'DuplicateRegistrationError', 'Registry',
]


def _origin(obj: object) -> str:
    """``module.QualName (file:line)`` of a registered class or function."""
    import inspect
    name = f'{getattr(obj, "__module__", "?")}.{getattr(obj, "__qualname__", obj)}'
    try:
        _, line = inspect.getsourcelines(obj)
        return f'{name} ({inspect.getsourcefile(obj)}:{line})'
    except (OSError, TypeError):
        return name


class DuplicateRegistrationError(KeyError):
    """A name registered twice in one registry without ``force=True``."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Registry(MMEngineRegistry):
    """mmengine's Registry whose duplicate-name error says where both modules come from."""

    def _register_module(self, module, module_name=None, force: bool = False) -> None:
        if not force:
            names = [module_name] if isinstance(module_name, str) else (
                module_name or [getattr(module, '__name__', None)])
            for name in names:
                if name in self._module_dict:
                    raise DuplicateRegistrationError(
                        f"{name!r} is already registered in segdet's {self.name!r} registry by "
                        f'{_origin(self._module_dict[name])}; {_origin(module)} registers the '
                        'same name. Rename one of them, or pass force=True to '
                        'register_module() to replace the first.')
        super()._register_module(module, module_name, force)

RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, locations=['segdet.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, locations=['segdet.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['segdet.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['segdet.engine'])

DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, locations=['segdet.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler', parent=MMENGINE_DATA_SAMPLERS, locations=['segdet.datasets'])
TRANSFORMS = Registry(
    'transform', parent=MMENGINE_TRANSFORMS, locations=['segdet.datasets.transforms'])

MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['segdet.models'])
MODEL_WRAPPERS = Registry(
    'model wrapper', parent=MMENGINE_MODEL_WRAPPERS, locations=['segdet.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, locations=['segdet.models'])
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, locations=['segdet.models'])

OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, locations=['segdet.engine'])
OPTIM_WRAPPERS = Registry(
    'optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, locations=['segdet.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor', parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['segdet.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, locations=['segdet.engine'])

METRICS = Registry('metric', parent=MMENGINE_METRICS, locations=['segdet.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, locations=['segdet.evaluation'])

VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, locations=['segdet.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, locations=['segdet.visualization'])
LOG_PROCESSORS = Registry(
    'log_processor', parent=MMENGINE_LOG_PROCESSORS, locations=['segdet.engine'])
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS, locations=['segdet.apis'])
