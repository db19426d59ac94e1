"""Spreadsheet inbox: cp1251 sniffing, quarantine with file/line/reason, load-once by hash."""

import dlt
import duckdb

from connectors.spreadsheets import spreadsheets_source


def _run(inbox, tmp_path):
    pipeline = dlt.pipeline("sheets_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                            dataset_name="raw_spreadsheets", pipelines_dir=str(tmp_path / "p"))
    return pipeline.run(spreadsheets_source(inbox=str(inbox)))


def test_bad_rows_are_quarantined_and_the_rest_load(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    lines = [
        "Номер карты;ФИО;Телефон;E-mail;Дата рождения;Согласие на рассылку;Дата согласия;Магазин;Дата регистрации",
        "1001;Иванов Иван;8 (912) 345-67-89;Ivan@Mail.ru;01.02.1990;да;01.01.2024;ТЦ;01.01.2024 10:00:00",
        "1002;Петрова Анна;+7 912 3456780;;;нет;;ТЦ;01.01.2024 10:00:00",
        ";Без Номера;79120000000;;;нет;;ТЦ;01.01.2024 10:00:00",
        "1003;Лишнее Поле;79120000001;;;нет;;ТЦ;ещё;01.01.2024 10:00:00",
        "1001;Дубль Иванова;79120000002;;;нет;;ТЦ;01.01.2024 10:00:00",
    ]
    data = b"\r\n".join(line.encode("cp1251") for line in lines) + b"\r\n1004;\x98\xcf\xe5\xf2\xf0;7912;;;;;;\r\n"
    (inbox / "loyalty_members_2024.csv").write_bytes(data)
    _run(inbox, tmp_path)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    rows = con.execute("select record_id, full_name, email from raw_spreadsheets.members order by 1").fetchall()
    assert rows == [("1001", "Иванов Иван", "Ivan@Mail.ru"), ("1002", "Петрова Анна", "")]
    quarantine = dict(con.execute("select position, reason from raw_spreadsheets.quarantine").fetchall())
    assert quarantine == {
        "loyalty_members_2024.csv line 4": "record id is empty",
        "loyalty_members_2024.csv line 5": "10 fields where the header has 9",
        "loyalty_members_2024.csv line 6": "record id repeats loyalty_members_2024.csv line 2",
        "loyalty_members_2024.csv line 7": "byte 0x98 at column 6 is not valid cp1251",
    }
    loads_before = con.execute("select count(distinct _dlt_load_id) from raw_spreadsheets.members").fetchone()[0]
    con.close()
    _run(inbox, tmp_path)  # unchanged file: skipped by its hash, nothing re-read
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert con.execute("select count(*), count(distinct _dlt_load_id) from raw_spreadsheets.members").fetchone() == (2, loads_before)


def test_utf8_bom_and_comma_files_are_sniffed(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "clients.csv").write_bytes("\ufeffid,Name,Phone,Email\n7,Мария Соколова,+79001112233,m@x.ru\n".encode("utf-8"))
    _run(inbox, tmp_path)
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    assert con.execute("select record_id, full_name, phone from raw_spreadsheets.members").fetchall() == [("7", "Мария Соколова", "+79001112233")]
