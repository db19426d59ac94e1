"""connectors/common/arrow.py: a page becomes an Arrow table only when dlt would type it the same."""

from datetime import datetime, timedelta, timezone

from connectors.common.arrow import rows_as_arrow


def test_flat_page_becomes_one_typed_table():
    moscow = timezone(timedelta(hours=3))
    rows = [{"campaign_id": 1, "email": "a@x.ru", "last_update": datetime(2024, 1, 1, 3, tzinfo=moscow), "unsub": None},
            {"campaign_id": 1, "email": "b@x.ru", "last_update": None, "unsub": None}]
    table = rows_as_arrow(rows)
    assert table.column_names == ["campaign_id", "email", "last_update"]  # all-None column left out, as dlt does
    assert str(table.schema.field("campaign_id").type) == "int64"
    assert str(table.schema.field("last_update").type) == "timestamp[us, tz=UTC]"
    assert table.column("last_update").to_pylist()[0] == datetime(2024, 1, 1, 0, tzinfo=timezone.utc)


def test_pages_dlt_would_type_differently_stay_dict_rows():
    for rows in ([{"a": 1}, {"a": "1"}], [{"a": True}, {"a": 1}], [{"a": {"nested": 1}}], [{"a": 2**70}],
                 [{"a": datetime(2024, 1, 1)}]):
        assert rows_as_arrow(rows) is rows
    assert rows_as_arrow([]) == []
