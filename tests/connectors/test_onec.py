"""1C OData source against the emulator over real HTTP: faults, Basic auth, paging, the
DataVersion diff and the Date window, a run killed half-way, deletion marks, quarantine, drift."""

import base64
import json
import math
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import dlt
import duckdb
import pandas as pd
import pytest
import requests

from connectors.common.cli import connector_error
from connectors.common.contracts import SchemaDrift
from connectors.common.http import AuthError
from connectors.onec import onec_source
from connectors.onec.settings import EMPTY_DATE, EMPTY_REF, SALES_LOOKBACK_DAYS
from emulators.onec import COUNTERPARTIES, SALES, OneCEmulator


@pytest.fixture()
def onec(demo_data):
    emulator = OneCEmulator(demo_data)
    server, url = emulator.serve_in_thread()
    yield emulator, url
    server.shutdown()


@pytest.fixture(scope="module")
def generated(demo_data):
    """What the generator wrote: the expectations come from here, not from the emulator."""
    folder = demo_data / "onec"
    sales = pd.read_parquet(folder / "sales.parquet")
    items = pd.read_parquet(folder / "sale_items.parquet")
    undated = set(sales.loc[sales["date"] == EMPTY_DATE, "ref_key"])
    return {
        "counterparties": pd.read_parquet(folder / "counterparties.parquet"),
        "products": pd.read_parquet(folder / "products.parquet"),
        "sales": sales[~sales["ref_key"].isin(undated)],
        "items": items[~items["ref_key"].isin(undated)],
        "undated": undated,
        "user": json.loads((folder / "infobase.json").read_text())["user"],
    }


def _pipeline(tmp_path):
    return dlt.pipeline("onec_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                        dataset_name="raw_onec", pipelines_dir=str(tmp_path / "p"))


def _source(url, **kw):
    return onec_source(base_url=url, password="demo-key", **kw)


def _query(tmp_path, sql):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _count(tmp_path, table, extra=""):
    return _query(tmp_path, f'select count(*), count(distinct "Ref_Key") from raw_onec.{table} {extra}')[0]


def _last_load(tmp_path, table, columns='"Ref_Key"'):
    return sorted(_query(tmp_path, f'select {columns} from raw_onec.{table} where _dlt_load_id = '
                                   f'(select max(_dlt_load_id) from raw_onec.{table})'))


def _requests(emulator, entity):
    return [j for j in emulator.journal if unquote(j["path"]).endswith(entity)]


def test_loads_everything_through_faults_and_reloads_idempotently(onec, generated, tmp_path):
    emulator, url = onec
    emulator.faults.rate_limit_next = 2
    emulator.faults.error_5xx_next = 1
    emulator.faults.garbage_next = 1
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url, page_size=200))
    n_cp, n_sales, n_items = len(generated["counterparties"]), len(generated["sales"]), len(generated["items"])
    assert _count(tmp_path, "counterparties") == (n_cp, n_cp)
    assert _count(tmp_path, "products") == (len(generated["products"]),) * 2
    assert _count(tmp_path, "sales") == (n_sales, n_sales)
    assert _query(tmp_path, 'select count(*), count(distinct ("Ref_Key", "LineNumber")) from raw_onec.sale_items')[0] == (n_items, n_items)
    statuses = [j["status"] for j in emulator.journal]
    assert 429 in statuses and 503 in statuses, "the faults were actually served"
    quarantined = _query(tmp_path, "select position, reason, payload from raw_onec.quarantine")
    assert {json.loads(p)["Ref_Key"] for _, _, p in quarantined} == generated["undated"]
    assert all("no date" in reason for _, reason, _ in quarantined)

    pipeline.run(_source(url, page_size=200))  # nothing changed: catalogs load nothing new
    assert _query(tmp_path, "select count(distinct _dlt_load_id) from raw_onec.counterparties")[0][0] == 1
    assert _count(tmp_path, "counterparties") == (n_cp, n_cp)
    assert _count(tmp_path, "sales") == (n_sales, n_sales)
    assert _query(tmp_path, 'select count(*) from raw_onec.sale_items')[0][0] == n_items
    assert _query(tmp_path, "select count(*) from raw_onec.quarantine")[0][0] == len(generated["undated"])


