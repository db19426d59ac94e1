"""Spreadsheet inbox: 1C cp1251 exports with title rows, multi-sheet xlsx, legacy xls, an S3 inbox
on moto's server (a real process on loopback), load-once by hash, a changed file replacing its
rows, unreadable files and bad rows quarantined, and mapping errors that name file and columns.
A business's own exports (a CRM customer export, an e-mail platform's contact export, an id-only
customer list and an order history), hand-written here: consent grants and revocations, unknown
consent words quarantined, the file's export date, names as given."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import dlt
import duckdb
import pandas as pd
import pytest
import requests
import yaml

from connectors.spreadsheets import MappingError, spreadsheets_source
from connectors.spreadsheets.mapping import parse_mapping
from connectors.spreadsheets.values import parse_amount, parse_date

LOYALTY_HEADER = "Номер карты;ФИО;Телефон;E-mail;Дата рождения;Согласие на рассылку;Дата согласия;Магазин;Дата регистрации"


def _run(inbox, tmp_path, **kwargs):
    pipeline = dlt.pipeline("sheets_test", destination=dlt.destinations.duckdb(str(tmp_path / "w.duckdb")),
                            dataset_name="raw_spreadsheets", pipelines_dir=str(tmp_path / "p"))
    return pipeline.run(spreadsheets_source(inbox=str(inbox), **kwargs))


def _q(tmp_path, sql, *params):
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _quarantine(tmp_path) -> dict[str, str]:
    """position -> reason; the table only exists once something was refused."""
    if not _q(tmp_path, "select count(*) from information_schema.tables where table_schema = 'raw_spreadsheets' "
                        "and table_name = 'quarantine'")[0][0]:
        return {}
    return dict(_q(tmp_path, "select position, reason from raw_spreadsheets.quarantine"))


@pytest.fixture
def inbox(tmp_path):
    path = tmp_path / "inbox"
    path.mkdir()
    return path


def test_bad_rows_are_quarantined_and_the_rest_load(inbox, tmp_path):
    lines = [
        LOYALTY_HEADER,
        "1001;Иванов Иван;8 (912) 345-67-89;Ivan@Mail.ru;01.02.1990;да;01.01.2024;ТЦ;01.01.2024 10:00:00",
        "1002;Петрова Анна;+7 912 3456780;;;нет;;ТЦ;01.01.2024 10:00:00",
        ";Без Номера;79120000000;;;нет;;ТЦ;01.01.2024 10:00:00",
        "1003;Лишнее Поле;79120000001;;;нет;;ТЦ;ещё;01.01.2024 10:00:00",
        "1001;Дубль Иванова;79120000002;;;нет;;ТЦ;01.01.2024 10:00:00",
    ]
    data = b"\r\n".join(line.encode("cp1251") for line in lines) + b"\r\n1004;\x98\xcf\xe5\xf2\xf0;7912;;;;;;\r\n"
    (inbox / "loyalty_members_2024.csv").write_bytes(data)
    _run(inbox, tmp_path)
    rows = _q(tmp_path, "select record_id, full_name, email, birthday, email_consent, card from raw_spreadsheets.members order by 1")
    assert rows == [("1001", "Иванов Иван", "Ivan@Mail.ru", "1990-02-01", "granted", "1001"),
                    ("1002", "Петрова Анна", "", "", "revoked", "1002")]
    quarantine = _quarantine(tmp_path)
    assert quarantine == {
        "loyalty_members_2024.csv line 4": "record id is empty",
        "loyalty_members_2024.csv line 5": "10 fields where the header has 9",
        "loyalty_members_2024.csv line 6": "record id repeats loyalty_members_2024.csv line 2",
        "loyalty_members_2024.csv line 7": "byte 0x98 at column 6 is neither UTF-8 nor cp1251 text",
    }
    loads_before = _q(tmp_path, "select count(distinct _dlt_load_id) from raw_spreadsheets.members")[0][0]
    _run(inbox, tmp_path)  # unchanged file: skipped by its hash, nothing re-read
    assert _q(tmp_path, "select count(*), count(distinct _dlt_load_id) from raw_spreadsheets.members")[0] == (2, loads_before)


def test_utf8_bom_comma_and_tab_files_are_sniffed(inbox, tmp_path):
    (inbox / "clients.csv").write_bytes("\ufeffid,Name,Phone,Email\n7,Мария Соколова,+79001112233,m@x.ru\n".encode("utf-8"))
    (inbox / "clients_tab.txt").write_bytes("ID\tФИО\tТелефон\n8\tОлег Петров\t89001112234\n".encode("utf-16"))
    _run(inbox, tmp_path)
    assert _q(tmp_path, "select record_id, source_record_id, mapping_name, full_name, phone from raw_spreadsheets.members order by 1") == [
        ("generic:clients.csv:7", "clients.csv:7", "generic", "Мария Соколова", "+79001112233"),
        ("generic:clients_tab.txt:8", "clients_tab.txt:8", "generic", "Олег Петров", "89001112234"),
    ]


ONE_C_EXPORT = [
    "Розничные продажи;;;;;;;;",
    "Период: 01.05.2026 - 31.05.2026;;;;;;;;",
    ";;;;;;;;",
    "Дата;Номер;Магазин;Покупатель;Дисконтная карта;Телефон покупателя;Сумма;Статус;Кассир",
    "02.05.2026 11:15:02;ЕВ00-000101;ТЦ Европейский;Иванов Иван Иванович;200000001234;;3\u00a0480,00;Пробит;Ким Д.",
    "02.05.2026 12:40:00;ЕВ00-000102;ТЦ Европейский;Розничный покупатель;;8 (912) 000-11-22;890,50;Возврат;Ким Д.",
    "03.05.2026 10:05:13;ЕВ00-000103;ТЦ Европейский;Розничный покупатель;;;1\u00a0250,00;Аннулирован;Ким Д.",
    "03.05.2026;ЕВ00-000104;ТЦ Европейский;Розничный покупатель;;;сто рублей;Пробит;Ким Д.",
    "не дата;ЕВ00-000105;ТЦ Европейский;Розничный покупатель;;;100,00;Пробит;Ким Д.",
    "Итого;;;;;;5\u00a0720,50;;",
]


def test_1c_export_in_cp1251_with_title_rows(inbox, tmp_path):
    (inbox / "retail_sales_may.csv").write_bytes("\r\n".join(ONE_C_EXPORT).encode("cp1251") + b"\r\n")
    _run(inbox, tmp_path)
    rows = _q(tmp_path, """select record_id, ordered_at, amount, status, status_raw, customer_record_id, customer_card,
                                  customer_phone, source_position from raw_spreadsheets.orders order by 1""")
    assert rows == [
        ("retail_sales:2026:ЕВ00-000101", "2026-05-02 11:15:02", "3480.00", "complete", "Пробит", "200000001234", "200000001234", "", "retail_sales_may.csv line 5"),
        ("retail_sales:2026:ЕВ00-000102", "2026-05-02 12:40:00", "890.50", "returned", "Возврат", None, "", "8 (912) 000-11-22", "retail_sales_may.csv line 6"),
        ("retail_sales:2026:ЕВ00-000103", "2026-05-03 10:05:13", "1250.00", "cancelled", "Аннулирован", None, "", "", "retail_sales_may.csv line 7"),
    ]
    assert _quarantine(tmp_path) == {
        "retail_sales_may.csv line 8": "amount is not a number",  # the date alone is fine; the amount is words
        "retail_sales_may.csv line 9": "ordered_at is not a date in the formats %d.%m.%Y %H:%M:%S, %d.%m.%Y %H:%M, %d.%m.%Y",
    }  # the title block and the "Итого" line are neither rows nor errors
    assert _q(tmp_path, "select count(*) from raw_spreadsheets.members") == [(0,)]


def test_generated_1c_export_loads_every_receipt(demo_data, tmp_path):
    """The demo's 1C report: receipts between header and "Итого", and their total equals the footer's."""
    path = demo_data / "inbox" / "retail_sales_2026.csv"
    lines = path.read_bytes().decode("cp1251").splitlines()
    header_at = next(i for i, line in enumerate(lines) if line.startswith("Дата;Номер;"))
    receipts = [line.split(";") for line in lines[header_at + 1:-1]]
    footer_total = Decimal(lines[-1].split(";")[6].replace("\u00a0", "").replace(",", "."))
    box = tmp_path / "inbox"
    box.mkdir()
    (box / path.name).write_bytes(path.read_bytes())
    _run(box, tmp_path)
    count, total = _q(tmp_path, "select count(*), sum(amount::decimal(18, 2)) from raw_spreadsheets.orders")[0]
    assert count == len(receipts) > 0 and total == footer_total
    by_card = {r[1]: r[4] for r in receipts if r[4]}
    loaded = dict(_q(tmp_path, "select order_number, customer_record_id from raw_spreadsheets.orders where customer_record_id is not null"))
    assert loaded == by_card
    statuses = dict(_q(tmp_path, "select status_raw, any_value(status) from raw_spreadsheets.orders group by 1"))
    assert statuses == {"Пробит": "complete", "Архивный": "complete", "Возврат": "returned", "Аннулирован": "cancelled"}
    assert _quarantine(tmp_path) == {}


def _events_workbook(path, may_rows, sep_rows):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    header = ["№", "Фамилия", "Имя", "Телефон", "E-mail", "Согласие на рассылку", "Дата регистрации"]
    for title, rows in (("Мероприятие май", may_rows), ("Мероприятие сентябрь", sep_rows)):
        ws = book.create_sheet(title)
        ws.append([f"Регистрация: {title}"])
        ws.append([])
        ws.append(header)
        for row in rows:
            ws.append(row)
    book.create_sheet("Сводка").append(["Мероприятие", "Зарегистрировано"])
    book.save(path)


def test_xlsx_with_two_sheets_and_a_title_block(inbox, tmp_path):
    _events_workbook(
        inbox / "events_2026.xlsx",
        [[1, "Иванова", "Мария", 79161234567, "m@x.ru", "✓", datetime(2026, 5, 10, 14, 30)],
         [2, "Петров", "Олег", "8 (903) 111-22-33", None, None, datetime(2026, 5, 11)],
         [2, "Дубль", "Номера", "89030000000", None, None, datetime(2026, 5, 11)]],
        [[1, "Сидоров", "Пётр", "+7 999 000-00-01", "p@x.ru", True, "12.09.2026"],
         [2, "Кузнецова", "Анна", None, "a@x.ru", False, "13.09.2026"]],
    )
    _run(inbox, tmp_path)
    rows = _q(tmp_path, """select record_id, source_sheet, source_row, surname, phone, email_consent, email_consent_at
                           from raw_spreadsheets.members order by source_sheet, source_row::int""")
    assert rows == [
        ("events:events_2026.xlsx:Мероприятие май:1", "Мероприятие май", "4", "Иванова", "79161234567", "granted", "2026-05-10 14:30:00"),
        ("events:events_2026.xlsx:Мероприятие май:2", "Мероприятие май", "5", "Петров", "8 (903) 111-22-33", "", "2026-05-11"),
        ("events:events_2026.xlsx:Мероприятие сентябрь:1", "Мероприятие сентябрь", "4", "Сидоров", "+7 999 000-00-01", "granted", "2026-09-12"),
        ("events:events_2026.xlsx:Мероприятие сентябрь:2", "Мероприятие сентябрь", "5", "Кузнецова", "", "revoked", "2026-09-13"),
    ]
    # Per-sheet ids keep their file and sheet in the id within the entry (the entry is the source
    # system; sign-up numbers restart on every sheet of every workbook).
    assert _q(tmp_path, "select distinct mapping_name, source_record_id from raw_spreadsheets.members "
                        "where source_row = '4' order by 2") == [
        ("events", "events_2026.xlsx:Мероприятие май:1"), ("events", "events_2026.xlsx:Мероприятие сентябрь:1")]
    assert _quarantine(tmp_path) == {
        "events_2026.xlsx sheet 'Мероприятие май' row 6": "record id repeats events_2026.xlsx sheet 'Мероприятие май' row 5"}


def test_generated_events_workbook_matches_ground_truth(demo_data, tmp_path):
    """Every event row of the generator's ground truth loads, once, under its file, sheet and №.

    The generator names a sign-up `events:<sheet>:<№>`; since sign-up numbers restart in every
    workbook, the record id also carries the file: `events:events_2026.xlsx:<sheet>:<№>`."""
    box = tmp_path / "inbox"
    box.mkdir()
    (box / "events_2026.xlsx").write_bytes((demo_data / "inbox" / "events_2026.xlsx").read_bytes())
    _run(box, tmp_path)
    truth = pd.read_csv(demo_data / "ground_truth" / "identity.csv", dtype=str)
    ids = truth.loc[truth.source_record_id.str.startswith("events:"), "source_record_id"]
    expected = {i if i.startswith("events:events_2026.xlsx:") else "events:events_2026.xlsx:" + i.removeprefix("events:")
                for i in ids}
    loaded = {r for (r,) in _q(tmp_path, "select record_id from raw_spreadsheets.members")}
    assert loaded == expected and len({r.split(":")[2] for r in loaded}) == 2
    assert _quarantine(tmp_path) == {}


def test_legacy_xls_with_title_rows(inbox, tmp_path):
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    ws = book.add_sheet("Лист1")
    ws.write(0, 0, "Участники программы лояльности на 01.06.2026")
    for c, name in enumerate(["Номер карты", "ФИО", "Телефон", "Дата рождения"]):
        ws.write(2, c, name)
    date_style = xlwt.easyxf(num_format_str="DD.MM.YYYY")
    ws.write(3, 0, "200000000017")
    ws.write(3, 1, "Смирнова Ольга")
    ws.write(3, 2, 89161112233)  # a phone Excel stored as a number
    ws.write(3, 3, datetime(1985, 7, 3), date_style)
    ws.write(4, 0, 200000000024)
    ws.write(4, 1, "Орлов Илья")
    ws.write(4, 2, "+7 916 111-22-44")
    buf = io.BytesIO()
    book.save(buf)
    (inbox / "loyalty_members_old.xls").write_bytes(buf.getvalue())
    _run(inbox, tmp_path)
    assert _q(tmp_path, "select record_id, full_name, phone, birthday, source_position from raw_spreadsheets.members order by 1") == [
        ("200000000017", "Смирнова Ольга", "89161112233", "1985-07-03", "loyalty_members_old.xls sheet 'Лист1' row 4"),
        ("200000000024", "Орлов Илья", "+7 916 111-22-44", "", "loyalty_members_old.xls sheet 'Лист1' row 5"),
    ]


def test_changed_file_replaces_its_rows_without_duplicates(inbox, tmp_path):
    def write(name, rows):
        (inbox / name).write_bytes("\r\n".join([LOYALTY_HEADER, *rows]).encode("cp1251"))

    write("loyalty_members_a.csv", ["1;Иванов Иван;89120000001;;;;;;", "2;Петров Пётр;89120000002;;;;;;", "3;Сидоров Сидор;89120000003;;;;;;"])
    write("loyalty_members_b.csv", ["9;Орлова Ольга;89120000009;;;;;;"])
    _run(inbox, tmp_path)
    assert _q(tmp_path, "select count(*) from raw_spreadsheets.members") == [(4,)]
    # Row 2 edited, row 3 gone, row 4 new; file b untouched.
    write("loyalty_members_a.csv", ["1;Иванов Иван;89120000001;;;;;;", "2;Петров Пётр Ильич;89120000002;;;;;;", "4;Новая Нина;89120000004;;;;;;"])
    _run(inbox, tmp_path)
    rows = _q(tmp_path, "select record_id, full_name, source_file from raw_spreadsheets.members order by 1")
    assert rows == [("1", "Иванов Иван", "loyalty_members_a.csv"), ("2", "Петров Пётр Ильич", "loyalty_members_a.csv"),
                    ("4", "Новая Нина", "loyalty_members_a.csv"), ("9", "Орлова Ольга", "loyalty_members_b.csv")]
    hashes = _q(tmp_path, "select source_file, count(distinct file_sha256) from raw_spreadsheets.members group by 1 order by 1")
    assert hashes == [("loyalty_members_a.csv", 1), ("loyalty_members_b.csv", 1)]


def test_unreadable_files_are_quarantined_and_the_others_load(inbox, tmp_path):
    (inbox / "loyalty_members.csv").write_bytes(f"{LOYALTY_HEADER}\r\n5;Ким Дина;89120000005;;;;;;\r\n".encode("cp1251"))
    (inbox / "loyalty_members_empty.csv").write_bytes(b"")
    # An encrypted OOXML workbook is an OLE compound file holding an `EncryptedPackage` stream.
    (inbox / "events_locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le"))
    (inbox / "events_broken.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 64)
    (inbox / "retail_sales_web.xls").write_bytes("<html><body><table><tr><td>Дата</td></tr></table></body></html>".encode())
    (inbox / "retail_sales_not_ole.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x01" * 600)
    _run(inbox, tmp_path)
    assert _q(tmp_path, "select record_id from raw_spreadsheets.members") == [("5",)]
    reasons = _quarantine(tmp_path)
    assert set(reasons) == {"loyalty_members_empty.csv", "events_locked.xlsx", "events_broken.xlsx",
                            "retail_sales_web.xls", "retail_sales_not_ole.xls"}
    assert reasons["loyalty_members_empty.csv"] == "loyalty_members_empty.csv: unreadable: the file is empty"
    assert "password-protected" in reasons["events_locked.xlsx"]
    assert reasons["events_broken.xlsx"].startswith("events_broken.xlsx: unreadable: not a readable xlsx workbook")
    assert "HTML" in reasons["retail_sales_web.xls"]
    assert reasons["retail_sales_not_ole.xls"].startswith("retail_sales_not_ole.xls: unreadable: not a readable xls workbook")


def test_header_without_mapped_columns_names_the_file_and_the_columns_found(inbox, tmp_path):
    (inbox / "loyalty_members_2025.csv").write_bytes("Карта №;ФИО;Моб. телефон\r\n1;Иванов Иван;89120000001\r\n".encode("cp1251"))
    (inbox / "retail_sales_june.csv").write_bytes("Отчёт за июнь\r\nНомер;Покупатель;Итог\r\nЕВ-1;Иванов;100\r\n".encode("cp1251"))
    _run(inbox, tmp_path)
    reasons = _quarantine(tmp_path)
    assert reasons == {
        "loyalty_members_2025.csv": "loyalty_members_2025.csv: mapping 'loyalty' expects 'Номер карты' (record_id), "
                                    "'Номер карты' (card), 'Телефон' / 'Мобильный телефон' (phone) but the header lacks them; "
                                    "columns found: 'Карта №', 'ФИО', 'Моб. телефон'",
        "retail_sales_june.csv": "retail_sales_june.csv: mapping 'retail_sales' expects 'Дата' (ordered_at), "
                                 "'Сумма' / 'Сумма документа' (amount) but the header lacks them; "
                                 "columns found: 'Номер', 'Покупатель', 'Итог'",
    }
    assert _q(tmp_path, "select count(*) from raw_spreadsheets.members union all select count(*) from raw_spreadsheets.orders") == [(0,), (0,)]


def test_a_broken_mapping_fails_before_reading_anything(tmp_path):
    bad = tmp_path / "mapping.yml"
    bad.write_text("mappings:\n  - name: shop\n    patterns: ['*.csv']\n    table: members\n    record_id: id\n"
                   "    columns: {phone: Телефон, e_mail: Почта}\n", encoding="utf-8")
    with pytest.raises(MappingError, match=r"mapping entry 'shop': fields e_mail do not exist in table members"):
        spreadsheets_source(inbox=str(tmp_path), mapping_path=str(bad))
    with pytest.raises(MappingError, match="needs ordered_at"):
        parse_mapping({"mappings": [{"name": "x", "patterns": "*", "table": "orders", "record_id": "N", "columns": {"amount": "S"}}]})


def test_values_follow_the_ru_locale():
    assert [parse_amount(s) for s in ("3\u00a0480,00", "3480.5", "1.234,50", "1,234.50 руб.", "12 345", "", "abc")] == [
        "3480.00", "3480.5", "1234.50", "1234.50", "12345", None, None]
    formats = ("%d.%m.%Y", "%d.%m.%Y %H:%M:%S")
    assert [parse_date(s, formats) for s in ("01.02.1990", "01.02.1990 10:00:00", "1990-02-01", "31.02.1990")] == [
        "1990-02-01", "1990-02-01 10:00:00", "1990-02-01", None]


# --- A business's own exports: consent, names, id-only files (issue 11) ---------------------------

OWN_MAPPING = """
mappings:
  - name: crm_clients          # a CRM customer export, UTF-8, comma-separated
    kind: crm
    rank: 2
    patterns: ["crm_clients*"]
    table: members
    record_id: "ID"
    columns:
      surname: "Фамилия"
      given_name: "Имя"
      patronymic: "Отчество"
      phone: "Телефон"
      email: "Email"
      email_consent: "Подписка"
    optional: [patronymic]
    consent_values: {revoked: ["не беспокоить"]}
  - name: mail_contacts        # an e-mail platform's contact export with a status column
    kind: email_platform
    patterns: ["contacts_export*"]
    table: members
    record_id: "email"
    columns:
      email: "email"
      email_status: "Статус"
  - name: shop_customers       # a customer list with nothing but ids
    kind: erp
    patterns: ["customers_ids*"]
    table: members
    record_id: "Код клиента"
  - name: shop_orders          # a shop's order history naming its own customer ids
    kind: erp
    patterns: ["orders_history*"]
    table: orders
    record_id: "Заказ"
    columns:
      order_number: "Заказ"
      ordered_at: "Дата"
      amount: "Сумма"
      customer_ref: "Код клиента"
    date_formats: ["%d.%m.%Y", "%d.%m.%Y %H:%M"]
    default_status: complete
