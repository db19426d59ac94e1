"""Sendsay (the shop's previous mailing tool) as a dlt source: the older subscriber base, its
consent state, and what each issue did per member.

- `members`: `member.list`, page by page in `member.id` order, merged on `member.id` (Sendsay's
  permanent member number). No documented change filter exists for members, so every run reads the
  base (it is the old, no longer growing one); only the members that differ from the loaded row
  are loaded (a digest per row, connectors/common/unchanged.py). Consent lives on the member as
  received: `-group` (list memberships: the e-mail list, the SMS list),
  `member.haslock`/`member.lockdate` (the stop-list "unsubscribed from all") and the anketa's SMS
  consent date.
- `issues`: `stat.uni` over `issue.*` (name, subject, send time, counters), merged on `issue.id`.
  The filter `issue.dt:Ys >= …` is the cursor; it steps back 30 days each run because the
  counters keep moving after sending. Sendsay times are account-local text without an offset, so
  the cursor is kept in resource state as that text (a dlt datetime cursor would read it as UTC).
- `issue_member_stats`: one `stat.uni` `join` per issue (delivery status, first read, first click,
  first unsubscribe per member, as sendsay-docs' "how-to-unite-requests" does it), merged on
  (issue_id, member_id). Issues older than 30 days whose statistics were read once are final and
  not asked again.

Members without an integer `member.id` and statistics rows that do not have the requested shape go
to `raw_sendsay.quarantine`. A member row that lost a consent datakey stops the run (`SchemaDrift`).

Standalone:  SENDSAY_API_KEY=demo-key python -m connectors.sendsay --base-url http://127.0.0.1:8306
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import dlt

from connectors.common.arrow import arrow_pages, keep_dlt_columns, rows_as_arrow
from connectors.common.contracts import PII_CONTRACT, SchemaDrift
from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.common.unchanged import UnchangedRows
from connectors.sendsay.client import SendsayClient, SendsayError
from connectors.sendsay.settings import (
    ISSUE_LOOKBACK_DAYS, ISSUE_SELECT, MEMBER_FIELDS, MEMBER_PAGESIZE, STAT_COLUMNS, STAT_FIRST, STATS_SETTLE_DAYS,
    member_stats_query,
)

__all__ = ["sendsay_source", "SendsayClient", "SendsayError"]

log = logging.getLogger(__name__)

SOURCE = "sendsay"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
ISSUE_KEYS = [name.split(":")[0] for name in ISSUE_SELECT]  # "issue.dt:Ys" is stored as "issue.dt"


def _require_datakeys(record: dict, where: str) -> None:
    """`require_fields` for Sendsay's flat datakeys: their names contain dots but are not paths."""
    missing = [f for f in MEMBER_FIELDS if f not in record]
    if missing:
        raise SchemaDrift(
            f"{SOURCE}: {where} no longer returns {', '.join(missing)}; the fields seen were "
            f"{', '.join(sorted(record))}. Personal-data and consent columns are under contract: update the "
            f"connector and staging before loading again.")


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _days_before(text: str, days: int) -> str:
    return (datetime.strptime(text, TIME_FORMAT) - timedelta(days=days)).strftime(TIME_FORMAT)


def _issue_rows(client: SendsayClient, since: str | None) -> Iterator[tuple[str, Any]]:
    """("ok", issue dict) or ("bad", quarantine row) for every issue sent at or after `since`."""
    query: dict[str, Any] = {"select": ISSUE_SELECT, "order": ["issue.id"]}
    if since:
        query["filter"] = [{"a": "issue.dt:Ys", "op": ">=", "v": since}]
    for skip, rows in client.stat_pages(query, STAT_FIRST):
        for i, row in enumerate(rows):
            if not isinstance(row, list) or len(row) != len(ISSUE_KEYS) or not _is_id(row[0]):
                yield "bad", quarantined(SOURCE, f"stat.uni issue.* row {skip + i}", "row does not have the selected shape", row)
            else:
                yield "ok", dict(zip(ISSUE_KEYS, row))


# A member's group flags (`-group`: {list id: "1"}) stay one JSON column, `_group` in dlt's naming;
# declared, so the members' pages can reach dlt as Arrow tables with that column as its JSON text
# (the whole source's CPU at 1 M people, against the emulator: 59.3-59.4 s as dict rows, 50.8-57.0 s).
MEMBER_COLUMNS = {"_group": {"data_type": "json"}}


