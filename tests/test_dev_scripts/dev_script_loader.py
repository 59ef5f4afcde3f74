"""The scripts of ``.dev_scripts/`` are files, not a package: tests load them by path."""
import importlib.util
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_dev_script(name: str) -> ModuleType:
    """Import ``.dev_scripts/<name>.py`` as module ``segdet_dev_<name>``."""
    spec = importlib.util.spec_from_file_location(f'segdet_dev_{name}',
                                                  REPO / '.dev_scripts' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
