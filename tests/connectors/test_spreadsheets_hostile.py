"""The spreadsheet inbox against careless and hostile files (issue 12), all written here by hand.

One bad file never stops the others; an unbalanced quote, a field over csv's size limit or a line
in another encoding costs that line only; rows of different files never replace each other; a
bad load can be withdrawn; and no reason or log line carries the personal data of the files.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

import connectors.spreadsheets.__main__ as cli
from connectors.spreadsheets import MappingError, readers
from connectors.spreadsheets.mapping import parse_mapping
from tests.connectors.test_spreadsheets import LOYALTY_HEADER, _q, _quarantine, _run

REPO = Path(__file__).parents[2]

MAPPING = """
mappings:
  - name: crm                 # a CRM's customer export: its ids are stable across exports
    kind: crm
    patterns: ["crm*"]
    table: members
    record_id: ID
    columns: {full_name: ФИО, phone: Телефон, email: Email, birthday: Дата рождения, email_consent: Подписка}
    optional: [phone, email, birthday, email_consent]
  - name: lists               # anybody's list, numbered from 1 in every file
    kind: other
    patterns: ["list*"]
    table: members
    record_id: "№"
    columns: {full_name: ФИО, phone: Телефон, email: Email}
    optional: [phone, email]
  - name: sales               # 1C sales: numbers restart every year
    kind: erp
    patterns: ["sales*"]
    table: orders
    record_id: Номер
    record_id_scope: year
    customer_ref_mapping: crm
    columns: {order_number: Номер, ordered_at: Дата, amount: Сумма, customer_ref: Клиент}
    optional: [customer_ref]
    default_status: complete
"""
CRM_HEADER = "ID;ФИО;Телефон;Email;Дата рождения;Подписка"


@pytest.fixture
def inbox(tmp_path):
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def mapping(tmp_path) -> str:
    path = tmp_path / "mapping.yml"
    path.write_text(MAPPING, encoding="utf-8")
    return str(path)


def _crm_rows(n: int, start: int = 1) -> list[str]:
    return [f"{i};Клиент Номер{i};+7 900 {i:07d};c{i}@example.ru;01.01.1990;да" for i in range(start, start + n)]


def _write(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def _workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        ws = book.create_sheet(title)
        for row in rows:
            ws.append(row)
    book.save(path)
    return path


def _members(tmp_path, where: str = "true") -> list[tuple]:
    return _q(tmp_path, f"select source_record_id, full_name from raw_spreadsheets.members where {where} order by 1")


# --- 1. One file's failure is that file's quarantine row -----------------------------------------

def _flip_a_byte_of(path: Path, member: str) -> None:
    """One flipped byte in the middle of a zip member's compressed data, as a bad disk or a cut
    download leaves it."""
    data = bytearray(path.read_bytes())
    info = zipfile.ZipFile(path).getinfo(member)
    name_len, extra_len = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
        int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
    at = info.header_offset + 30 + name_len + extra_len + info.compress_size // 2
    data[at] ^= 0xFF
    path.write_bytes(bytes(data))


def _cut_sheet_xml(path: Path) -> None:
    """A workbook whose sheet XML stops half way (a save interrupted), in an otherwise valid zip."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            dst.writestr(info.filename, body[:len(body) // 2] if info.filename == "xl/worksheets/sheet1.xml" else body)
    path.write_bytes(out.getvalue())


def _reader_raises(monkeypatch, file_name: str, error: Exception) -> None:
    """The CSV reader raises `error` on `file_name` (and reads every other file as usual)."""
    real = readers.read_csv

    def read_csv(name, data, header_score=lambda cells: 0):
        if name == file_name:
            raise error
        return real(name, data, header_score)

    monkeypatch.setattr(readers, "read_csv", read_csv)


