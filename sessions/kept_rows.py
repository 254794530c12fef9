"""Rows a live drawing reads with every change, kept between drawings (one cache per web
process), the way sessions.results keeps tests.

A drawing at 600 entries and 500 findings built some 2,000 model instances each time, a
third of its CPU, though a change alters one or two rows. Here a list is read as small
tuples of what its drawing shows (a stamp); an instance is built anew only where the
stamp differs from the last drawing's, and the others are the same objects as then.

A kept instance belongs to one drawing at a time: the list is taken out of the cache while
it is used (a second drawing of the same list meanwhile builds its own), and what a
drawing attaches to an instance (a result, "can run") it sets afresh every time."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db.models import JSONField, Model, QuerySet, TextField
from django.db.models.functions import Cast

KEPT_LISTS = 64  # lists kept per process: a few per live session with members here

_lock = threading.Lock()
_kept: OrderedDict[tuple, dict[int, tuple[tuple, Model]]] = OrderedDict()


def instances(name: tuple, rows: QuerySet, stamp: tuple[str, ...], *,
              fresh: tuple[str, ...] = ()) -> list[Model]:
    """`rows` as instances, in its order. `stamp`: the fields (related ones by path, e.g.
    "author__email") whose change means the instance is built again; together they must
    cover everything a drawing shows of a row. `fresh`: fields read every time and set on
    a kept instance (a presence stamp that moves with every pulse)."""
    read = list(rows.values_list("pk", *_as_read(rows.model, stamp), *fresh))
    with _lock:
        kept = _kept.pop(name, {})
    width = len(stamp)
    changed = [row[0] for row in read
               if row[0] not in kept or kept[row[0]][0] != row[1:1 + width]]
    built = {obj.pk: obj for obj in rows.filter(pk__in=changed)} if changed else {}
    found, keep = [], {}
    for pk, *values in read:
        key = tuple(values[:width])
        obj = built.get(pk)
        if obj is None:
            before = kept.get(pk)
            if before is None or before[0] != key:
                continue  # deleted between the two reads: gone from the next one too
            obj = before[1]
            for field, value in zip(fresh, values[width:], strict=True):
                setattr(obj, field, value)
        keep[pk] = (key, obj)
        found.append(obj)
    with _lock:
        _kept[name] = keep
        while len(_kept) > KEPT_LISTS:
            _kept.popitem(last=False)
    return found


def _as_read(model: type[Model], stamp: tuple[str, ...]) -> list:
    """A JSON column is compared as the database's text of it: decoding 900 of them was a
    sixth of a drawing, and its text changes when it does."""
    return [Cast(name, TextField()) if isinstance(_field(model, name), JSONField) else name
            for name in stamp]


def _field(model: type[Model], path: str):
    *through, last = path.split("__")
    for name in through:
        model = model._meta.get_field(name).related_model
    return model._meta.get_field(last)


def forget() -> None:
    """Tests: start from nothing kept."""
    with _lock:
        _kept.clear()