"""

CRM_EXPORT = (
    "ID,Фамилия,Имя,Отчество,Телефон,Email,Подписка\r\n"
    "17,Бирюков,Иван,Фомич,+7 912 000-00-17,biryukov@example.ru,Да\r\n"
    "18,Мария,Иванова,,+7 912 000-00-18; 8 (912) 000-00-19,maria@example.ru,нет\r\n"
    "19,Ким,Дина,Сергеевна,,kim@example.ru,unsubscribed\r\n"
    "20,Ли,Ян,,,li@example.ru,\r\n"
    "21,Орлов,Илья,Оглы,,orlov@example.ru,0\r\n"
    "22,Тихонова,Анна,,,tikhonova@example.ru,не беспокоить\r\n"
)


def _own_inbox(inbox, tmp_path, files: dict[str, bytes]):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(OWN_MAPPING, encoding="utf-8")
    for name, data in files.items():
        (inbox / name).write_bytes(data)
    _run(inbox, tmp_path, mapping_path=str(mapping))


def test_consent_column_says_yes_and_no(inbox, tmp_path):
    """false/нет/0/unsubscribed and the entry's own words revoke; a blank cell says nothing."""
    _own_inbox(inbox, tmp_path, {"crm_clients_2026-06.csv": CRM_EXPORT.encode("utf-8")})
    rows = _q(tmp_path, "select source_record_id, mapping_name, mapping_kind, email_consent from raw_spreadsheets.members order by 1")
    assert rows == [("17", "crm_clients", "crm", "granted"), ("18", "crm_clients", "crm", "revoked"),
                    ("19", "crm_clients", "crm", "revoked"), ("20", "crm_clients", "crm", ""),
                    ("21", "crm_clients", "crm", "revoked"), ("22", "crm_clients", "crm", "revoked")]
    headers = json.loads(_q(tmp_path, "select field_headers from raw_spreadsheets.members limit 1")[0][0])
    assert headers["email_consent"] == "Подписка"  # the evidence names the column as the file spells it
    assert _quarantine(tmp_path) == {}