def test_a_corrupt_workbook_costs_that_file_only(inbox, tmp_path, monkeypatch):
    rows = [["Регистрация"], [], ["№", "Фамилия", "Имя", "Телефон"], *[[i, "Иванова", "Анна", f"8916000000{i}"] for i in range(1, 6)]]
    _flip_a_byte_of(_workbook(inbox / "events_flipped.xlsx", {"Мероприятие май": rows}), "xl/worksheets/sheet1.xml")
    _cut_sheet_xml(_workbook(inbox / "events_cut.xlsx", {"Мероприятие май": rows}))
    (inbox / "events_truncated.xlsx").write_bytes((_workbook(tmp_path / "whole.xlsx", {"Мероприятие май": rows})).read_bytes()[:900])
    _write(inbox / "loyalty_members_good.csv", [LOYALTY_HEADER, "7;Ким Дина;89120000007;;;;;;", "8;Ли Ян;89120000008;;;;;;"], "cp1251")
    # Anything else a reader may raise on one file (a library's bug, memory) is caught as well.
    _reader_raises(monkeypatch, "loyalty_members_boom.csv", RuntimeError("boom on Петров Пётр"))
    _write(inbox / "loyalty_members_boom.csv", [LOYALTY_HEADER, "9;Петров Пётр;89120000009;;;;;;"], "cp1251")

    _run(inbox, tmp_path)
    assert _members(tmp_path) == [("7", "Ким Дина"), ("8", "Ли Ян")]  # the good file beside them loads
    reasons = _quarantine(tmp_path)
    assert set(reasons) == {"events_flipped.xlsx", "events_cut.xlsx", "events_truncated.xlsx", "loyalty_members_boom.csv"}
    for name in ("events_flipped.xlsx", "events_cut.xlsx", "events_truncated.xlsx"):
        assert reasons[name].startswith(f"{name}: unreadable: not a readable xlsx workbook ("), reasons[name]
    assert reasons["loyalty_members_boom.csv"] == "loyalty_members_boom.csv: unreadable: reading failed (RuntimeError)"


# --- 2. CSV reading that recovers -----------------------------------------------------------------

def test_an_unbalanced_quote_costs_its_own_line(inbox, tmp_path, mapping):
    lines = [CRM_HEADER, *_crm_rows(10)]
    lines[4] = '4;"Клиент Номер4;+7 900 0000004;c4@example.ru;01.01.1990;да'  # the quote never closes
    _write(inbox / "crm_10.csv", lines)
    _run(inbox, tmp_path, mapping_path=mapping)
    assert [r for (r, _) in _members(tmp_path)] == sorted(str(i) for i in range(1, 11) if i != 4)
    reasons = _quarantine(tmp_path)
    assert list(reasons) == ["crm_10.csv line 5"] and "unbalanced quote" in reasons["crm_10.csv line 5"]


def test_5000_rows_with_one_unbalanced_quote_load_all_the_others(inbox, tmp_path, mapping):
    lines = [CRM_HEADER, *_crm_rows(5000)]
    lines[2001] = '2001;"ООО ""Ромашка;+7 900 0002001;c2001@example.ru;01.01.1990;да'  # never closed
    lines[101] = '101;Клиент "Номер101;+7 900 0000101;c101@example.ru;01.01.1990;да'  # mid-cell: just text
    _write(inbox / "crm_5000.csv", lines)
    _run(inbox, tmp_path, mapping_path=mapping)
    assert _q(tmp_path, "select count(*) from raw_spreadsheets.members") == [(4999,)]
    assert list(_quarantine(tmp_path)) == ["crm_5000.csv line 2002"]
    assert _q(tmp_path, "select full_name from raw_spreadsheets.members where source_record_id = '101'") == [('Клиент "Номер101',)]


