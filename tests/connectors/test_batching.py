"""connectors/common/batching.py: rows reach dlt in lists, in order, with marked items where they stood."""

from connectors.common.batching import in_lists
from connectors.common.quarantine import quarantined


def test_plain_rows_are_listed_and_marked_items_keep_their_place():
    bad = quarantined("spreadsheets", "f.csv row 3", "no id", {"a": 1})
    items = [{"n": 1}, {"n": 2}, bad, {"n": 3}, {"n": 4}, {"n": 5}]
    out = list(in_lists(items, size=2))
    assert out == [[{"n": 1}, {"n": 2}], bad, [{"n": 3}, {"n": 4}], [{"n": 5}]]
    assert [row for item in out if isinstance(item, list) for row in item] == [r for r in items if r is not bad]


def test_nothing_in_nothing_out():
    assert list(in_lists([])) == []