def test_email_platform_status_column(inbox, tmp_path):
    """active/subscribed grant, unsubscribed/blocked/отписан revoke, unconfirmed/invited/bounced are no event."""
    export = "\r\n".join([
        "email;Статус;Дата добавления",
        "a@example.ru;active;2026-01-05", "b@example.ru;unsubscribed;2026-01-05", "c@example.ru;blocked;2026-01-05",
        "d@example.ru;Отписан;2026-01-05", "e@example.ru;unconfirmed;2026-01-05", "f@example.ru;invited;2026-01-05",
        "g@example.ru;bounced;2026-01-05", "h@example.ru;subscribed;2026-01-05",
    ]).encode("utf-8")
    _own_inbox(inbox, tmp_path, {"contacts_export.csv": export})
    rows = dict(_q(tmp_path, "select source_record_id, email_status from raw_spreadsheets.members"))
    assert rows == {"a@example.ru": "granted", "b@example.ru": "revoked", "c@example.ru": "revoked", "d@example.ru": "revoked",
                    "e@example.ru": "none", "f@example.ru": "none", "g@example.ru": "none", "h@example.ru": "granted"}
    assert {k for (k,) in _q(tmp_path, "select distinct mapping_kind from raw_spreadsheets.members")} == {"email_platform"}


