"""The key-mapping engine shared by the checkpoint converters.

A converter knows, for every weight of the segdet model that a config builds (the *target*),
where that weight is in the source checkpoint: :class:`Source` names the source tensor(s) and
how to turn them into the target tensor (identity, a class-row permutation, a frozen-BN
folding, a constant). :func:`convert_state_dict` applies such a plan and checks it completely
before anything is written:

- every target key is filled, with exactly the target's shape;
- every source tensor is consumed once (it is the first key of exactly one target's
  :class:`Source`), or is deliberately dropped (optimizer momenta, ImageNet classifiers,
  anchor buffers, ...), or is a duplicate of one that is consumed (a shared module saved twice).

Any violation raises :class:`ConversionError`, which names what the converter expected and
what it found (counts and the first unmatched names), so a checkpoint of another architecture
(a segmentation model, an R-101 for an R-50 config, a Faster R-CNN for a Mask R-CNN config)
stops the conversion instead of producing a half-filled checkpoint.
"""
import collections
import dataclasses
import os
from typing import Callable, Iterable, Mapping, Optional, Sequence, Union

import torch
from torch import Tensor

PathLike = Union[str, 'os.PathLike[str]']
TargetShapes = Mapping[str, torch.Size]

#: How many unmatched names an error message lists per kind.
SHOW = 5


class ConversionError(ValueError):
    """The source checkpoint does not fit the target model; nothing was written."""


class ClassLayoutError(ValueError):
    """A class-specific tensor's row count fits no known class layout (raised by transforms)."""


@dataclasses.dataclass(frozen=True)
class Source:
    """Where one target tensor comes from.

    Attributes:
        keys: Source keys read, the first one *consumed* (the others, e.g. the running
            variance a frozen-BN weight is folded with, are only read). Empty for a constant.
        fn: ``fn(*tensors) -> tensor``; None returns the one source tensor unchanged.
        const: For ``keys == ()``: ``const(target_shape) -> tensor`` (e.g. zeros).
        note: Shown in reports (``'constant 0'``, ``'classes: background first -> last'``).
    """

    keys: tuple[str, ...] = ()
    fn: Optional[Callable[..., Tensor]] = None
    const: Optional[Callable[[torch.Size], Tensor]] = None
    note: str = ''

    def available(self, source: Mapping[str, Tensor]) -> bool:
        """Whether all of its keys are in ``source``."""
        return all(k in source for k in self.keys)


def constant(value: float, dtype: torch.dtype = torch.float32, note: str = '') -> Source:
    """A target filled with ``value`` (no source tensor), e.g. BN ``num_batches_tracked``."""
    return Source(const=lambda shape: torch.full(tuple(shape), value, dtype=dtype),
                  note=note or f'constant {value:g}')


def named(modules: Sequence[str], param: str) -> list[Source]:
    """Candidates ``<module>.<param>`` for each of ``modules``, in order (alternative names of
    one module, e.g. an old and a new layout of the same library)."""
    return [Source((f'{module}.{param}',)) for module in modules]


# A plan gives, per target key and shape, its candidate sources, most preferred first (the
# first whose keys are all present is used); an empty list means "no known source".
Plan = Callable[[str, torch.Size], Sequence[Source]]


@dataclasses.dataclass
class ConversionReport:
    """What a conversion did: counts for the log and for ``meta``."""

    num_target: int
    num_source: int
    constants: list[str]
    dropped: list[str]
    duplicates: list[str]

    def summary(self) -> str:
        """One line: what was filled from where, what was left out on purpose."""
        return (f'{self.num_target} target tensors filled: '
                f'{self.num_target - len(self.constants)} from the file, '
                f'{len(self.constants)} constants (BN statistics the file does not hold); '
                f'{len(self.dropped)} tensors of the file left out on purpose, '
                f'{len(self.duplicates)} copies of used ones skipped')


def _first(names: Iterable[str], n: int = SHOW, quote: bool = True) -> str:
    names = list(names)
    shown = ', '.join(repr(x) if quote else x for x in names[:n])
    return shown + (f', ... ({len(names) - n} more)' if len(names) > n else '')