def test_quoted_cells_over_several_lines_still_load_and_a_giant_field_costs_its_row(inbox, tmp_path, mapping):
    lines = [CRM_HEADER, *_crm_rows(6)]
    lines[2] = '2;"Клиент\nНомер2";+7 900 0000002;c2@example.ru;01.01.1990;да'  # a real line break inside a cell
    lines[4] = "4;Клиент Номер4;+7 900 0000004;" + "x" * 200_000 + "@example.ru;01.01.1990;да"  # over csv's limit
    lines[5] = '5;"Клиент Номер5";+7 900 0000005;c5@example.ru;01.01.1990;"да'  # a quote closed by nothing
    _write(inbox / "crm_multiline.csv", lines)
    _run(inbox, tmp_path, mapping_path=mapping)
    assert _members(tmp_path) == [("1", "Клиент Номер1"), ("2", "Клиент\nНомер2"), ("3", "Клиент Номер3"),
                                  ("6", "Клиент Номер6")]
    reasons = _quarantine(tmp_path)
    assert set(reasons) == {"crm_multiline.csv line 6", "crm_multiline.csv line 7"}  # row 2 took lines 3 and 4
    assert reasons["crm_multiline.csv line 6"] == "cannot be read as CSV (field larger than field limit (131072))"
    assert "unbalanced quote" in reasons["crm_multiline.csv line 7"]


NAMES = ["Иванов Иван", "Петрова Анна", "Сидоров Пётр", "Ёлкина Юлия", "Щукин Эдуард"]


def test_a_cp1251_line_in_a_utf8_file_is_read_right(inbox, tmp_path, mapping):
    """Cyrillic header: every line loads with its own encoding, nothing garbled, nothing lost."""
    lines = [CRM_HEADER.encode("utf-8")] + [f"{i};{n};;;;".encode("utf-8") for i, n in enumerate(NAMES, 1)]
    lines.insert(3, "9;Кузнецова Мария;;;;".encode("cp1251"))
    (inbox / "crm_mixed.csv").write_bytes(b"\r\n".join(lines))
    # ASCII header: the whole file once decoded as cp1251 and loaded garbled names, silently.
    lines = [b"ID;Name"] + [f"{i};{n}".encode("utf-8") for i, n in enumerate(NAMES, 1)] + ["9;Кузнецова Мария".encode("cp1251")]
    (inbox / "crm_ascii_header.csv").write_bytes(b"\n".join(lines))
    Path(mapping).write_text(MAPPING.replace("{full_name: ФИО,", "{full_name: [ФИО, Name],"), encoding="utf-8")
    _run(inbox, tmp_path, mapping_path=mapping)
    expected = sorted([*[(str(i), n) for i, n in enumerate(NAMES, 1)], ("9", "Кузнецова Мария")])
    assert _members(tmp_path, "source_file = 'crm_mixed.csv'") == expected
    assert _members(tmp_path, "source_file = 'crm_ascii_header.csv'") == expected
    assert _quarantine(tmp_path) == {}


def test_a_cp1251_file_with_a_utf8_line_and_lines_in_no_encoding(inbox, tmp_path, mapping):
    lines = [CRM_HEADER.encode("cp1251")] + [f"{i};{n};;;;".encode("cp1251") for i, n in enumerate(NAMES, 1)]
    lines.append("6;Кузнецова Мария;;;;".encode("utf-8"))
    lines.append("7;Попов Олег;;;;".encode("utf-8").replace("Олег".encode("utf-8"), b"\xce\xeb\xe5\xe3"))  # half and half
    lines.append(b"8;\x98\x98;;;;")  # bytes that are neither UTF-8 nor cp1251
    (inbox / "crm_1c.csv").write_bytes(b"\r\n".join(lines))
    _run(inbox, tmp_path, mapping_path=mapping)
    assert _members(tmp_path) == [*[(str(i), n) for i, n in enumerate(NAMES, 1)], ("6", "Кузнецова Мария")]
    assert _quarantine(tmp_path) == {
        "crm_1c.csv line 8": "byte 0xce at column 9 is not valid UTF-8, though the rest of the line is UTF-8 text",
        "crm_1c.csv line 9": "byte 0x98 at column 3 is neither UTF-8 nor cp1251 text",
    }


# --- 3. Record identity per file --------------------------------------------------------------------