def test_unknown_consent_value_quarantines_the_row_naming_the_value(inbox, tmp_path):
    export = CRM_EXPORT + "23,Смирнова,Ольга,,,smirnova@example.ru,может быть\r\n24,Попов,Олег,,,popov@example.ru,popov@example.ru\r\n"
    _own_inbox(inbox, tmp_path, {"crm_clients.csv": export.encode("utf-8")})
    quarantine = _quarantine(tmp_path)
    assert quarantine["crm_clients.csv line 8"] == (
        "consent column 'Подписка' (email_consent) holds 'может быть', which the consent vocabulary of mapping "
        "'crm_clients' does not know; add it to consent_values (granted, revoked or none)")
    # A cell that looks like personal data is not repeated in the reason.
    assert "popov" not in quarantine["crm_clients.csv line 9"] and "sha256" in quarantine["crm_clients.csv line 9"]
    loaded = {r for (r,) in _q(tmp_path, "select source_record_id from raw_spreadsheets.members")}
    assert loaded == {"17", "18", "19", "20", "21", "22"}  # never a silent grant; the other rows load


def test_consent_without_a_date_column_takes_the_files_export_date(inbox, tmp_path):
    path = inbox / "crm_clients.csv"
    path.write_bytes(CRM_EXPORT.encode("utf-8"))
    exported = datetime(2026, 3, 15, 9, 30, tzinfo=timezone.utc)
    os.utime(path, (exported.timestamp(), exported.timestamp()))
    _own_inbox(inbox, tmp_path, {})
    assert _q(tmp_path, "select distinct file_exported_at from raw_spreadsheets.members") == [("2026-03-15T09:30:00+00:00",)]
    assert _q(tmp_path, "select email_consent_at from raw_spreadsheets.members where source_record_id = '17'") == [(None,)]