def test_wrong_password_is_a_401_and_the_run_says_what_to_check(onec, tmp_path):
    emulator, url = onec
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(onec_source(base_url=f"{url}/trade", password="Wr0ng-S3cret"))
    error = connector_error(info.value)
    assert isinstance(error, AuthError), repr(info.value)
    assert str(error) == (f"1C OData at {url}/trade refused user 'odata' (HTTP 401): check ONEC_USER / ONEC_API_KEY "
                          "and that the user has the right to use the standard OData interface")
    assert "Wr0ng-S3cret" not in str(info.value)
    assert [e["status"] for e in emulator.journal] == [401], "a refused password is not retried"
    answer = requests.get(f"{url}/trade/odata/standard.odata/{COUNTERPARTIES}", params={"$format": "json"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Basic")


def test_pages_with_top_and_skip_in_a_stable_order(onec, generated, tmp_path):
    emulator, url = onec
    _pipeline(tmp_path).run(_source(url, page_size=50).with_resources("counterparties"))
    calls = _requests(emulator, COUNTERPARTIES)
    n = len(generated["counterparties"])
    assert [int(c["query"]["$skip"]) for c in calls] == [50 * i for i in range(n // 50 + 1)]
    assert len(calls) == math.floor(n / 50) + 1, "a short page ends the read, no extra empty request"
    assert {c["query"]["$orderby"] for c in calls} == {"Ref_Key"} and {c["query"]["$top"] for c in calls} == {"50"}
    assert all(c["path"].isascii() for c in calls), "Cyrillic entity names travel percent-encoded"


def test_a_run_killed_half_way_then_rerun_loses_and_duplicates_nothing(onec, generated, tmp_path):
    emulator, url = onec
    emulator.faults.fail_request_number = 6  # dies on the 6th request, no retries allowed
    pipeline = _pipeline(tmp_path)
    with pytest.raises(Exception, match="HTTP 500"):
        pipeline.run(_source(url, page_size=100, max_attempts=1))
    pipeline.run(_source(url, page_size=100))
    n_cp, n_sales = len(generated["counterparties"]), len(generated["sales"])
    assert _count(tmp_path, "counterparties") == (n_cp, n_cp)
    assert _count(tmp_path, "sales") == (n_sales, n_sales)
    assert _query(tmp_path, 'select count(*), count(distinct ("Ref_Key", "LineNumber")) from raw_onec.sale_items')[0] == (len(generated["items"]),) * 2


def test_second_run_reads_only_changed_cards_and_recent_documents(onec, generated, tmp_path):
    emulator, url = onec
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    person = generated["counterparties"].query("legal_form == 'ФизическоеЛицо' and not is_folder").iloc[0]
    emulator.edit_counterparty(person["ref_key"], Description="Новикова Анна Сергеевна")
    newest = generated["sales"]["date"].max()
    new_doc = {"Ref_Key": "0a1b2c3d-0000-11ef-8000-000c295e30eb", "DataVersion": "AAAAAQAAAAA=", "DeletionMark": False,
               "Number": "ЕВ00-999999", "Date": newest, "Posted": True, "Контрагент_Key": person["ref_key"],
               "Склад_Key": EMPTY_REF, "ВалютаДокумента_Key": EMPTY_REF, "СуммаДокумента": 150, "СуммаВключаетНДС": True,
               "Комментарий": "", "Услуги": [],
               "Товары": [{"Ref_Key": "0a1b2c3d-0000-11ef-8000-000c295e30eb", "LineNumber": "1", "Номенклатура_Key": EMPTY_REF,
                           "Количество": 1, "Цена": 150, "Сумма": 150, "СтавкаНДС": "НДС20", "СуммаНДС": 25}]}
    emulator.add_record(SALES, new_doc)
    seen = len(emulator.journal)
    pipeline.run(_source(url))

    second = _last_load(tmp_path, "counterparties", '"Ref_Key", "Description"')
    assert second == [(person["ref_key"], "Новикова Анна Сергеевна")], "only the edited card was loaded again"
    window_start = (pd.Timestamp(newest) - pd.Timedelta(days=SALES_LOOKBACK_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    filters = {j["query"]["$filter"] for j in emulator.journal[seen:] if unquote(j["path"]).endswith(SALES)}
    assert filters == {f"Date ge datetime'{window_start}' or Date eq datetime'{EMPTY_DATE}'"}
    reread = _last_load(tmp_path, "sales")
    assert (generated["sales"]["date"] >= window_start).sum() > 0, "the window holds documents read again"
    assert reread == [(new_doc["Ref_Key"],)], "of the look-back window, only the new document is loaded"
    assert _count(tmp_path, "sales") == (len(generated["sales"]) + 1,) * 2


def _people(generated, n):
    cards = generated["counterparties"].query("not is_folder").sort_values("ref_key")
    return list(cards["ref_key"][:n])


def test_a_later_run_reads_keys_and_fetches_only_the_changed_cards_by_key(onec, generated, tmp_path):
    emulator, url = onec
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url, page_size=50).with_resources("counterparties"))
    cards = generated["counterparties"].sort_values("ref_key")["ref_key"]
    edited = [cards.iloc[3], cards.iloc[len(cards) // 2], cards.iloc[-1]]  # on different pages
    for ref in edited:
        emulator.edit_counterparty(ref, Description=f"Изменено {ref[:8]}")
    seen = len(emulator.journal)
    pipeline.run(_source(url, page_size=50).with_resources("counterparties"))

    calls = [j["query"] for j in emulator.journal[seen:] if unquote(j["path"]).endswith(COUNTERPARTIES)]
    key_pages = [q for q in calls if q.get("$select") == "Ref_Key,DataVersion"]
    assert len(key_pages) == len(cards) // 50 + 1, "the whole catalog is read, keys and versions only"
    by_key = [q["$filter"] for q in calls if "$filter" in q]
    assert by_key == [" or ".join(f"Ref_Key eq guid'{ref}'" for ref in edited)], \
        "the changed cards are fetched in one by-key request"
    assert len(calls) == len(key_pages) + 1, "no page is read whole"
    assert _last_load(tmp_path, "counterparties", '"Ref_Key", "Description"') == \
        sorted((ref, f"Изменено {ref[:8]}") for ref in edited)
    assert _count(tmp_path, "counterparties") == (len(cards),) * 2
    state = json.dumps(pipeline.state, default=str)
    assert not any(ref in state for ref in edited), "versions are read back from the table, not kept in the state"


def test_a_page_where_many_cards_changed_is_read_again_whole(onec, generated, tmp_path):
    emulator, url = onec
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url, page_size=20).with_resources("counterparties"))
    edited = _people(generated, 20)[:8]  # of the first page of 20
    for ref in edited:
        emulator.edit_counterparty(ref, Code="ИЗМ")
    seen = len(emulator.journal)
    pipeline.run(_source(url, page_size=20).with_resources("counterparties"))

    calls = [j["query"] for j in emulator.journal[seen:] if unquote(j["path"]).endswith(COUNTERPARTIES)]
    whole = [q for q in calls if "$select" not in q]
    assert [(q["$skip"], q["$top"]) for q in whole] == [("0", "20")] and not any("$filter" in q for q in calls)
    assert _last_load(tmp_path, "counterparties") == sorted((ref,) for ref in edited), "only the changed cards load"


def test_a_broken_card_that_appears_later_is_quarantined_whole(onec, generated, tmp_path):
    emulator, url = onec
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url).with_resources("counterparties", "quarantine"))
    emulator.add_record(COUNTERPARTIES, {"Ref_Key": "not-a-reference", "DataVersion": "AAAAAQAAAAA=",
                                         "DeletionMark": False, "IsFolder": False, "Code": "",
                                         "Description": "Битая запись", "ЮридическоеФизическоеЛицо": "ФизическоеЛицо",
                                         "КонтактнаяИнформация": []})
    pipeline.run(_source(url).with_resources("counterparties", "quarantine"))
    (reason, payload), = _query(tmp_path, "select reason, payload from raw_onec.quarantine")
    assert reason == "Ref_Key is not a 1C reference"
    assert json.loads(payload)["Description"] == "Битая запись", "the whole record is kept, not only its key"
    assert _count(tmp_path, "counterparties")[0] == len(generated["counterparties"])


def test_a_document_edited_in_the_window_is_loaded_again_and_the_unchanged_ones_are_not(onec, generated, tmp_path):
    emulator, url = onec
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    lines_before = _query(tmp_path, 'select count(*) from raw_onec.sale_items')[0][0]
    newest = generated["sales"]["date"].max()
    window_start = (pd.Timestamp(newest) - pd.Timedelta(days=SALES_LOOKBACK_DAYS)).strftime("%Y-%m-%dT%H:%M:%S")
    in_window = generated["sales"].query("date >= @window_start").sort_values("date")
    assert len(in_window) > 1
    edited = in_window.iloc[0]["ref_key"]
    emulator.edit_record(SALES, edited, Posted=False)

    pipeline.run(_source(url))

    sales = _last_load(tmp_path, "sales", '"Ref_Key", "Posted"')
    assert sales == [(edited, False)]
    reloaded_lines = _last_load(tmp_path, "sale_items", 'distinct "Ref_Key"')
    assert reloaded_lines == [(edited,)], "only the edited document's lines are written again"
    assert _query(tmp_path, 'select count(*) from raw_onec.sale_items')[0][0] == lines_before, "no line lost"
    assert _count(tmp_path, "sales") == (len(generated["sales"]),) * 2

    pipeline.run(_source(url))  # nothing changed since: nothing from the window is loaded
    assert _query(tmp_path, 'select count(distinct _dlt_load_id) from raw_onec.sales')[0][0] == 2


def test_deletion_marks_are_kept_and_flagged(onec, generated, tmp_path):
    emulator, url = onec
    pipeline = _pipeline(tmp_path)
    pipeline.run(_source(url))
    marked_cards = int(generated["counterparties"]["deletion_mark"].sum())
    marked_docs = int(generated["sales"]["deletion_mark"].sum())
    assert marked_cards > 0 and marked_docs > 0
    assert _query(tmp_path, 'select count(*) from raw_onec.counterparties where "DeletionMark"')[0][0] == marked_cards
    assert _query(tmp_path, 'select count(*) from raw_onec.sales where "DeletionMark"')[0][0] == marked_docs
    live = generated["counterparties"].query("not deletion_mark and not is_folder").iloc[0]["ref_key"]
    emulator.edit_counterparty(live, DeletionMark=True)
    pipeline.run(_source(url))
    assert _query(tmp_path, f"""select "DeletionMark" from raw_onec.counterparties where "Ref_Key" = '{live}'""") == [(True,)]
    assert _count(tmp_path, "counterparties")[0] == len(generated["counterparties"])


def test_records_without_a_usable_reference_are_quarantined(onec, generated, tmp_path):
    emulator, url = onec
    emulator.add_record(COUNTERPARTIES, {"Ref_Key": EMPTY_REF, "DataVersion": "AAAAAQAAAAA=", "DeletionMark": False,
                                         "IsFolder": False, "Code": "", "Description": "Битая запись",
                                         "ЮридическоеФизическоеЛицо": "ФизическоеЛицо", "КонтактнаяИнформация": []})
    _pipeline(tmp_path).run(_source(url).with_resources("counterparties", "quarantine"))
    assert _count(tmp_path, "counterparties")[0] == len(generated["counterparties"])
    (position, reason), = _query(tmp_path, "select position, reason from raw_onec.quarantine")
    assert reason == "Ref_Key is not a 1C reference" and position.startswith(COUNTERPARTIES)


def test_a_renamed_personal_data_field_stops_the_run(onec, tmp_path):
    emulator, url = onec
    emulator.rename_field(COUNTERPARTIES, "КонтактнаяИнформация", "КонтактыКонтрагента")
    with pytest.raises(Exception) as info:
        _pipeline(tmp_path).run(_source(url).with_resources("counterparties"))
    assert isinstance(info.value.exception.__cause__, SchemaDrift)
    assert "no longer returns КонтактнаяИнформация" in str(info.value)


def test_emulator_answers_in_1c_shapes(onec, generated):
    emulator, url = onec
    root = f"{url}/trade/odata/standard.odata/"
    s = requests.Session()
    s.headers["Authorization"] = "Basic " + base64.b64encode(f"{generated['user']}:demo-key".encode()).decode()
    body = s.get(root + COUNTERPARTIES, params={"$format": "json", "$top": 3, "$inlinecount": "allpages"}).json()
    assert body["odata.metadata"].endswith(f"$metadata#{COUNTERPARTIES}") and len(body["value"]) == 3
    assert body["odata.count"] == str(len(generated["counterparties"])), "1C sends the count as a string"
    ref = body["value"][0]["Ref_Key"]
    one = s.get(root + f"{COUNTERPARTIES}(guid'{ref}')", params={"$format": "json"}).json()
    assert one["odata.metadata"].endswith("/@Element") and one["Ref_Key"] == ref and "value" not in one
    line = s.get(root + f"{SALES}_Товары", params={"$format": "json", "$top": 1}).json()["value"][0]
    assert isinstance(line["LineNumber"], str)
    errors = {
        "filter": s.get(root + SALES, params={"$format": "json", "$filter": "Date ge"}),
        "select": s.get(root + SALES, params={"$format": "json", "$select": "НетТакогоПоля"}),
        "key": s.get(root + f"{SALES}(guid'{EMPTY_REF}')", params={"$format": "json"}),
        "set": s.get(root + "Catalog_НетТакого", params={"$format": "json"}),
    }
    shapes = {k: (r.status_code, r.json()["odata.error"]["code"]) for k, r in errors.items()}
    assert shapes == {"filter": (400, "14"), "select": (400, "6"), "key": (404, "9"), "set": (404, "6")}
    assert errors["select"].json()["odata.error"]["message"] == {"lang": "ru", "value": "Сегмент пути НетТакогоПоля не найден!"}
    atom = s.get(root + COUNTERPARTIES, params={"$top": 1})
    assert atom.headers["Content-Type"].startswith("application/atom+xml"), "Atom is the default, JSON needs $format"
    edmx = ET.fromstring(s.get(root + "$metadata").content)
    sets = {e.get("Name") for e in edmx.iter("{http://schemas.microsoft.com/ado/2009/11/edm}EntitySet")}
    assert {COUNTERPARTIES, SALES, f"{SALES}_Товары"} <= sets
