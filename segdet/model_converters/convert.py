"""Convert a checkpoint of another library into a segdet checkpoint for a named config."""
import dataclasses
import os
import pickle
from typing import Callable, Mapping, Optional

from torch import Tensor

from segdet.engine import UnsafeCheckpointError, load_checkpoint_file

from . import detectron, maskrcnn_benchmark, torchvision_rcnn
from .core import (ConversionError, ConversionReport, PathLike, Plan, TargetShapes,
                   convert_state_dict, find_state_dict)
from .target import load_target_config, save_converted, target_shapes


def _load_pth(path: PathLike, trust: bool) -> 'dict[str, Tensor]':
    """A ``.pth`` state dict, loaded with segdet's safe loader (``weights_only``)."""
    if os.fspath(path).endswith('.pkl'):
        raise ConversionError(f'{path}: a .pkl file is not a PyTorch checkpoint; Detectron '
                              '(Caffe2) weights are converted by '
                              'tools/model_converters/detectron2segdet.py')
    try:
        obj = load_checkpoint_file(path, trust=trust)
    except UnsafeCheckpointError:
        raise
    except (pickle.UnpicklingError, RuntimeError) as err:
        raise ConversionError(f'{path}: not a PyTorch checkpoint: '
                              f'{str(err).splitlines()[0]}') from None
    return find_state_dict(obj, os.fspath(path))


@dataclasses.dataclass(frozen=True)
class SourceFormat:
    """How to read one library's checkpoints and where its tensors go.

    Attributes:
        name: ``'torchvision'``, ``'maskrcnn-benchmark'``, ``'detectron'``.
        expected: What a fitting file holds (for error messages).
        load: ``load(path, trust) -> state dict``.
        make_plan: ``make_plan(target shapes) -> plan`` (see ``core.Plan``).
        dropped: Source keys left out on purpose.
        duplicate_of: Source keys that repeat another (shared modules).
        backbone_only: Whether a loaded file is an ImageNet backbone (converted into
            ``model.backbone`` alone).
    """

    name: str
    expected: str
    load: Callable[[PathLike, bool], Mapping[str, Tensor]]
    make_plan: Callable[[TargetShapes], Plan]
    dropped: Callable[[str], bool]
    duplicate_of: Callable[[str], Optional[str]] = lambda key: None
    backbone_only: Callable[[Mapping[str, Tensor]], bool] = lambda source: False


FORMATS: dict[str, SourceFormat] = {
    'torchvision': SourceFormat(torchvision_rcnn.NAME, torchvision_rcnn.EXPECTED, _load_pth,
                                torchvision_rcnn.make_plan, torchvision_rcnn.dropped),
    'maskrcnn-benchmark': SourceFormat(
        maskrcnn_benchmark.NAME, maskrcnn_benchmark.EXPECTED, _load_pth,
        maskrcnn_benchmark.make_plan, maskrcnn_benchmark.dropped,
        maskrcnn_benchmark.duplicate_of),
    'detectron': SourceFormat(detectron.NAME, detectron.EXPECTED,
                              lambda path, trust: detectron.load_detectron_pkl(path),
                              detectron.make_plan, detectron.dropped,
                              backbone_only=detectron.is_backbone_file),
}


def convert_checkpoint(src: PathLike, out_file: PathLike, config: PathLike, source_format: str,
                       cfg_options: Optional[dict] = None, trust: bool = False,
                       log: Callable[[str], None] = lambda msg: None) -> ConversionReport:
    """Convert ``src`` (a checkpoint of ``source_format``) for the model of ``config``.

    Nothing is written unless every weight of the model is filled and every tensor of the
    file is used (or left out on purpose); the output is written atomically as
    ``dict(state_dict=..., meta=...)``. For an ImageNet backbone file (Detectron's
    ``R-50-GN.pkl``) the output holds ``model.backbone``'s weights without prefix, for
    ``model.backbone.init_cfg=dict(type='Pretrained', checkpoint=OUT)``.

    Args:
        src: Source file.
        out_file: Output ``.pth``.
        config: segdet config whose model the weights are for.
        source_format: A key of :data:`FORMATS`.
        cfg_options: Overrides merged into the config (``--cfg-options``).
        trust: Unpickle a ``.pth`` in full (only for files you trust).
        log: Progress messages.

    Returns:
        The report of the conversion.

    Raises:
        KeyError: unknown ``source_format``.
        ConversionError: the file does not fit the model (counts and first names).
    """
    if source_format not in FORMATS:
        raise KeyError(f'unknown source format {source_format!r}; known: {sorted(FORMATS)}')
    fmt = FORMATS[source_format]
    log(f'loading {src} ...')
    source = fmt.load(src, trust)
    part = 'backbone' if fmt.backbone_only(source) else None
    log(f'{len(source)} tensors; building the key shapes of {config}'
        + (' (backbone only: an ImageNet file)' if part else '') + ' ...')
    cfg = load_target_config(config, cfg_options)
    targets = target_shapes(cfg, part)
    log(f'mapping {len(targets)} tensors ...')
    state_dict, report = convert_state_dict(
        source, targets, fmt.make_plan(targets), dropped=fmt.dropped,
        duplicate_of=fmt.duplicate_of, source_name=os.fspath(src), expected=fmt.expected,
        target_name=(f"the backbone of {config}" if part else f'the model of {config}'))
    meta = dict(converted_from=os.path.basename(os.fspath(src)), source_format=fmt.name,
                config=os.fspath(config), part=part or 'model',
                dropped=list(report.dropped), constants=list(report.constants))
    log(f'writing {out_file} ...')
    save_converted(state_dict, out_file, meta)
    return report
