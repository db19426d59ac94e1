"""The README's "your own files" quick start, on exports the demo generator did not write.

tests/fixtures/own_business/ holds hand-written files in the shapes real systems export: a CRM
customer export (UTF-8, separate name columns, Да/Нет consent, some consent dates missing), a 1C
counterparty export (cp1251, `;`, the full name in one field in either order, a company card), an
e-mail platform contact export with a `status` column, a shop's order history naming customer
ids only (one id no person file has, date-only values, `1 234,50` amounts) and till receipts with
local times around midnight. No API system is enabled. One command builds the warehouse; the
assertions are what a marketer and an analyst would check.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "own_business"
AS_OF = dt.date(2024, 12, 2)  # rfm.as_of in the fixture's business.yml
ZONE = ZoneInfo("Europe/Moscow")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("own")
    shutil.copytree(FIXTURES, work / "own_business")
    target = work / "data" / "mine.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "orchestration.run", "--config", str(work / "own_business" / "business.yml"),
         "--inbox", str(work / "own_business" / "inbox"), "--warehouse", str(target)],
        cwd=work, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Identity resolution" in done.stdout  # the summary was printed
    # The terminal's output and the run's log file (every Dagster event at DEBUG, dbt's lines).
    logs = sorted((target.parent / "logs").glob("run_once-*.log"))
    assert logs and "STEP_SUCCESS" in logs[-1].read_text(encoding="utf-8")
    (work / "run.log").write_text(done.stdout + done.stderr + logs[-1].read_text(encoding="utf-8"), encoding="utf-8")
    return target


def _q(warehouse: Path, sql: str, *params):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def test_a_row_with_an_unknown_consent_word_is_quarantined_and_no_personal_value_reaches_any_log(warehouse):
    """Row 107 says "может быть" in its consent column: quarantined, naming the word, never a grant.
    The run's whole output (every Dagster event at DEBUG, dbt's log, the summary) and every
    quarantine reason carry none of the personal values in the exports, this row's included."""
    rows = _q(warehouse, "select position, reason from marts.quarantine_rows")
    assert len(rows) == 1 and "crm_customers.csv" in rows[0][0] and "может быть" in rows[0][1]
    assert not _q(warehouse, "select 1 from marts.customer_identity_map where record_key = 'crm:107'")
    planted = ["Секретова", "Тайна", "secret.person@mail.ru", "999 123-45-67", "+79991234567", "01.01.1970",
               "Бирюков", "ivan.biryukov@mail.ru", "345-67-89", "+79123456789", "anna.lev@yandex.ru", "Кузьмина",
               "olga.k@gmail.com", "тел 1", "denis.z@inbox.ru", "Захаров"]
    output = (warehouse.parent.parent / "run.log").read_text(encoding="utf-8")
    reasons = " ".join(reason for _, reason in rows)
    assert [p for p in planted if p in output or p in reasons] == []


def _customer(warehouse: Path, record_key: str) -> str:
    return _q(warehouse, "select customer_id from marts.customer_identity_map where record_key = ?", record_key)[0][0]


def test_one_customer_across_crm_1c_and_the_mailing_tool_with_names_as_given(warehouse):
    ivan = _customer(warehouse, "crm:101")
    assert _customer(warehouse, "onec_clients:0001") == ivan  # same phone, written differently
    assert _customer(warehouse, "esp:ivan.biryukov@mail.ru") == ivan
    # 1C wrote "Иван Фомич Бирюков" (given name first); the CRM has separate columns.
    assert _q(warehouse, "select surname, given_name, patronymic from marts.customer_360 where customer_id = ?", ivan) == [
        ("Бирюков", "Иван", "Фомич")]
    # A surname that is also a given name stays a surname when the column says so.
    assert _q(warehouse, "select surname, given_name from intermediate.int_source_records_unioned where record_key = 'crm:102'") == [
        ("Лев", "Анна")]
    assert _q(warehouse, "select patronymic from intermediate.int_source_records_unioned where record_key = 'crm:104'") == [
        ("Гусейн оглы",)]
    assert _q(warehouse, "select surname, given_name from intermediate.int_source_records_unioned where record_key = 'onec_clients:0002'") == [
        ("Смирнова", "Елена")]


def test_each_mapping_entry_is_a_source_system_and_a_company_card_is_no_customer(warehouse):
    systems = {s for (s,) in _q(warehouse, "select distinct source_system from marts.customer_identity_map")}
    assert systems == {"crm", "onec_clients", "esp"}
    assert not _q(warehouse, "select 1 from marts.customer_identity_map where record_key = 'onec_clients:0004'")


def test_consent_is_what_the_files_say_per_address(warehouse):
    consent = dict(_q(warehouse, "select address, has_consent from marts.consent_current where channel = 'email'"))
    # The mailing tool's export says unsubscribed: a standing revocation beats the CRM's "Да".
    assert consent["anna.lev@yandex.ru"] is False
    # The CRM's "Нет" is a revocation.
    assert consent["olga.k@gmail.com"] is False
    assert consent["ivan.biryukov@mail.ru"] is True
    # `unconfirmed` is no grant; an empty consent cell is no event.
    assert "new.reader@rambler.ru" not in consent and "petr.petrov@bk.ru" not in consent
    revoked = _q(warehouse, "select revoked_by, has_standing_revocation from marts.consent_current where address = 'anna.lev@yandex.ru'")
    assert revoked == [("esp", True)]
    # A grant without a date takes the file's export date, and its evidence names the file and row.
    undated = _q(warehouse, "select evidence, event_at from intermediate.int_consent_events_raw where record_key = 'crm:104'")
    assert undated and all("crm_customers.csv" in e and at is not None for e, at in undated)