def convert_state_dict(source: Mapping[str, Tensor], targets: TargetShapes, plan: Plan, *,
                       dropped: Callable[[str], bool] = lambda key: False,
                       duplicate_of: Callable[[str], Optional[str]] = lambda key: None,
                       source_name: str = 'the source checkpoint',
                       expected: str = 'a checkpoint of the same architecture',
                       target_name: str = 'the target model'
                       ) -> tuple['collections.OrderedDict[str, Tensor]', ConversionReport]:
    """Fill every target tensor from ``source`` following ``plan``, checking everything.

    Args:
        source: Source state dict (tensor values).
        targets: Target key -> shape, in the order the output should have.
        plan: Candidate sources of each target key (see :data:`Plan`).
        dropped: Source keys left out on purpose (not counted as unused).
        duplicate_of: For a source key that repeats another (a module shared under two
            names), the key it repeats; it is skipped if the two tensors are equal.
        source_name, expected, target_name: For messages (file, what it should be, config).

    Returns:
        The target state dict (an ``OrderedDict`` in ``targets`` order) and a report.

    Raises:
        ConversionError: some target has no source, some source tensor is not consumed or is
            consumed twice, a converted tensor has the wrong shape, or a duplicate differs.
    """
    out: 'collections.OrderedDict[str, Tensor]' = collections.OrderedDict()
    consumed: collections.Counter = collections.Counter()
    missing: list[str] = []
    wrong: list[str] = []
    constants: list[str] = []
    for key, shape in targets.items():
        shape = torch.Size(shape)
        candidates = list(plan(key, shape))
        chosen = next((c for c in candidates if c.available(source)), None)
        if chosen is None:
            hint = f' <- {candidates[0].keys[0]!r}' if candidates and candidates[0].keys else ''
            missing.append(f'{key!r}{hint}')
            continue
        if not chosen.keys:
            out[key] = chosen.const(shape) if chosen.const else torch.zeros(shape)
            constants.append(key)
            continue
        consumed[chosen.keys[0]] += 1
        tensors = [source[k] for k in chosen.keys]
        try:
            value = chosen.fn(*tensors) if chosen.fn is not None else tensors[0]
        except ClassLayoutError as err:
            wrong.append(f'{key!r} <- {chosen.keys[0]!r}: {err}')
            continue
        if not isinstance(value, Tensor):
            raise TypeError(f'converter bug: {key} <- {chosen.keys} gave '
                            f'{type(value).__name__}, not a tensor')
        if tuple(value.shape) != tuple(shape):
            wrong.append(f'{key!r} <- {chosen.keys[0]!r}: file {tuple(value.shape)}, '
                         f'model {tuple(shape)}')
            continue
        out[key] = value.detach().clone().contiguous()

    twice = [k for k, n in consumed.items() if n > 1]
    left_out, dups, unused, differing = [], [], [], []
    for key in source:
        if consumed[key]:
            continue
        if dropped(key):
            left_out.append(key)
            continue
        original = duplicate_of(key)
        if original is not None and consumed[original]:
            if torch.equal(source[key], source[original]):
                dups.append(key)
            else:
                differing.append(f'{key!r} (differs from {original!r})')
            continue
        unused.append(key)

    if missing or wrong or unused or twice or differing:
        lines = [f'{source_name} does not fit {target_name}: expected {expected}.']
        if missing:
            lines.append(f'  {len(missing)} of the {len(targets)} tensors of the model have no '
                         f'source in the file (first: {_first(missing, quote=False)})')
        if unused:
            lines.append(f'  {len(unused)} of the {len(source)} tensors of the file are not '
                         f'used (first: {_first(unused)})')
        if wrong:
            lines.append(f'  {len(wrong)} shapes differ (first: {_first(wrong, 3, quote=False)})')
        if twice:
            lines.append(f'  {len(twice)} tensors of the file would fill several weights '
                         f'(first: {_first(twice)})')
        if differing:
            lines.append(f'  {len(differing)} duplicated tensors differ from the ones used '
                         f'(first: {_first(differing, quote=False)})')
        lines.append('No checkpoint was written. Check that the file and --config describe '
                     'the same architecture (depth, neck, heads, number of classes).')
        raise ConversionError('\n'.join(lines))
    report = ConversionReport(num_target=len(targets), num_source=len(source),
                              constants=constants, dropped=left_out, duplicates=dups)
    return out, report


def strip_prefix(state_dict: Mapping[str, Tensor], prefix: str = 'module.'
                 ) -> 'collections.OrderedDict[str, Tensor]':
    """Remove a prefix that every key has (``module.`` of DistributedDataParallel)."""
    if state_dict and all(k.startswith(prefix) for k in state_dict):
        return collections.OrderedDict((k[len(prefix):], v) for k, v in state_dict.items())
    return collections.OrderedDict(state_dict)


def find_state_dict(obj: object, source_name: str,
                    containers: Sequence[str] = ('state_dict', 'model')
                    ) -> 'collections.OrderedDict[str, Tensor]':
    """The state dict in a loaded checkpoint: the object itself, or under one of
    ``containers`` (``model`` for maskrcnn-benchmark and torchvision's reference scripts);
    a ``module.`` prefix is removed; non-tensor entries are refused.

    Raises:
        ConversionError: no mapping of names to tensors was found.
    """
    if isinstance(obj, Mapping):
        for name in containers:
            if isinstance(obj.get(name), Mapping):
                obj = obj[name]
                break
    if not isinstance(obj, Mapping) or not obj:
        raise ConversionError(f'{source_name}: no state dict found (expected a mapping of '
                              f'names to tensors, or one under {list(containers)}), got '
                              f'{type(obj).__name__}')
    bad = [k for k, v in obj.items() if not isinstance(v, Tensor)]
    if bad:
        raise ConversionError(f'{source_name}: {len(bad)} entries of the state dict are not '
                              f'tensors (first: {_first(bad)}); is it a full training '
                              'checkpoint whose weights sit under another key?')
    return strip_prefix(obj)