def test_two_event_workbooks_with_the_same_sheet_names_keep_every_registration(inbox, tmp_path):
    header = ["№", "Фамилия", "Имя", "Телефон"]
    for year, names in (("2025", ["Акулова", "Белов", "Волков", "Гусева", "Дёмин"]),
                        ("2026", ["Ершова", "Жуков", "Зайцева", "Ильин", "Котова"])):
        rows = [[f"Регистрация {year}"], [], header, *[[i, n, "Имя", f"8916{year}00{i}"] for i, n in enumerate(names, 1)]]
        _workbook(inbox / f"events_{year}.xlsx", {"Мероприятие май": rows})
    _run(inbox, tmp_path)
    rows = _q(tmp_path, "select source_record_id, surname from raw_spreadsheets.members order by 1")
    assert len(rows) == 10 and rows[0] == ("events_2025.xlsx:Мероприятие май:1", "Акулова")
    assert rows[5] == ("events_2026.xlsx:Мероприятие май:1", "Ершова")
    assert _quarantine(tmp_path) == {}


def test_two_yearly_1c_sales_files_with_restarting_numbers_keep_every_receipt(inbox, tmp_path):
    header = "Дата;Номер;Магазин;Покупатель;Дисконтная карта;Телефон покупателя;Сумма;Статус"
    for year in ("2025", "2026"):
        receipts = [f"0{i}.03.{year} 10:00:00;ЕВ00-00000{i};ТЦ;Розничный покупатель;;;{i}00,00;Пробит" for i in range(1, 6)]
        _write(inbox / f"retail_sales_{year}.csv", ["Розничные продажи", header, *receipts], "cp1251")
    _run(inbox, tmp_path)
    assert _q(tmp_path, "select count(*), count(distinct record_id), sum(amount::decimal(18, 2)) from raw_spreadsheets.orders") == [
        (10, 10, 3000)]
    assert _q(tmp_path, "select source_record_id from raw_spreadsheets.orders order by 1 limit 1") == [("2025:ЕВ00-000001",)]


def test_overlapping_ids_of_two_lists_are_different_people_but_a_crm_reexport_is_the_same(inbox, tmp_path, mapping):
    """`other` lists are numbered per file (10 in, 10 kept); a CRM's ids are its customers, so a
    later export of the same ids is the same records: raw keeps both files' rows, and staging the
    newest export's (the rule, run here on the raw table, is the staging model's own SQL)."""
    for name, people in (("list_may.csv", NAMES), ("list_june.csv", [n + "а" for n in NAMES])):
        _write(inbox / name, ["№;ФИО", *[f"{i};{n}" for i, n in enumerate(people, 1)]])
    may, june = inbox / "crm_2026-05.csv", inbox / "crm_2026-06.csv"
    _write(may, [CRM_HEADER, *_crm_rows(5)])
    _write(june, [CRM_HEADER, *[r.replace("Клиент", "Клиентка") for r in _crm_rows(5, start=3)]])
    os.utime(may, (1_780_000_000, 1_780_000_000))
    os.utime(june, (1_782_000_000, 1_782_000_000))
    _run(inbox, tmp_path, mapping_path=mapping)
    assert _q(tmp_path, "select count(*), count(distinct source_record_id) from raw_spreadsheets.members "
                        "where mapping_name = 'lists'") == [(10, 10)]
    assert _q(tmp_path, "select count(*), count(distinct record_id) from raw_spreadsheets.members "
                        "where mapping_name = 'crm'") == [(10, 7)]
    sql = (REPO / "dbt_project/models/staging/spreadsheets/stg_spreadsheets__members.sql").read_text(encoding="utf-8")
    latest = re.search(r"latest as \((.*?)\n\),", sql, re.S).group(1).replace("from source", "from raw_spreadsheets.members")
    got = _q(tmp_path, f"select record_id, full_name from ({latest}) where mapping_name = 'crm' order by 1")
    assert got == [("crm:1", "Клиент Номер1"), ("crm:2", "Клиент Номер2"), *[(f"crm:{i}", f"Клиентка Номер{i}") for i in range(3, 8)]]


