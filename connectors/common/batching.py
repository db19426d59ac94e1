"""Rows handed to dlt in lists rather than one by one.

dlt computes and validates the resource's table schema for every item a resource yields, a few
hundred microseconds each: a source that yields a file's rows one at a time (the spreadsheet inbox)
spent more time there than reading the files. Gathering consecutive plain rows into one list
costs nothing and makes that once per list.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

ROWS_PER_ITEM = 2_000


def in_lists(items: Iterable[Any], size: int = ROWS_PER_ITEM) -> Iterator[Any]:
    """Consecutive plain dict rows as lists of up to `size`; anything else (a row marked for another
    table, such as a quarantined one, or a dlt marker) passes through where it stood, after the
    rows before it."""
    held: list[dict[str, Any]] = []
    for item in items:
        if type(item) is dict:
            held.append(item)
            if len(held) >= size:
                yield held
                held = []
            continue
        if held:
            yield held
            held = []
        yield item
    if held:
        yield held


__all__ = ["ROWS_PER_ITEM", "in_lists"]
