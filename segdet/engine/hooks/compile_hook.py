"""CompileHook: ``torch.compile`` the model's network before the test loop (``--compile``)."""
from typing import Optional

from mmengine.hooks import Hook

from segdet.engine.checkpoint_fit import unwrap_model
from segdet.engine.compile import compile_for_inference
from segdet.registry import HOOKS


@HOOKS.register_module()
class CompileHook(Hook):
    """Compile the model's network method (:func:`compile_for_inference`) on ``before_test``.

    ``tools/test.py --compile`` adds it. It runs after BatchNorm folding and the memory-format
    conversion, so the compiled graph sees the model as it will run. The first test iteration
    includes the compilation (minutes for an R-50 model on a CPU).

    Args:
        options: ``torch.compile`` keyword arguments.
    """

    priority = 'LOW'

    def __init__(self, options: Optional[dict] = None) -> None:
        self.options = dict(options or {})

    def before_test(self, runner) -> None:
        model = unwrap_model(runner.model)  # DDP and tools/test.py --tta wrap the model
        name = compile_for_inference(model, self.options)
        runner.logger.info(f'--compile: {type(model).__name__}.{name} compiled with '
                           f'torch.compile({self.options or ""}); the first iteration compiles')