@dlt.source(name=SOURCE, max_table_nesting=0)
def sendsay_source(base_url: str = dlt.config.value, login: str = dlt.config.value, api_key: str = dlt.secrets.value,
                   http_attempts: int = 6):
    """`base_url` is the host root (`https://api.sendsay.ru`); `http_attempts`: tries per call before
    a transport failure ends the run (tests use 1)."""
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    keep_dlt_columns()  # members and per-issue statistics arrive as Arrow tables (connectors/common/arrow.py)
    client = SendsayClient(base_url, login, api_key, attempts=http_attempts)

    @dlt.resource(name="members", primary_key="member.id", write_disposition="merge", schema_contract=PII_CONTRACT,
                  columns=MEMBER_COLUMNS)
    def members() -> Iterator[Any]:
        yield from arrow_pages(_members(), MEMBER_COLUMNS)

    def _members() -> Iterator[Any]:
        unchanged = UnchangedRows("members", "member.id")
        read = 0
        for page, rows in client.member_pages(MEMBER_PAGESIZE):
            read += len(rows)
            where = f"member.list page {page}"
            first = next((r for r in rows if isinstance(r, dict) and _is_id(r.get("member.id"))), None)
            if first is not None:
                _require_datakeys(first, where)
            good = []
            for i, row in enumerate(rows):
                if not isinstance(row, dict) or not _is_id(row.get("member.id")):
                    yield quarantined(SOURCE, f"{where} item {i}", "member has no integer member.id", row)
                else:
                    good.append(row)
            fresh = unchanged.new(good)  # a member loaded as it is now is not loaded again
            if fresh:
                yield fresh
        log.info("sendsay/members: %d of %d members loaded as they are, not loaded again",
                 unchanged.skipped, read)

    @dlt.resource(name="issues", primary_key="issue.id", write_disposition="merge")
    def issues() -> Iterator[Any]:
        state = dlt.current.resource_state()
        since = state.get("last_issue_dt")
        good, newest = [], since
        for kind, item in _issue_rows(client, _days_before(since, ISSUE_LOOKBACK_DAYS) if since else None):
            if kind == "bad":
                yield item
                continue
            good.append(item)
            if isinstance(item.get("issue.dt"), str) and (newest is None or item["issue.dt"] > newest):
                newest = item["issue.dt"]
        if good:
            yield good
        if newest:
            state["last_issue_dt"] = newest  # saved with the load, so a failed run re-reads

    @dlt.resource(name="issue_member_stats", primary_key=("issue_id", "member_id"), write_disposition="merge",
                  schema_contract=PII_CONTRACT)
    def issue_member_stats() -> Iterator[Any]:
        state = dlt.current.resource_state()
        final = set(state.get("final_issue_ids", []))
        # Account-local dates against UTC now: a few hours either way do not matter next to 30 days.
        settled = (datetime.now(timezone.utc) - timedelta(days=STATS_SETTLE_DAYS)).strftime(TIME_FORMAT)
        listing = {"select": ["issue.id", "issue.dt:Ys"], "order": ["issue.id"]}
        issue_list = [row for _, rows in client.stat_pages(listing, STAT_FIRST) for row in rows
                      if isinstance(row, list) and len(row) == 2 and _is_id(row[0])]
        for issue_id, sent_at in issue_list:
            if issue_id in final:
                continue
            good = []
            for skip, rows in client.stat_pages(member_stats_query(issue_id), STAT_FIRST):
                for i, row in enumerate(rows):
                    if not isinstance(row, list) or len(row) != len(STAT_COLUMNS) or not (_is_id(row[0]) and _is_id(row[1])):
                        yield quarantined(SOURCE, f"stat.uni join issue {issue_id} row {skip + i}",
                                          "row does not have the joined shape", row)
                    else:
                        good.append(dict(zip(STAT_COLUMNS, row)))
            if good:
                yield rows_as_arrow(good)
            if isinstance(sent_at, str) and sent_at < settled:
                final.add(issue_id)
        state["final_issue_ids"] = sorted(final)

    return members, issues, issue_member_stats, quarantine_resource()
