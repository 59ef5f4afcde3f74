"""Argument checks that follow segdet's exception rule (docs/customize_models.md).

A wrong Python type is a ``TypeError``; a right-typed value out of its allowed range is a
``ValueError``. Each message starts with ``what`` (``'FCNHead: num_convs'``), so the error names
the class, the argument and the value.
"""
from typing import Any, Sequence


def check_int(value: Any, what: str, minimum: int) -> int:
    """Return ``value`` if it is an int >= ``minimum``.

    Args:
        value: The argument to check.
        what: ``'<Class>: <argument>'``, the start of the message.
        minimum: The smallest allowed value.

    Returns:
        ``value`` unchanged.

    Raises:
        TypeError: ``value`` is not an int.
        ValueError: ``value`` is an int below ``minimum``.
    """
    if not isinstance(value, int):
        raise TypeError(f'{what} must be an int, got {type(value).__name__} {value!r}')
    if value < minimum:
        raise ValueError(f'{what} must be >= {minimum}, got {value}')
    return value


def check_int_sequence(value: Any, what: str, minimum: int,
                       allow_int: bool = False) -> tuple[int, ...]:
    """Return ``value`` as a tuple if it is a non-empty list/tuple of ints >= ``minimum``.

    Args:
        value: The argument to check.
        what: ``'<Class>: <argument>'``, the start of the message.
        minimum: The smallest allowed entry.
        allow_int: Also accept one int (returned as a 1-tuple).

    Returns:
        The entries as a tuple.

    Raises:
        TypeError: ``value`` is not a list/tuple (nor an int with ``allow_int``), or an entry
            is not an int.
        ValueError: ``value`` is empty, or an entry is below ``minimum``.
    """
    kinds = 'an int or a list/tuple of ints' if allow_int else 'a list/tuple of ints'
    if allow_int and isinstance(value, int):
        entries: Sequence[Any] = (value, )
    elif isinstance(value, (list, tuple)):
        entries = value
    else:
        raise TypeError(f'{what} must be {kinds}, got {type(value).__name__} {value!r}')
    wrong = [e for e in entries if not isinstance(e, int)]
    if wrong:
        raise TypeError(f'{what} must be {kinds}, got {value!r} (entry {wrong[0]!r} is a '
                        f'{type(wrong[0]).__name__})')
    if not entries:
        raise ValueError(f'{what} must not be empty, got {value!r}')
    if min(entries) < minimum:
        subject = f'{what} entries' if isinstance(value, (list, tuple)) else what
        raise ValueError(f'{subject} must be >= {minimum}, got {value!r}')
    return tuple(entries)
