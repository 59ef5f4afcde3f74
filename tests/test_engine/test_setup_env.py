"""Importing segdet changes nothing global; ``register_all_modules()`` installs segdet's
checkpoint I/O in mmengine (and the default scope when asked), and calling it twice is harmless.

Each check runs in a fresh interpreter: the pytest process has long imported segdet and may
already have called ``register_all_modules``.
"""
import json
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Prints, as JSON, mmengine's global state after each step. The local backend and the local
# checkpoint loader are compared by identity with what mmengine had before segdet was imported.
PROBE = textwrap.dedent('''
    import json, warnings
    import mmengine.fileio.backends.registry_utils as backends
    from mmengine.fileio import get_file_backend
    from mmengine.registry import WEIGHT_INITIALIZERS, DefaultScope
    from mmengine.runner.checkpoint import CheckpointLoader

    pristine = dict(backend=backends.backends['local'], prefix=backends.prefix_to_backends[''],
                    loader=CheckpointLoader._schemes[''])

    def state():
        scope = DefaultScope.get_current_instance()
        return dict(
            backend_pristine=backends.backends['local'] is pristine['backend'],
            prefix_pristine=backends.prefix_to_backends[''] is pristine['prefix'],
            loader_pristine=CheckpointLoader._schemes[''] is pristine['loader'],
            backend=backends.backends['local'].__qualname__,
            file_backend=type(get_file_backend('x.pth')).__qualname__,
            loader=CheckpointLoader._schemes[''].__module__,
            uri_loaders={p: CheckpointLoader._schemes[p].__module__ for p in (
                'torchvision://', 'modelzoo://', 'open-mmlab://', 'openmmlab://', 'mmcls://',
                'http://', 'https://')},
            pretrained_init=WEIGHT_INITIALIZERS.get('Pretrained').__module__,
            scope=None if scope is None else scope.scope_name)

    states = dict(before=state())
    get_file_backend('cached.pth')  # a cached instance of the old backend must be dropped
    import segdet, segdet.engine, segdet.models, segdet.datasets, segdet.apis  # noqa
    import segdet.evaluation, segdet.visualization, segdet.structures, segdet.utils  # noqa
    import segdet.engine.hooks, segdet.engine.optimizers, segdet.ops  # noqa
    states['imported'] = state()
    from segdet.engine import register_all_modules
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        register_all_modules(init_default_scope=MODE == 'scope')
        states['registered'] = state()
        register_all_modules(init_default_scope=MODE == 'scope')
        states['twice'] = state()
    states['warnings'] = [str(w.message) for w in caught if 'scope' in str(w.message)]
    states['cached_backend'] = type(get_file_backend('cached.pth')).__qualname__
    print(json.dumps(states))
''')


def probe(mode: str) -> dict:
    done = subprocess.run([sys.executable, '-c', f'MODE = {mode!r}\n' + PROBE], cwd=REPO,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_changes_nothing_and_register_installs_segdet_io() -> None:
    states = probe('no_scope')
    before, imported = states['before'], states['imported']
    assert before['backend'] == 'LocalBackend' and before['file_backend'] == 'LocalBackend'
    # Importing every segdet package leaves mmengine's backend, loader and scope as they were.
    assert imported == before
    assert imported['backend_pristine'] and imported['prefix_pristine']
    assert imported['loader_pristine'] and imported['scope'] is None

    registered = states['registered']
    assert registered['backend'] == registered['file_backend'] == 'AtomicLocalBackend'
    assert registered['loader'] == 'segdet.engine.checkpoint'
    # torchvision://, open-mmlab://, URLs: mmengine's loaders until registered, then segdet's
    # (torch hub cache, safe loader, one offline error); likewise the Pretrained initializer.
    assert set(imported['uri_loaders'].values()) == {'mmengine.runner.checkpoint'}
    assert imported['pretrained_init'] == 'mmengine.model.weight_init'
    assert set(registered['uri_loaders'].values()) == {'segdet.engine.hub'}
    assert registered['pretrained_init'] == 'segdet.engine.pretrained'
    assert not registered['loader_pristine'] and not registered['prefix_pristine']
    assert registered['scope'] is None  # init_default_scope=False leaves the scope alone
    assert states['cached_backend'] == 'AtomicLocalBackend'
    assert states['twice'] == registered


def test_register_sets_the_default_scope_once() -> None:
    states = probe('scope')
    assert states['imported']['scope'] is None
    assert states['registered']['scope'] == states['twice']['scope'] == 'segdet'
    assert states['registered']['loader'] == 'segdet.engine.checkpoint'
    assert states['warnings'] == []  # the second call finds 'segdet' current: nothing to say


def test_register_warns_when_replacing_another_scope() -> None:
    code = textwrap.dedent('''
        import warnings
        from mmengine.registry import DefaultScope
        from segdet.engine import register_all_modules
        DefaultScope.get_instance('other', scope_name='mmdet')
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            register_all_modules()
        print(DefaultScope.get_current_instance().scope_name)
        print([str(w.message) for w in caught if 'scope' in str(w.message)])
    ''')
    done = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    scope, warned = done.stdout.strip().splitlines()[-2:]
    assert scope == 'segdet'
    assert "'mmdet'" in warned and 'init_default_scope=False' in warned
