"""segdet.list_configs finds shipped configs by shell pattern."""
from pathlib import Path

import segdet


def test_patterns() -> None:
    psp = segdet.list_configs('pspnet_r50*')
    assert 'pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py' in psp
    assert all(p.startswith('pspnet/pspnet_r50') for p in psp)
    amp = segdet.list_configs('*amp*')
    assert sorted(Path(p).parent.name for p in amp) == ['deeplabv3plus', 'fcn', 'mask_rcnn',
                                                        'pspnet']
    assert segdet.list_configs('demo/*') == ['demo/deeplabv3plus_r18b_1xb8-1500_shapes-128x128.py',
                                             'demo/mask-rcnn_r18_fpn_1xb8-600_shapes-coco.py']
    assert not any(p.startswith('_base_') for p in segdet.list_configs())
    assert segdet.list_configs('no-such-model*') == []


def test_full_paths_exist() -> None:
    paths = segdet.list_configs('fcn_r50-d8*', full_path=True)
    assert paths and all(Path(p).is_file() for p in paths)