def test_no_unsubscribed_or_unconsented_address_is_in_any_audience(warehouse):
    audiences = [t for (t,) in _q(warehouse, "select table_name from information_schema.tables "
                                             "where table_schema = 'activation' and table_name like 'audience\\_\\_%' escape '\\'")]
    assert audiences
    for table in audiences:
        addresses = {a for (a,) in _q(warehouse, f"select address from activation.{table}")}
        assert not addresses & {"anna.lev@yandex.ru", "olga.k@gmail.com", "new.reader@rambler.ru"}, table


def test_orders_attach_by_the_exporting_systems_customer_id(warehouse):
    """Customer 777 has no person row anywhere: the orders still make a customer of that id."""
    rows = _q(warehouse, """
        select c.orders_count, c.revenue from marts.customer_360 c
        join marts.customer_identity_map m using (customer_id) where m.record_key = 'crm:777'""")
    assert rows == [(2, Decimal("3100.05"))]
    assert _q(warehouse, "select count(*) from marts.fct_orders where customer_id is null") == [(0,)]


def test_unparseable_phones_are_rejected_values_not_failures(warehouse):
    rows = _q(warehouse, "select record_key, field, reason, value_sha256 from marts.rejected_values order by 1")
    assert [(k, f) for k, f, _, _ in rows] == [("crm:103", "phone"), ("crm:106", "phone")]
    assert all(len(h) == 64 and "+7" not in h for _, _, _, h in rows)
    # The records themselves loaded, with their e-mails.
    assert _q(warehouse, "select count(*) from intermediate.int_identifiers_unioned where record_key in ('crm:103', 'crm:106')") == [(2,)]


def _orders_independently(warehouse: Path) -> pd.DataFrame:
    """Dates and amounts read straight from the files with Python's own rules: a date-only value
    is that date; a till time is Moscow wall-clock time; amounts are exact decimals."""
    def amount(text: str) -> Decimal:
        return Decimal(text.replace("\u00a0", "").replace(" ", "").replace(",", "."))

    shop = pd.read_csv(FIXTURES / "inbox" / "orders.csv", dtype=str)
    till = pd.read_csv(FIXTURES / "inbox" / "retail_receipts.csv", dtype=str, sep=";", encoding="cp1251")
    rows = [("shop_orders:" + r["Номер заказа"], dt.date.fromisoformat(r["Дата"]), amount(r["Сумма"]),
             r["Статус"] == "Выполнен") for _, r in shop.iterrows()]
    rows += [("till:" + r["Чек"], dt.datetime.strptime(r["Дата"], "%d.%m.%Y %H:%M:%S").replace(tzinfo=ZONE).date(),
              amount(r["Сумма"]), True) for _, r in till.iterrows()]
    orders = pd.DataFrame(rows, columns=["order_id", "ordered_date", "amount", "completed"])
    owners = dict(_q(warehouse, "select order_id, customer_id from marts.fct_orders"))
    orders["customer_id"] = orders["order_id"].map(owners)
    return orders[orders["completed"]]


def test_rfm_equals_an_independent_computation_on_date_only_and_timestamped_orders(warehouse):
    orders = _orders_independently(warehouse)
    expected = {
        cid: ((AS_OF - g["ordered_date"].max()).days, len(g), sum(g["amount"], Decimal(0)))
        for cid, g in orders.groupby("customer_id")
    }
    got = {cid: (r, f, m) for cid, r, f, m in _q(warehouse, "select customer_id, recency_days, frequency, monetary from marts.rfm")}
    assert got == expected
    # The till receipt at 00:30 Moscow time on 1 December is a December purchase (UTC says 30 Nov).
    assert _q(warehouse, "select ordered_date, ordered_at from marts.fct_orders where order_id = 'till:R-1'") == [
        (dt.date(2024, 12, 1), dt.datetime(2024, 11, 30, 21, 30))]
    # The November month end counts what was bought in November, local time, and nothing after.
    november = _q(warehouse, "select customer_id, frequency, monetary from marts.rfm_monthly where as_of_date = '2024-11-30'")
    in_november = orders[orders["ordered_date"] <= dt.date(2024, 11, 30)]
    assert sorted(november) == sorted(
        (cid, len(g), sum(g["amount"], Decimal(0))) for cid, g in in_november.groupby("customer_id"))


def test_every_staging_view_reads_from_a_plain_duckdb_connection(warehouse):
    """No Python function hides in a view: an analyst's plain DuckDB session reads them all."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        views = [v for (v,) in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'staging' and table_type = 'VIEW'").fetchall()]
        assert {"stg_spreadsheets__person_records", "stg_spreadsheets__identifiers", "stg_spreadsheets__consent_events",
                "stg_spreadsheets__orders"} <= set(views)
        for view in views:
            con.execute(f'select count(*) from staging."{view}"').fetchall()