def test_id_only_person_file_loads_with_a_warning_and_orders_name_its_ids(inbox, tmp_path, caplog):
    ids = "Код клиента\r\n" + "".join(f"C-{n:05d}\r\n" for n in (1, 2, 3))
    orders = ("Заказ;Дата;Сумма;Код клиента\r\n"
              "1001;05.03.2026;1 250,50;C-00001\r\n"
              "1002;06.03.2026 18:45;990,00;C-00009\r\n"   # a customer the id file does not list
              "1003;07.03.2026;100,00;\r\n")
    with caplog.at_level(logging.WARNING, logger="connectors.spreadsheets"):
        _own_inbox(inbox, tmp_path, {"customers_ids.csv": ids.encode("cp1251"), "orders_history.csv": orders.encode("cp1251")})
    assert _q(tmp_path, "select source_record_id, mapping_name from raw_spreadsheets.members order by 1") == [
        ("C-00001", "shop_customers"), ("C-00002", "shop_customers"), ("C-00003", "shop_customers")]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'shop_customers'" in w and "no name, phone or e-mail" in w for w in warnings), warnings
    assert not any("C-0000" in w for w in warnings)  # no record data in the log
    # The order history names the exporting system's own customer ids, with or without a person file;
    # a date without a time stays a date, money stays exact text.
    assert _q(tmp_path, """select source_record_id, customer_source_system, customer_record_id, ordered_at, amount
                           from raw_spreadsheets.orders order by 1""") == [
        ("1001", "shop_orders", "C-00001", "2026-03-05", "1250.50"),
        ("1002", "shop_orders", "C-00009", "2026-03-06 18:45:00", "990.00"),
        ("1003", "shop_orders", None, "2026-03-07", "100.00")]
    assert _quarantine(tmp_path) == {}


