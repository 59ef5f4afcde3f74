import pytest
from mmengine.registry import DefaultScope

from segdet.registry import MODELS, TRANSFORMS
from segdet.utils import UnknownTypeError, find_type_paths, registry_hints, unknown_type_message


@pytest.fixture(autouse=True)
def segdet_scope():
    with DefaultScope.overwrite_default_scope('segdet'):
        yield


def test_find_type_paths_nested_lists():
    cfg = dict(model=dict(type='A', heads=[dict(type='B'), dict(type='C', sub=dict(type='B'))]))
    assert find_type_paths(cfg, 'B') == ['model.heads.0.type', 'model.heads.1.sub.type']
    assert find_type_paths(cfg, 'Z') == []


def test_typo_names_key_registry_scope_and_closest_names():
    cfg = dict(model=dict(type='SegDataPreProcesor'))
    with pytest.raises(UnknownTypeError) as info:
        with registry_hints(cfg):
            MODELS.build(cfg['model'])
    msg = str(info.value)
    assert "unknown type 'SegDataPreProcesor' at model.type" in msg
    assert 'segdet::model registry' in msg and "scope 'segdet'" in msg
    assert 'closest registered names: SegDataPreProcessor' in msg
    assert 'no custom_imports' in msg
    assert '\n' not in msg


def test_key_path_found_in_an_mmengine_config_object():
    from mmengine.config import Config

    cfg = Config(dict(model=dict(type='EncoderDecoder', decode_head=dict(type='PSPHaed'))))
    with pytest.raises(UnknownTypeError) as info:
        with registry_hints(cfg):
            MODELS.build(cfg.model.decode_head)
    assert "unknown type 'PSPHaed' at model.decode_head.type" in str(info.value)


def test_name_of_another_registry_and_failed_custom_import():
    cfg = dict(model=dict(type='LoadAnnotations'),
               custom_imports=dict(imports=['segdet_no_such_plugin'], allow_failed_imports=True))
    with pytest.raises(UnknownTypeError) as info:
        with registry_hints(cfg):
            MODELS.build(cfg['model'])
    msg = str(info.value)
    assert "'LoadAnnotations' is registered in the transform registry instead" in msg
    assert 'FAILED to import: segdet_no_such_plugin' in msg


def test_scoped_name_of_missing_package():
    with pytest.raises(KeyError) as info:
        TRANSFORMS.build(dict(type='nopkg.Foo'))
    msg = unknown_type_message(info.value, dict(pipeline=[dict(type='nopkg.Foo')]))
    assert msg is not None and "at pipeline.0.type" in msg
    assert "'nopkg' scope: is that package installed" in msg


def test_other_errors_pass_through_unchanged():
    assert unknown_type_message(KeyError('missing_key')) is None
    with pytest.raises(KeyError, match='plain'):
        with registry_hints({}):
            raise KeyError('plain')
