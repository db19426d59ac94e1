"""Sendsay API constants (../shared/specs/destinations.md §2; sendsay-ru/sendsay-docs)."""

API_PATH = "/general/api/v100/json/{login}"  # POST JSON here; `-` as login for account-less calls
MAX_REDIRECTS = 10  # both official clients stop after 10 REDIRECT answers
MEMBER_PAGESIZE = 500  # member.list page size; the documented maximum is unconfirmed
STAT_FIRST = 1000  # stat.uni rows per call (`first`, with `skip`); rows are not capped, calls are

# Datakeys that identity and consent depend on: if member.list stops sending one, the run stops.
MEMBER_FIELDS = ("member.id", "member.email", "member.addr_type", "member.createdate", "member.haslock", "-group")

ISSUE_SELECT = ["issue.id", "issue.name", "issue.subject", "issue.dt:Ys", "issue.format", "issue.group.gid",
                "issue.members", "issue.deliv_ok", "issue.deliv_bad", "issue.readed", "issue.u_readed",
                "issue.clicked", "issue.u_clicked", "issue.unsubed"]
# Issue counters keep moving for weeks after sending: each run re-reads issues sent in the last
# 30 days, and per-member statistics of an issue until it is older than that.
ISSUE_LOOKBACK_DAYS = 30
STATS_SETTLE_DAYS = 30

# One row per (member, issue): delivery, first read, first click and the unsubscribe, combined with
# stat.uni `join` exactly as sendsay-docs "how-to-unite-requests" shows (aggregates keep one row
# per key in each area). Columns of the joined row, in order:
STAT_COLUMNS = ["member_id", "issue_id", "email", "deliv_status", "deliv_dt", "first_read_dt", "reads",
                "first_click_dt", "clicks", "unsub_dt"]


def member_stats_query(issue_id: int) -> dict:
    match = lambda area: [{"a": f"{area}.issue.id", "op": "==", "v": str(issue_id)}]  # noqa: E731
    return {
        "joinby": 2,
        "join": [
            {"select": ["deliv.member.id", "deliv.issue.id", "deliv.member.email", "deliv.status", "deliv.dt:Ys"],
             "filter": match("deliv")},
            {"select": ["read.member.id", "read.issue.id", "min(read.dt:Ys)", "count(*)"], "filter": match("read")},
            {"select": ["click.member.id", "click.issue.id", "min(click.dt:Ys)", "count(*)"], "filter": match("click")},
            {"select": ["unsub.member.id", "unsub.issue.id", "min(unsub.dt:Ys)"], "filter": match("unsub")},
        ],
        # Without an order stat.uni returns rows in no fixed order, which would break skip/first paging.
        "order": ["deliv.member.id"],
    }

# Destination side (connectors/sendsay/destination.py).
IMPORT_BATCH = 5000  # rows per member.import; the row limit is unconfirmed, the 400 MB body is not the bound
SMALL_BATCH = 3  # up to this many contacts go by member.set (answers at once) instead of an async import
TRACK_POLL_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)  # waits between track.get polls, the last repeated
TRACK_TIMEOUT_SECONDS = 600.0
TRACK_FAILED = {-2: "error", -3: "cancelled", -4: "deferred", -5: "moderation", -6: "moderation"}
ADDR_TYPES = {"email": "email", "phone": "msisdn"}  # our address type -> Sendsay's