def test_separate_name_columns_are_taken_as_given(inbox, tmp_path):
    _own_inbox(inbox, tmp_path, {"crm_clients.csv": CRM_EXPORT.encode("utf-8")})
    rows = _q(tmp_path, "select surname, given_name, patronymic, full_name from raw_spreadsheets.members "
                        "where source_record_id in ('17', '18', '21') order by source_record_id")
    # Never joined and re-split: a patronymic like "Фомич" stays a patronymic, a given name typed
    # into the surname column stays where the file put it, "Оглы" is not glued to anything.
    assert rows == [("Бирюков", "Иван", "Фомич", None), ("Мария", "Иванова", "", None), ("Орлов", "Илья", "Оглы", None)]
    # Staging passes names through as given; no name splitter (or any Python function) is called there.
    staging = Path(__file__).parents[2] / "dbt_project" / "models" / "staging" / "spreadsheets"
    sql = " ".join(f.read_text(encoding="utf-8") for f in staging.glob("*.sql"))
    assert not re.search(r"\b(person_name|phone_e164|phone_issue|phone_kind)\s*\(", sql)


def test_mapping_entries_declare_kind_rank_and_consent_words():
    mapping = parse_mapping(yaml.safe_load(OWN_MAPPING))
    crm = mapping.by_name("crm_clients")
    assert (crm.kind, crm.rank, crm.standing_revocations) == ("crm", 2, False)
    platform = mapping.by_name("mail_contacts")
    assert (platform.kind, platform.rank, platform.standing_revocations) == ("email_platform", None, True)
    assert crm.consent["не беспокоить"] == "revoked" and crm.consent["отписан"] == "revoked"
    assert crm.consent["bounced"] == "none"  # an undeliverable address is not a "no"
    assert not mapping.by_name("shop_customers").has_person_fields
    # The older flag_values spelling still reads: true -> granted, false -> revoked.
    legacy = parse_mapping({"mappings": [{"name": "x", "patterns": "*", "table": "members", "record_id": "N",
                                          "columns": {"email_consent": "C"}, "flag_values": {True: ["ok"], False: ["nope"]}}]})
    assert (legacy.entries[0].consent["ok"], legacy.entries[0].consent["nope"]) == ("granted", "revoked")
    base = {"name": "x", "patterns": "*", "table": "members", "record_id": "N"}
    with pytest.raises(MappingError, match="`kind` must be one of crm, erp, email_platform, other"):
        parse_mapping({"mappings": [{**base, "kind": "esp"}]})
    with pytest.raises(MappingError, match="`rank` must be a whole number"):
        parse_mapping({"mappings": [{**base, "rank": 0}]})
    with pytest.raises(MappingError, match="consent_values: keys must be among granted, none, revoked"):
        parse_mapping({"mappings": [{**base, "consent_values": {"yes": ["да"]}}]})


