"""CommerceML exchange folder: every real fixture file (2.07 classic, 2.09 split, windows-1251
orders), the generator's files, load-once-per-hash and the quarantine of broken files/documents.

Expected counts come from reading the files with ElementTree here, not from the connector."""

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import dlt
import duckdb
import pandas as pd
import pytest

from connectors.onec import commerceml_source

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "1c_commerceml"  # the shared recordings, copied


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _elements(path: Path, *chain: str) -> list[ET.Element]:
    """Elements at root/chain[0]/chain[1]/… by local name, whatever the namespace."""
    level = [ET.parse(path).getroot()]
    for name in chain:
        level = [c for e in level for c in e if _local(c.tag) == name]
    return level


def _value(elem: ET.Element, name: str) -> str | None:
    child = next((c for c in elem if _local(c.tag) == name), None)
    return child.text.strip() if child is not None and child.text and child.text.strip() else None


def _run(folder: Path, tmp_path: Path):
    pipeline = dlt.pipeline("cml_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                            dataset_name="raw_commerceml", pipelines_dir=str(tmp_path / "p"))
    return pipeline.run(commerceml_source(exchange_dir=str(folder)))


def _rows(tmp_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.fixture()
def fixture_folder(tmp_path) -> Path:
    folder = tmp_path / "exchange"
    folder.mkdir()
    for path in FIXTURES.rglob("*.xml"):
        shutil.copy(path, folder / path.name)
    return folder


def test_every_real_fixture_file_is_read(fixture_folder, tmp_path):
    files = sorted(fixture_folder.glob("*.xml"))
    _run(fixture_folder, tmp_path)

    manifest = dict((name, (status, enc, version)) for name, status, enc, version in _rows(
        tmp_path, "select file_name, status, encoding, schema_version from raw_commerceml.exchange_files"))
    assert set(manifest) == {p.name for p in files}
    for path in files:
        root = ET.parse(path).getroot()
        assert manifest[path.name] == ("read", "windows-1251" if "cp1251" in path.name else "utf-8", root.get("ВерсияСхемы"))

    products = [t for p in files for t in _elements(p, "Каталог", "Товары", "Товар")]
    assert _rows(tmp_path, "select count(*), count(distinct product_id) from raw_commerceml.products")[0] == (len(products), len(products))
    assert len(products) == 2, "classic import.xml has two goods; the 2.09 classifier package none"
    article = dict(_rows(tmp_path, "select product_id, article from raw_commerceml.products"))
    assert article == {_value(t, "Ид"): _value(t, "Артикул") for t in products}

    offers = [o for p in files for o in _elements(p, "ПакетПредложений", "Предложения", "Предложение")]
    named = [o for o in offers if _value(o, "Наименование")]
    prices = [c for o in offers for c in _elements_of(o, "Цены", "Цена")]
    stocks_attr = [c for o in offers for c in o if _local(c.tag) == "Склад"]
    stocks_rests = [c for o in offers for c in _elements_of(o, "Остатки", "Остаток", "Склад")]
    assert _rows(tmp_path, "select count(*) from raw_commerceml.offers")[0][0] == len(named)
    assert _rows(tmp_path, "select count(*) from raw_commerceml.offer_prices")[0][0] == len(prices)
    assert _rows(tmp_path, "select count(*) from raw_commerceml.offer_stocks")[0][0] == len(stocks_attr) + len(stocks_rests)
    # A product with characteristics: the offer Ид is product#characteristic.
    first = next(o for o in _elements(fixture_folder / "offers.xml", "ПакетПредложений", "Предложения", "Предложение"))
    product, characteristic = _value(first, "Ид").split("#")
    price = _elements_of(first, "Цены", "Цена")[0]
    assert _rows(tmp_path, f"""select o.product_id, o.characteristic_id, p.price, p.price_type_name, o.quantity
                               from raw_commerceml.offers o join raw_commerceml.offer_prices p using (offer_id)
                               where offer_id = '{_value(first, "Ид")}'""") == [
        (product, characteristic, _value(price, "ЦенаЗаЕдиницу"), "Розничная", _value(first, "Количество"))]
    rests = {(_value(o, "Ид"), _value(s, "Количество")) for o in offers for s in _elements_of(o, "Остатки", "Остаток", "Склад")}
    assert rests <= set(_rows(tmp_path, "select offer_id, quantity from raw_commerceml.offer_stocks"))

    documents = [d for p in files for d in _elements(p, "Документ")]
    lines = [t for d in documents for t in _elements_of(d, "Товары", "Товар")]
    assert _rows(tmp_path, "select count(*) from raw_commerceml.orders")[0][0] == len(documents) == 3
    assert _rows(tmp_path, "select count(*) from raw_commerceml.order_items")[0][0] == len(lines)
    orders = {r[0]: r[1:] for r in _rows(tmp_path, "select order_id, amount, currency, status, counterparty_id from raw_commerceml.orders")}
    for d in documents:  # windows-1251 decoded: Cyrillic values equal what ElementTree reads
        buyer = _elements_of(d, "Контрагенты", "Контрагент")[0]
        status = next(_value(r, "Значение") for r in _elements_of(d, "ЗначенияРеквизитов", "ЗначениеРеквизита")
                      if _value(r, "Наименование") == "Статус заказа")
        assert orders[_value(d, "Ид")] == (_value(d, "Сумма"), _value(d, "Валюта"), status, _value(buyer, "Ид"))
    assert orders["132"][:3] == ("231.7400", "руб", "[N] Принят, ожидается оплата")
    buyers = {r[0]: r[1:] for r in _rows(tmp_path, "select counterparty_id, surname, given_name, full_name from raw_commerceml.counterparties")}
    assert buyers["1#admin#Петров Петр"] == ("Петров", "Петр", "Петр Петров")
    assert _rows(tmp_path, "select count(*) from raw_commerceml.quarantine") == [(0,)], "nothing refused"


def _elements_of(elem: ET.Element, *chain: str) -> list[ET.Element]:
    level = [elem]
    for name in chain:
        level = [c for e in level for c in e if _local(c.tag) == name]
    return level


def test_generator_files_load_and_name_the_1c_cards(demo_data, tmp_path):
    folder = demo_data / "onec" / "exchange"
    _run(folder, tmp_path)
    readable, broken = [], []
    for path in sorted(folder.glob("*.xml")):
        try:
            readable.append(ET.parse(path))
        except ET.ParseError:
            broken.append(path.name)
    assert broken, "the generator leaves one cut upload"
    documents = [d for tree in readable for d in tree.getroot() if _local(d.tag) == "Документ"]
    assert _rows(tmp_path, "select count(*), count(distinct order_id) from raw_commerceml.orders")[0] == (len(documents), len(documents))
    assert sorted(r[0] for r in _rows(tmp_path, "select position from raw_commerceml.quarantine")) == broken
    cards = set(pd.read_parquet(demo_data / "onec" / "counterparties.parquet")["ref_key"])
    buyers = {r[0] for r in _rows(tmp_path, "select counterparty_id from raw_commerceml.counterparties")}
    assert buyers <= cards, "a buyer exported by 1C is a 1C card"
    truth = pd.read_csv(demo_data / "ground_truth" / "identity.csv", dtype=str)
    assert set(truth.loc[truth["source_system"] == "commerceml", "source_record_id"]) == buyers
    encodings = {r[0] for r in _rows(tmp_path, "select encoding from raw_commerceml.exchange_files where file_name like 'orders%'")}
    assert encodings == {"windows-1251"}


def test_each_file_is_loaded_once_per_content_hash(fixture_folder, tmp_path):
    _run(fixture_folder, tmp_path)
    loads = lambda table: _rows(tmp_path, f"select count(*), count(distinct _dlt_load_id) from raw_commerceml.{table}")[0]  # noqa: E731
    before = {t: loads(t) for t in ("orders", "order_items", "offers", "exchange_files")}
    _run(fixture_folder, tmp_path)
    assert {t: loads(t) for t in before} == before, "unchanged files are skipped"

    path = fixture_folder / "query_response_full_2.05_cp1251.xml"
    path.write_bytes(path.read_bytes().replace("<Сумма>231.7400</Сумма>".encode("cp1251"), "<Сумма>231.7500</Сумма>".encode("cp1251")))
    _run(fixture_folder, tmp_path)
    changed = _rows(tmp_path, """select order_id, amount from raw_commerceml.orders
                                 where _dlt_load_id = (select max(_dlt_load_id) from raw_commerceml.orders) order by 1""")
    assert changed == [("132", "231.7500"), ("133", "14380.5800")], "only the changed file is read again"
    assert _rows(tmp_path, "select count(*) from raw_commerceml.orders")[0][0] == before["orders"][0]
    assert loads("offers") == before["offers"]


GOOD_DOC = """<Документ><Ид>{id}</Ид><Номер>{id}</Номер><Дата>{date}</Дата><ХозОперация>Заказ товара</ХозОперация>
<Роль>Продавец</Роль><Валюта>RUB</Валюта><Курс>1</Курс><Сумма>{amount}</Сумма>
<Контрагенты><Контрагент><Ид>buyer-{id}</Ид><Наименование>Иван Иванов</Наименование><Роль>Покупатель</Роль>
<Контакты><Контакт><Тип>Электронная почта</Тип><Значение>ivan@example.ru</Значение></Контакт></Контакты></Контрагент></Контрагенты>
<Товары><Товар><Ид>sku-1</Ид><Наименование>Линзы</Наименование><ЦенаЗаЕдиницу>{amount}</ЦенаЗаЕдиницу><Количество>1</Количество><Сумма>{amount}</Сумма></Товар></Товары>
</Документ>"""


def _orders_file(*docs: str, encoding: str = "windows-1251") -> bytes:
    body = f'<?xml version="1.0" encoding="{encoding}"?>\n<КоммерческаяИнформация ВерсияСхемы="2.05">' + "".join(docs) + "</КоммерческаяИнформация>"
    return body.encode("cp1251")


def test_broken_files_and_documents_are_quarantined_and_the_rest_loads(tmp_path):
    folder = tmp_path / "exchange"
    folder.mkdir()
    (folder / "orders_ok.xml").write_bytes(_orders_file(
        GOOD_DOC.format(id="1", date="2026-10-01", amount="100.00"),
        GOOD_DOC.format(id="", date="2026-10-01", amount="100.00"),
        GOOD_DOC.format(id="3", date="вчера", amount="100.00"),
        GOOD_DOC.format(id="4", date="2026-10-02", amount="сто рублей")))
    whole = _orders_file(GOOD_DOC.format(id="5", date="2026-10-03", amount="5.00"))
    (folder / "orders_cut.xml").write_bytes(whole[: len(whole) // 2])
    (folder / "orders_wrong_encoding.xml").write_bytes(_orders_file(GOOD_DOC.format(id="6", date="2026-10-03", amount="6.00"), encoding="utf-8"))
    (folder / "not_cml.xml").write_bytes(b'<?xml version="1.0"?><rss><channel/></rss>')
    _run(folder, tmp_path)

    assert _rows(tmp_path, "select order_id, amount from raw_commerceml.orders") == [("1", "100.00")]
    assert _rows(tmp_path, "select order_id, line_number, product_id from raw_commerceml.order_items") == [("1", 1, "sku-1")]
    assert _rows(tmp_path, "select counterparty_id from raw_commerceml.counterparties") == [("buyer-1",)]
    quarantine = dict(_rows(tmp_path, "select position, reason from raw_commerceml.quarantine"))
    assert quarantine.keys() == {"orders_ok.xml Документ 2", "orders_ok.xml Документ 3", "orders_ok.xml Документ 4",
                                 "orders_cut.xml", "orders_wrong_encoding.xml", "not_cml.xml"}
    assert quarantine["orders_ok.xml Документ 2"] == "document has no Ид"
    assert quarantine["orders_ok.xml Документ 3"].startswith("document date 'вчера'")
    assert quarantine["orders_ok.xml Документ 4"].startswith("document sum 'сто рублей'")
    assert quarantine["orders_cut.xml"].startswith("not well-formed XML (windows-1251)")
    assert quarantine["orders_wrong_encoding.xml"].startswith("not well-formed XML (utf-8)")
    assert quarantine["not_cml.xml"] == "root element is <rss>, not <КоммерческаяИнформация>"
    payload = _rows(tmp_path, "select payload from raw_commerceml.quarantine where position = 'orders_ok.xml Документ 3'")[0][0]
    assert "<Дата>вчера</Дата>" in payload, "the document is kept as it was"
    statuses = dict(_rows(tmp_path, "select file_name, status from raw_commerceml.exchange_files"))
    assert statuses == {"orders_ok.xml": "read", "orders_cut.xml": "quarantined",
                        "orders_wrong_encoding.xml": "quarantined", "not_cml.xml": "quarantined"}


def test_each_file_is_parsed_once_for_all_its_tables_and_loads_as_when_parsed_per_table(fixture_folder, tmp_path,
                                                                                      monkeypatch):
    import connectors.onec.commerceml as cml_source

    parsed: list[str] = []
    real_parse = cml_source.parse

    def counting(data, name):
        parsed.append(name)
        return real_parse(data, name)

    monkeypatch.setattr(cml_source, "parse", counting)
    _run(fixture_folder, tmp_path)
    names = sorted(p.name for p in fixture_folder.iterdir())
    assert sorted(parsed) == names, "one parse per file, though an order file feeds four tables"

    # Keeping nothing parses a file for every table that reads it: the tables must come out the same.
    monkeypatch.setattr(cml_source._ParsedFiles, "_takers", lambda self, found: 1)
    parsed.clear()
    again = tmp_path / "again"
    again.mkdir()
    _run(fixture_folder, again)
    assert len(parsed) > len(names)
    tables = [t for (t,) in _rows(tmp_path, "select table_name from information_schema.tables where table_schema = "
                                            "'raw_commerceml' and not starts_with(table_name, '_dlt') order by 1")]
    assert {"orders", "order_items", "counterparties", "exchange_files"} <= set(tables)
    for table in tables:
        con = duckdb.connect()
        try:
            con.execute(f"attach '{tmp_path / 'w.duckdb'}' as a (read_only)")
            con.execute(f"attach '{again / 'w.duckdb'}' as b (read_only)")
            columns = [c for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = 'a' and table_schema = "
                "'raw_commerceml' and table_name = ? and not starts_with(column_name, '_dlt') "
                "and column_name <> 'quarantined_at' order by 1", [table]).fetchall()]
            select = ", ".join(f'"{c}"' for c in columns)
            differ = con.execute(f"select count(*) from ((select {select} from a.raw_commerceml.{table} except all "
                                 f"select {select} from b.raw_commerceml.{table}) union all (select {select} from "
                                 f"b.raw_commerceml.{table} except all select {select} from a.raw_commerceml.{table}))"
                                 ).fetchone()[0]
        finally:
            con.close()
        assert differ == 0, table
