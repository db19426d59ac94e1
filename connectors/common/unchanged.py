"""Skip the parts of a whole-list read that equal what the last run loaded.

Some APIs can only be read whole: Unisender's contact export, Sendsay's member list. Merging the
whole list again on every run cost a run with nothing new most of its extraction time (dlt's
normaliser and a merge of every row: at 1 M people about 19 s for Unisender's contacts and 17 s
for Sendsay's members). The read still has to happen, since nothing else says whether the list
changed; what is skipped is handing dlt the chunks it already has.

A resource cuts its read into chunks in the API's own order (an export's rows 5,000 at a time, a
member list's pages) and asks `UnchangedChunks.changed(chunk)` for each; the digests of the chunks
(by position) live in the resource's dlt state. A chunk whose digest equals the one at its
position last run is not yielded. This is exact for a merge table that only this resource writes:
every row of a skipped chunk was loaded from the same position, with the same content, by the last
run (or skipped then for the same reason), and nothing has overwritten it since, because a row that
moved to another chunk changed both chunks. When the API's order is not stable, every chunk
differs and the whole list loads, as before: slower, never wrong.

dlt commits resource state only together with a successful load, so a run that fails keeps the old
digests and the next run loads the same chunks again. A list that shrank forgets the digests past
its end. If a raw table is emptied by hand, drop the resource's state with it
(`dlt pipeline <pipeline> drop <resource>`), or the unchanged chunks would not come back.

Chunk digests, not per-row ones: the state is written into the warehouse with every load that
changes it, so its size must not grow with the base (about 50 bytes per 5,000 rows here).
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence

import orjson

STATE_KEY = "chunk_digests"


def digest(chunk: Any) -> str:
    """A 128-bit digest of a chunk's JSON (keys sorted, so a reordered dict is the same row)."""
    body = orjson.dumps(chunk, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.blake2b(body, digest_size=16).hexdigest()


class UnchangedChunks:
    """Which chunks of this read differ from the chunk at the same position last run. Create it
    inside the resource (it reads `dlt.current.resource_state()`), pass every chunk in order."""

    def __init__(self, state: dict[str, Any], key: str = STATE_KEY):
        self._last: list[str] = list(state.get(key) or [])
        self._now: list[str] = []
        # The new list replaces the old in the same state dict; dlt saves it only with the load.
        state[key] = self._now
        self.skipped_rows = 0

    def changed(self, chunk: Sequence[Any]) -> bool:
        position = len(self._now)
        value = digest(chunk)
        self._now.append(value)
        same = position < len(self._last) and self._last[position] == value
        if same:
            self.skipped_rows += len(chunk)
        return not same


__all__ = ["UnchangedChunks", "digest"]