# --- S3 inbox: moto's server as a separate process on loopback ---------------------------------

@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # moto's request recorder writes its file into the working directory: keep it out of the checkout.
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            cwd=tmp_path_factory.mktemp("moto"))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url, timeout=1)
                break
            except requests.RequestException:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start")
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_s3_inbox_on_moto_server(s3_endpoint, tmp_path):
    creds = {"s3_endpoint_url": s3_endpoint, "s3_access_key_id": "testing", "s3_secret_access_key": "testing"}
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket="shop-inbox")
    put = lambda key, body: s3.put_object(Bucket="shop-inbox", Key=key, Body=body)  # noqa: E731
    put("incoming/loyalty_members.csv", f"{LOYALTY_HEADER}\r\n11;Ким Дина;89120000011;;;;;;\r\n".encode("cp1251"))
    put("incoming/retail_sales_may.csv", "\r\n".join(ONE_C_EXPORT[:5]).encode("cp1251"))
    put("incoming/archive/loyalty_members_old.csv", f"{LOYALTY_HEADER}\r\n99;Архив;89120000099;;;;;;\r\n".encode("cp1251"))
    put("elsewhere/loyalty_members.csv", f"{LOYALTY_HEADER}\r\n98;Чужой;89120000098;;;;;;\r\n".encode("cp1251"))

    _run("s3://shop-inbox/incoming/", tmp_path, **creds)
    assert _q(tmp_path, "select record_id, source_file from raw_spreadsheets.members") == [("11", "loyalty_members.csv")]
    assert _q(tmp_path, "select record_id from raw_spreadsheets.orders") == [("retail_sales:2026:ЕВ00-000101",)]
    # The object's LastModified is the file's export date.
    (exported,) = _q(tmp_path, "select file_exported_at from raw_spreadsheets.members")[0]
    assert abs(datetime.fromisoformat(exported) - datetime.now(timezone.utc)) < timedelta(minutes=10)
    loads = _q(tmp_path, "select count(distinct _dlt_load_id) from raw_spreadsheets.members")[0][0]

    requests.post(f"{s3_endpoint}/moto-api/recorder/reset-recording", timeout=10)
    requests.post(f"{s3_endpoint}/moto-api/recorder/start-recording", timeout=10)
    _run("s3://shop-inbox/incoming", tmp_path, **creds)  # unchanged objects: skipped by size and ETag
    requests.post(f"{s3_endpoint}/moto-api/recorder/stop-recording", timeout=10)
    recorded = [json.loads(line) for line in requests.get(f"{s3_endpoint}/moto-api/recorder/download-recording", timeout=10).text.splitlines() if line]
    paths = [urlsplit(r["url"]).path for r in recorded if r["method"] == "GET"]
    assert paths and not [p for p in paths if p.startswith("/shop-inbox/incoming/")], "listed, but downloaded nothing"
    assert _q(tmp_path, "select count(*), count(distinct _dlt_load_id) from raw_spreadsheets.members")[0] == (1, loads)

    put("incoming/loyalty_members.csv", f"{LOYALTY_HEADER}\r\n11;Ким Дина Сергеевна;89120000011;;;;;;\r\n12;Ли Ян;89120000012;;;;;;\r\n".encode("cp1251"))
    _run("s3://shop-inbox/incoming/", tmp_path, **creds)
    assert _q(tmp_path, "select record_id, full_name from raw_spreadsheets.members order by 1") == [("11", "Ким Дина Сергеевна"), ("12", "Ли Ян")]


def test_s3_inbox_that_does_not_exist_fails_the_run(s3_endpoint, tmp_path):
    with pytest.raises(Exception, match=re.compile("NoSuchBucket|does not exist", re.I)):
        _run("s3://no-such-bucket/x/", tmp_path, s3_endpoint_url=s3_endpoint, s3_access_key_id="testing",
             s3_secret_access_key="testing")


def test_readme_mapping_example_is_a_valid_mapping():
    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("## Spreadsheet mapping", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    mapping = parse_mapping(yaml.safe_load(block))
    assert {e.name: e.table for e in mapping.entries} == {"loyalty": "members", "retail_sales": "orders", "events": "members"}
    assert mapping.entry_for("retail_sales_2026.csv").customer_ref_mapping == "loyalty"
