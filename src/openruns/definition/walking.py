"""How much walking through a template's value costs, shared parts counted as often as they
repeat.

A value's length is not its size: ``[[[0] * 1000] * 1000] * 5`` holds five items and took a
few thousand to build, but its repr, its JSON, comparing or hashing it, or turning it into a
run's native value visit five million. ``walk`` counts what such a walk would visit without
making it: one level of nesting at a time, in C as far as it can, and a part that repeats
looked into once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from itertools import chain, compress, repeat
from operator import mul, not_
from typing import Any

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

from openruns.definition.sizes import CONTAINER_WORK, MAX_DEPTH, MAX_VALUE_LENGTH

_SCALARS = frozenset({int, float, bool, type(None)})
_STRINGS = frozenset({str})
_LEAVES = _SCALARS | _STRINGS
_PLAIN_CONTAINERS = frozenset({list, dict})


def walk(value: Any, item_work: int, work_left: int) -> tuple[int, int, bool]:
    """What a walk through all of ``value`` (its repr or JSON, ``==``, hashing it) costs: the
    characters and items it visits, a shared part as often as it repeats, and the work of
    visiting them (``item_work`` an item, a character 1, a container ``CONTAINER_WORK``); and
    whether ``value`` is plain JSON (lists, dicts with string keys, strings, numbers, booleans,
    None).

    It goes one level of nesting at a time, in C as far as it can, and looks into a part that
    repeats once (counting it as often as it repeats), so it costs little more than the
    distinct containers it meets; it stops once the size passes ``MAX_VALUE_LENGTH`` or the
    work ``work_left``, and refuses a value nested more than ``MAX_DEPTH`` deep."""
    small = _small(value)
    if small is not None:
        items, chars, containers, plain = small
        return (
            1 + items + chars,
            (1 + items) * item_work + chars + containers * CONTAINER_WORK,
            plain,
        )
    size, work, plain = 1, item_work, True
    level: list[Any] = [value]
    times: list[int] | None = None  # how often each container of the level repeats; None: once
    for _ in range(MAX_DEPTH + 1):
        if not set(map(type, level)) <= _PLAIN_CONTAINERS:
            level, times, chars = _normalised(level, times)
            size, work, plain = size + chars, work + chars, False
        if not level or size > MAX_VALUE_LENGTH or work > work_left:
            return size, work, plain
        seqs, times, string_keys = _sequences(level, times)
        plain = plain and string_keys
        lengths = list(map(len, seqs))
        count = sum(lengths) if times is None else sum(map(mul, lengths, times))
        size, work = size + count, work + count * item_work + len(level) * CONTAINER_WORK
        if size > MAX_VALUE_LENGTH or work > work_left:
            return size, work, plain
        level, times, chars = _nested(seqs, times, lengths)
        size, work = size + chars, work + chars
        level, times = _distinct(level, times)
    raise SecurityError(f"a value nested more than {MAX_DEPTH} deep cannot be walked through")


def _sequences(
    level: list[Any], times: list[int] | None
) -> tuple[list[Any], list[int] | None, bool]:
    """The sequences of items in ``level``'s lists, tuples and dicts (a dict's keys, its
    values), with how often each repeats, and whether every dict has string keys only."""
    is_dict = [type(c) is dict for c in level]
    if not any(is_dict):
        return level, times, True
    dicts = list(compress(level, is_dict))
    string_keys = set(map(type, chain.from_iterable(dicts))) <= _STRINGS
    seqs = list(compress(level, map(not_, is_dict)))
    seqs += chain.from_iterable(zip(map(dict.keys, dicts), map(dict.values, dicts), strict=True))
    if times is not None:
        dict_times = list(compress(times, is_dict))
        times = list(compress(times, map(not_, is_dict)))
        times += chain.from_iterable(zip(dict_times, dict_times, strict=True))
    return seqs, times, string_keys


def _nested(
    seqs: list[Any], times: list[int] | None, lengths: list[int]
) -> tuple[list[Any], list[int] | None, int]:
    """The items of ``seqs`` that hold more, with how often each repeats, and the characters of
    the strings among them. A long sequence of numbers or strings is counted in one pass."""
    chars = 0
    if sum(lengths) > 32 * len(seqs):
        kept, kept_times = [], []
        for seq, count in zip(seqs, times or [1] * len(seqs), strict=True):
            if (kinds := set(map(type, seq))) <= _SCALARS:
                continue
            if kinds <= _STRINGS:
                chars += count * sum(map(len, seq))
                continue
            kept.append(seq)
            kept_times.append(count)
        seqs, times, lengths = kept, None if times is None else kept_times, list(map(len, kept))
    children = list(chain.from_iterable(seqs))
    child_times = None if times is None else list(chain.from_iterable(map(repeat, times, lengths)))
    types = list(map(type, children))
    if str in (kinds := set(types)):
        strings = list(map(_STRINGS.__contains__, types))
        counts = map(len, compress(children, strings))
        if child_times is not None:
            counts = map(mul, counts, compress(child_times, strings))
        chars += sum(counts)
    if kinds & _LEAVES:
        nested = list(map(not_, map(_LEAVES.__contains__, types)))
        children = list(compress(children, nested))
        if child_times is not None:
            child_times = list(compress(child_times, nested))
    return children, child_times, chars


def _small(value: Any) -> tuple[int, int, int, bool] | None:
    """What ``walk`` finds in a small plain value (the usual one), found quicker: its items,
    characters and containers, and whether it is plain JSON; None for any other value."""
    items, chars, containers, plain, stack = 0, 0, 0, True, [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str:
            chars += len(item)
        elif kind is list or kind is dict:
            containers += 1
            items += len(item) if kind is list else 2 * len(item)
            if items > 64:
                return None
            stack += item
            if kind is dict:
                plain = plain and all(type(key) is str for key in item)
                stack += item.values()
        elif kind not in _SCALARS:
            return None
    return items, chars, containers, plain


def _distinct(level: list[Any], times: list[int] | None) -> tuple[list[Any], list[int] | None]:
    """Each container of ``level`` once, with how often it repeats."""
    ids = list(map(id, level))
    if len(set(ids)) == len(ids):
        return level, times
    if times is None:
        repeats = Counter(ids)
    else:
        repeats = Counter()
        for key, count in zip(ids, times, strict=True):
            repeats[key] += count
    by_id = dict(zip(ids, level, strict=True))
    return list(map(by_id.__getitem__, repeats)), list(repeats.values())


def _normalised(level: list[Any], times: list[int] | None) -> tuple[list[Any], list[int], int]:
    """The containers of ``level`` as lists, tuples and dicts: a namespace as its attributes, a
    mapping or a view as a list of what its repr shows; strings (Markup) are counted as their
    characters, and other values (numbers, functions, undefined) left out."""
    containers, repeats, chars = [], [], 0
    for item, count in zip(level, times or [1] * len(level), strict=True):
        if type(item) is Namespace:
            item = item._Namespace__attrs
        elif isinstance(item, str):
            chars += count * len(item)
            continue
        elif isinstance(item, Mapping):
            item = dict(item) if type(item) is not dict else item
        elif isinstance(item, KeysView | ValuesView | ItemsView):
            item = list(item)
        elif not isinstance(item, list | tuple):
            continue
        containers.append(item)
        repeats.append(count)
    return containers, repeats, chars
