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


def test_declared_json_and_money_columns_let_a_nested_page_become_one_table():
    hints = {"phones": {"data_type": "json"}, "total_summ": {"data_type": "double"}, "first_name": {"data_type": "text"}}
    rows = [{"id": 1, "totalSumm": 5, "phones": [{"number": "+79123456789"}], "firstName": "Анна"},
            {"id": 2, "totalSumm": 5.5, "phones": None, "firstName": None}]
    table = rows_as_arrow(rows, hints)
    assert table.column("phones").to_pylist() == ['[{"number":"+79123456789"}]', None]
    assert table.column("totalSumm").to_pylist() == [5.0, 5.5]
    assert str(table.schema.field("totalSumm").type) == "double"
    assert table.column("firstName").to_pylist() == ["Анна", None]


def test_a_page_the_declared_types_do_not_fit_stays_dict_rows():
    hints = {"phones": {"data_type": "json"}, "external_id": {"data_type": "text"}}
    for rows in ([{"phones": "+79123456789"}],  # a scalar where an object or list is declared
                 [{"address": {"city": "Пермь"}}],  # a nested value nobody declared
                 [{"externalId": 17}]):  # a number where text is declared (dlt would coerce it)
        assert rows_as_arrow(rows, hints) is rows


def test_pages_are_gathered_into_tables_of_the_batch_size_and_dict_pages_pass_through():
    from connectors.common.arrow import ArrowBatches

    batches = ArrowBatches(rows=3)
    assert batches.add(rows_as_arrow([{"id": 1, "note": "a"}, {"id": 2, "note": "b"}])) == []
    out = batches.add(rows_as_arrow([{"id": 3, "note": None}]))  # `note` left out of this page
    assert len(out) == 1 and out[0].num_rows == 3
    assert out[0].column("note").to_pylist() == ["a", "b", None]
    odd = [{"id": 4, "x": {"nested": 1}}]
    assert batches.add(rows_as_arrow(odd)) == [odd]
    assert batches.add(rows_as_arrow([{"id": 5}])) == [] and [t.num_rows for t in batches.flush()] == [1]
    assert batches.flush() == []


def test_pages_that_type_a_column_differently_go_on_one_by_one():
    from connectors.common.arrow import ArrowBatches

    batches = ArrowBatches(rows=10)
    first, second = rows_as_arrow([{"id": 1, "discount": 5}]), rows_as_arrow([{"id": 2, "discount": 5.5}])
    assert batches.add(first) == [] and batches.add(second) == []
    assert batches.flush() == [first, second]


def test_records_with_their_keys_in_another_order_or_missing_fill_the_same_columns():
    hints = {"total_summ": {"data_type": "double"}, "items": {"data_type": "json"}}
    same_order = [{"id": 1, "totalSumm": 5, "items": [1]}, {"id": 2, "totalSumm": 2.5, "items": None}]
    shuffled = [{"id": 1, "totalSumm": 5, "items": [1]}, {"items": None, "totalSumm": 2.5, "id": 2}]
    missing = [{"id": 1, "totalSumm": 5, "items": [1]}, {"id": 2, "totalSumm": 2.5}]
    tables = [rows_as_arrow(rows, hints) for rows in (same_order, shuffled, missing)]
    assert tables[0].column_names == ["id", "totalSumm", "items"]
    assert tables[0].to_pylist() == [{"id": 1, "totalSumm": 5.0, "items": "[1]"}, {"id": 2, "totalSumm": 2.5, "items": None}]
    assert tables[1].equals(tables[0]) and tables[2].equals(tables[0])
    later_key = [{"id": 1}, {"id": 2, "note": "x"}]
    assert rows_as_arrow(later_key).to_pylist() == [{"id": 1, "note": None}, {"id": 2, "note": "x"}]


def test_a_money_column_of_ints_beyond_a_doubles_precision_or_of_bools_stays_dict_rows():
    hints = {"summ": {"data_type": "double"}}
    for rows in ([{"summ": 2**70}], [{"summ": True}], [{"summ": "5"}]):
        assert rows_as_arrow(rows, hints) is rows
    assert rows_as_arrow([{"summ": 2**53}], hints).column("summ").to_pylist() == [float(2**53)]


def test_a_resources_lists_of_rows_become_tables_and_everything_else_passes_as_it_came():
    from connectors.common.arrow import arrow_pages

    quarantine = {"where": "GET /contacts page 1 item 3", "reason": "record has no integer id"}
    odd = [{"id": 3, "x": {"nested": 1}}]  # nothing declared for `x`: dlt's own path takes it
    out = list(arrow_pages([[{"id": 1, "note": "a"}], quarantine, [{"id": 2, "note": None}], odd]))
    assert out[:2] == [quarantine, odd]
    assert len(out) == 3 and out[2].to_pylist() == [{"id": 1, "note": "a"}, {"id": 2, "note": None}]
    # Declared names as the source spells them (Bitrix24's `PHONE`), not dlt's snake_case.
    upper = list(arrow_pages([[{"ID": "7", "PHONE": [{"VALUE": "+79123456789"}]}]],
                             {"ID": {"data_type": "text"}, "PHONE": {"data_type": "json"}}, hint_name=str))
    assert upper[0].to_pylist() == [{"ID": "7", "PHONE": '[{"VALUE":"+79123456789"}]'}]