def test_orders_can_name_only_records_whose_ids_are_stable():
    spec = yaml.safe_load(MAPPING)
    spec["mappings"][0]["record_id_scope"] = "file"
    with pytest.raises(MappingError, match="whose record ids are unique only per file"):
        parse_mapping(spec)
    # An entry whose ids orders name holds business ids: stable (entry) unless it says otherwise.
    spec = yaml.safe_load(MAPPING)
    spec["mappings"][0]["kind"] = "other"
    assert parse_mapping(spec).by_name("crm").record_id_scope == "entry"
    assert parse_mapping(spec).by_name("lists").record_id_scope == "file"
    with pytest.raises(MappingError, match="use it on orders"):
        parse_mapping({"mappings": [{"name": "x", "patterns": "*", "table": "members", "record_id": "N", "record_id_scope": "year"}]})


# --- 4. Withdrawing a bad load ----------------------------------------------------------------------

def _cli(work: Path, mapping: str, *args: str, in_process: bool = False) -> subprocess.CompletedProcess:
    """`python -m connectors.spreadsheets <load|withdraw> --inbox <work>/inbox --duckdb <work>/w.duckdb ...`,
    as a process, or in this one (the same `main`, without the interpreter's start-up)."""
    argv = [*args[:1], "--inbox", str(work / "inbox"), "--duckdb", str(work / "w.duckdb"), "--mapping", mapping, *args[1:]]
    if in_process:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main(argv)
        return subprocess.CompletedProcess(argv, 0, out.getvalue(), "")
    done = subprocess.run([sys.executable, "-m", "connectors.spreadsheets", *argv],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_withdraw_takes_a_files_rows_out_until_it_changes(inbox, tmp_path, mapping):
    good = _write(inbox / "crm_good.csv", [CRM_HEADER, *_crm_rows(3)])
    bad = _write(inbox / "crm_bad.csv", [CRM_HEADER, *_crm_rows(3, start=100), "100;Дубль;;;;"])
    _cli(tmp_path, mapping, "load", in_process=True)
    files = "select source_file, count(*) from raw_spreadsheets.members group by 1 order by 1"
    assert _q(tmp_path, files) == [("crm_bad.csv", 3), ("crm_good.csv", 3)]
    assert list(_quarantine(tmp_path)) == ["crm_bad.csv line 5"]

    out = _cli(tmp_path, mapping, "withdraw", "crm_bad.csv").stdout
    assert "withdrew crm_bad.csv" in out and "1 quarantine row(s) removed" in out
    assert _q(tmp_path, files) == [("crm_good.csv", 3)] and _quarantine(tmp_path) == {}
    _cli(tmp_path, mapping, "load", in_process=True)  # still in the inbox, unchanged: it stays out
    assert _q(tmp_path, files) == [("crm_good.csv", 3)]
    _write(bad, [CRM_HEADER, *_crm_rows(2, start=100)])  # fixed: it loads again
    _cli(tmp_path, mapping, "load", in_process=True)
    assert _q(tmp_path, files) == [("crm_bad.csv", 2), ("crm_good.csv", 3)]
    # A file moved aside keeps its rows (normal housekeeping); withdrawing it removes them.
    (inbox / "archive").mkdir()
    good.rename(inbox / "archive" / good.name)
    _cli(tmp_path, mapping, "load", in_process=True)
    assert _q(tmp_path, files) == [("crm_bad.csv", 2), ("crm_good.csv", 3)]
    _cli(tmp_path, mapping, "withdraw", "crm_good.csv", in_process=True)
    assert _q(tmp_path, files) == [("crm_bad.csv", 2)]
    (inbox / "archive" / good.name).rename(good)  # put back after leaving the inbox: it loads
    _cli(tmp_path, mapping, "load", in_process=True)
    assert _q(tmp_path, files) == [("crm_bad.csv", 2), ("crm_good.csv", 3)]


# --- 5. No personal data in any reason or log line ---------------------------------------------------

PII = {"name": "Заплатина Евдокия", "surname": "Заплатина", "phone": "+7 916 555-44-33", "digits": "9165554433",
       "email": "evdokia.zaplatina@example.ru", "birthday": "17.03.1984", "iso_birthday": "1984-03-17"}


def _pii_inbox(inbox: Path) -> None:
    """Files that between them produce every kind of quarantine reason, each carrying the same
    person's name, phone, e-mail and birth date."""
    name, phone, email, born = PII["name"], PII["phone"], PII["email"], PII["birthday"]
    person = f"{name};{phone};{email};{born}"
    _write(inbox / "crm_rows.csv", [
        CRM_HEADER,
        f"1;{person};да",                                 # good
        f"1;{person};да",                                 # record id repeats
        f";{person};да",                                  # record id is empty
        f"2;{person};да;лишнее",                          # wrong field count
        f'3;"{name};{phone};{email};{born};да',            # unbalanced quote
        f"4;{name};{phone};{email};{born};{name}",        # consent column holds a name
        f"5;{name};{phone};{email};{born};{email}",       # ... an e-mail
        f"6;{name};{phone};{email};{born};{phone}",       # ... a phone
        f"7;{name};{phone};{email};{born};{born}",        # ... a date
        f"8;{name};{phone};{'x' * 140_000}{email};{born};да",  # a field over csv's limit
    ])
    with open(inbox / "crm_rows.csv", "ab") as f:
        f.write(f"9;{name};{phone};{email};{born};да".encode("cp1251").replace(b";\xe4\xe0", b";\x98\xe4\xe0") + b"\r\n")
        f.write(f"10;{name};{phone};{email};{born};да".encode("utf-8") + b"\xff\r\n")  # UTF-8 with a stray byte
    _write(inbox / "crm_no_header.csv", [f"{i};{person};да" for i in range(1, 4)])  # no header at all
    _write(inbox / "crm_wrong_header.csv", ["ФИО;Контакт", f"{name};{phone}"])
    _write(inbox / "crm_dup_header.csv", ["ID;ФИО;ФИО;Телефон", f"1;{name};{name};{phone}"])
    _write(inbox / "sales_2026.csv", ["Номер;Дата;Сумма;Клиент", f"1;{born}x;100,00;1", f"2;;100,00;1",
                                      f"3;01.02.2026;{phone};1", f"4;01.02.2026;;1"])
    _write(inbox / "unmapped_export.csv", [f"id;{name}", f"1;{email}"])
    _workbook(inbox / "list_broken.xlsx", {"Лист1": [["№", "ФИО", "Телефон"], [1, name, phone]]})
    _flip_a_byte_of(inbox / "list_broken.xlsx", "xl/worksheets/sheet1.xml")
    (inbox / "list_empty.csv").write_bytes(b"")


def _planted(text: str) -> list[str]:
    return [k for k, v in PII.items() if v.lower() in text.lower()]


def test_no_personal_data_in_reasons_or_logs(inbox, tmp_path, mapping, caplog, monkeypatch):
    _pii_inbox(inbox)
    _reader_raises(monkeypatch, "list_crash.csv", ValueError(f"cannot parse {PII['name']} {PII['phone']}"))
    _write(inbox / "list_crash.csv", ["№;ФИО", f"1;{PII['name']}"])
    with caplog.at_level(logging.DEBUG):
        _run(inbox, tmp_path, mapping_path=mapping)
    quarantine = _q(tmp_path, "select position, reason, payload from raw_spreadsheets.quarantine order by 1")
    kinds = "\n".join(reason for _, reason, _ in quarantine)
    for expected in ("record id repeats", "record id is empty", "7 fields where the header has 6", "unbalanced quote",
                     "consent column 'Подписка'", "field larger than field limit", "neither UTF-8 nor cp1251",
                     "not valid UTF-8", "no row among the first 30", "the header lacks them", "ordered_at is not a date",
                     "ordered_at is empty", "amount is not a number", "amount is empty", "no mapping entry's patterns",
                     "not a readable xlsx workbook", "the file is empty", "reading failed (ValueError)"):
        assert expected in kinds, expected
    for position, reason, _ in quarantine:
        assert not _planted(position + " " + reason), (position, reason)
    # The payload keeps the original row: that is what quarantine is for.
    assert _planted(dict((p, pl) for p, _, pl in quarantine)["crm_rows.csv line 3"])
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "column 'ФИО' appears 2 times (columns 2, 3)" in logged  # the duplicate header is reported
    assert not _planted(logged), _planted(logged)

    # The command line says nothing personal either, on stdout or stderr.
    (inbox / "list_crash.csv").unlink()
    shutil.copytree(inbox, tmp_path / "cli" / "inbox")
    done = _cli(tmp_path / "cli", mapping, "load")
    assert not _planted(done.stdout + done.stderr), done.stderr


# --- 6. Smaller points ---------------------------------------------------------------------------------

def test_a_duplicate_header_is_reported_and_both_cells_stay_in_the_payload(inbox, tmp_path, mapping, caplog):
    _write(inbox / "crm_two_phones.csv", ["ID;ФИО;Телефон;Email;Телефон;", "1;Ким Дина;89120000001;k@x.ru;89120000002;заметка"])
    with caplog.at_level(logging.WARNING, logger="connectors.spreadsheets"):
        _run(inbox, tmp_path, mapping_path=mapping)
    assert _q(tmp_path, "select phone from raw_spreadsheets.members") == [("89120000001",)]  # the first, as documented
    payload = json.loads(_q(tmp_path, "select payload from raw_spreadsheets.members")[0][0])
    assert payload == {"ID": "1", "ФИО": "Ким Дина", "Телефон": "89120000001", "Email": "k@x.ru",
                       "Телефон (2)": "89120000002", "column 6": "заметка"}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("crm_two_phones.csv: column 'Телефон' appears 2 times (columns 3, 5); phone read from column 3" in w
               for w in warnings), warnings


def test_the_inbox_ignores_symlinks_and_anything_outside_it(inbox, tmp_path):
    outside = _write(tmp_path / "elsewhere.csv", [LOYALTY_HEADER, "66;Чужой Файл;89120000066;;;;;;"], "cp1251")
    (inbox / "loyalty_members_link.csv").symlink_to(outside)
    (inbox / "loyalty_members_passwd.csv").symlink_to("/etc/passwd")
    (inbox / "sub").mkdir()
    _write(inbox / "sub" / "loyalty_members_deep.csv", [LOYALTY_HEADER, "77;Глубоко;89120000077;;;;;;"], "cp1251")
    _write(inbox / "loyalty_members.csv", [LOYALTY_HEADER, "5;Свой Файл;89120000005;;;;;;"], "cp1251")
    _run(inbox, tmp_path)
    assert _members(tmp_path) == [("5", "Свой Файл")]
    assert _quarantine(tmp_path) == {}
    from connectors.spreadsheets.inbox import LocalInbox

    with pytest.raises(ValueError, match="not a file name"):
        LocalInbox(inbox).read("../elsewhere.csv")
    with pytest.raises(OSError):
        LocalInbox(inbox).read("loyalty_members_link.csv")


def test_idn_emails_pass_raw(inbox, tmp_path, mapping):
    emails = ["иван@почта.рф", "Ivan@xn--80a1acny.xn--p1ai", "мария.петрова@пример.рф", "user@пример.испытание"]
    _write(inbox / "crm_idn.csv", [CRM_HEADER, *[f"{i};Клиент {i};;{e};;да" for i, e in enumerate(emails, 1)]])
    _run(inbox, tmp_path, mapping_path=mapping)
    assert [e for (e,) in _q(tmp_path, "select email from raw_spreadsheets.members order by source_record_id")] == emails
    assert _quarantine(tmp_path) == {}


def test_readme_has_a_quarantine_section_for_every_kind_of_bad_input():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quarantine", 1)[1].split("\n## ", 1)[0]
    for words in ("file", "row", "value", "marts.rejected_values", "withdraw", "unbalanced quote", "record_id_scope"):
        assert words in section, words
