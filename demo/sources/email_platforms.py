"""E-mail platforms as sources: what the shop's mailings did, per person.

Unisender (the current tool) gets a year of campaigns sent to its list: about twelve, one a month,
each to the contacts that were on the list (active, or not yet unsubscribed) when it started. Each
recipient ends in one delivery status the way Unisender reports it (`send_result` + `last_update`,
UTC), and people who clicked also appear in the visited-links report. Engagement is skewed per
person (a few read everything, most rarely), addresses that do not exist bounce every time, and
contacts whose status is `unsubscribed` mostly unsubscribed through a campaign's link.

Sendsay is the shop's previous mailing tool. It still holds an older base: members (e-mail,
sometimes a phone, a name typed into a sign-up form), their list memberships (the e-mail list and
the SMS list) and the stop-list "unsubscribed from all" with its date, plus issues (campaigns) and
per-member issue statistics. Some of those who unsubscribed there are active in Unisender or the
CRM today; they must end up without e-mail consent, so they are returned as revoked. Sendsay dates
are account-local (Moscow) text; Unisender's are UTC.

Files (new ones only; the core writes `unisender/contacts.parquet` and `lists.json`):
  unisender/campaigns.parquet, unisender/campaign_deliveries.parquet, unisender/visited_links.parquet
  sendsay/groups.json, sendsay/members.parquet, sendsay/issues.parquet, sendsay/issue_member_stats.parquet
Ground truth: source_system `sendsay`, source_record_id = the Sendsay `member.id` as text.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from demo.generate import UNISENDER_LIST_ID, _email_variants, _fmt_dt_arrow, _format_phones, _table, _text
from demo.generate import _fmt_dt as _fmt
from demo.sources import SourceData, World

N_CAMPAIGNS = 12
N_ISSUES = 18
SENDSAY_EMAIL_GROUP = "pl11342"  # the shop's e-mail newsletter list in Sendsay
SENDSAY_SMS_GROUP = "pl11343"  # its SMS list

SUBJECTS = [
    "Новые однодневные линзы уже в каталоге", "Скидка 15% на растворы до конца недели",
    "Пора менять линзы? Напоминаем о замене", "Подарок к заказу от 3000 ₽", "Цветные линзы: летняя коллекция",
    "Как ухаживать за линзами зимой", "Бесплатная доставка по Москве", "Ваши бонусы сгорают через 7 дней",
    "Линзы для астигматизма: что выбрать", "Чёрная пятница в Линзы-шоп", "Новогодние цены на месячные линзы",
    "Проверьте зрение бесплатно в наших салонах", "Капли для глаз: новинки", "Вы давно не заходили к нам",
]
LINK_PATHS = ["/catalog/odnodnevnye", "/catalog/mesyachnye", "/catalog/rastvory", "/promo", "/catalog/cvetnye",
              "/salony", "/bonus"]
HARD_BOUNCES = ["err_user_unknown", "err_user_inactive", "err_domain_inactive"]
# Unisender's `send_result` values this demo uses; deliveries carry an index into this list.
SEND_RESULTS = pa.array(["ok_delivered", "ok_spam_folder", "ok_read", "ok_link_visited", "ok_unsubscribed",
                         "err_mailbox_full", *HARD_BOUNCES, "not_sent"])
_HARD_BOUNCE_FIRST, _NOT_SENT = 6, 9


def _write(frame: pd.DataFrame | pa.Table, path) -> None:
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)


def _engagement(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-person chance to open a letter, and to click once it is open: most people rarely do,
    a few read everything."""
    return rng.beta(0.9, 2.2, n), rng.beta(1.1, 4.5, n)


# --- Unisender -----------------------------------------------------------------------------------
def _campaign_times(rng: np.random.Generator, as_of: datetime) -> np.ndarray:
    """About one campaign a month over the last year; the newest went out three days ago, so its
    opens are still coming in (status `analysed`, not yet `completed`)."""
    end = int(as_of.timestamp())
    days_back = np.linspace(360, 3, N_CAMPAIGNS).round().astype(int) + rng.integers(-2, 3, N_CAMPAIGNS)
    days_back[-1] = 3
    return end - days_back * 86400 - (end % 86400) + 7 * 3600 + rng.integers(0, 3600, N_CAMPAIGNS)


def build_unisender(world: World) -> dict[str, int]:
    rng = world.rng("unisender_campaigns")
    as_of = int(world.cfg.as_of.timestamp())
    contacts = world.unisender_contacts
    email = contacts["email"].str.strip().str.lower().to_numpy(dtype=object)
    status = contacts["email_status"].to_numpy()
    added = pd.to_datetime(contacts["email_add_time"]).astype("datetime64[s]").astype("int64").to_numpy()
    m = len(contacts)

    starts = _campaign_times(rng, world.cfg.as_of)
    ids = 184_000_000 + np.cumsum(rng.integers(3_000, 90_000, N_CAMPAIGNS))
    campaigns = pd.DataFrame({
        "id": ids,
        "start_time": _fmt(starts),
        "status": np.where(np.arange(N_CAMPAIGNS) == N_CAMPAIGNS - 1, "analysed", "completed"),
        "message_id": ids - 1_000_000 + rng.integers(1, 500, N_CAMPAIGNS),
        "list_id": UNISENDER_LIST_ID,
        "subject": np.asarray(SUBJECTS, dtype=object)[rng.permutation(len(SUBJECTS))[:N_CAMPAIGNS]],
        "sender_name": "Линзы-шоп",
        "sender_email": "news@linzy-shop.ru",
    })

    # Who unsubscribed through which campaign: most unsubscribed contacts used a campaign's link.
    p_open, p_click = _engagement(rng, m)
    dead = rng.random(m) < 0.015
    unsub_campaign = np.full(m, -1)
    unsub = np.flatnonzero(status == "unsubscribed")
    for i in unsub[rng.random(len(unsub)) < 0.7]:
        later = np.flatnonzero(starts > added[i])
        if len(later):
            unsub_campaign[i] = rng.choice(later)
    dead[unsub_campaign >= 0] = False

    camp_idx, cont_idx = [], []
    for k in range(N_CAMPAIGNS):
        eligible = (added < starts[k]) & ((status == "active") | ((status == "unsubscribed") & (unsub_campaign >= k)))
        idx = np.flatnonzero(eligible)
        camp_idx.append(np.full(len(idx), k))
        cont_idx.append(idx)
    k = np.concatenate(camp_idx)
    c = np.concatenate(cont_idx)
    n = len(k)

    sent = starts[k] + rng.integers(0, 90 * 60, n)
    delivered = sent + rng.integers(5, 300, n)
    read = delivered + np.minimum(rng.exponential(20 * 3600, n), 20 * 86400).astype(np.int64)
    click = read + rng.integers(10, 1200, n)
    is_unsub = unsub_campaign[c] == k
    opened = (rng.random(n) < p_open[c]) | is_unsub
    clicked = opened & ~is_unsub & (rng.random(n) < p_click[c])
    opened &= read <= as_of
    clicked &= click <= as_of
    soft = ~dead[c] & ~is_unsub & (rng.random(n) < 0.012)
    spam_folder = ~opened & ~soft & ~dead[c] & (rng.random(n) < 0.02)
    not_sent = ~is_unsub & (rng.random(n) < 0.002)

    # Later assignments win, in the order Unisender's statuses supersede one another.
    result = np.zeros(n, dtype=np.int8)  # index into SEND_RESULTS
    last = delivered.copy()
    result[spam_folder] = 1
    result[opened] = 2
    last[opened] = read[opened]
    result[clicked] = 3
    last[clicked] = click[clicked]
    unsub_at = read + rng.integers(30, 600, n)
    result[is_unsub] = 4
    last[is_unsub] = unsub_at[is_unsub]
    result[soft] = 5
    last[soft] = delivered[soft]
    hard = dead[c]
    result[hard] = _HARD_BOUNCE_FIRST + rng.integers(0, len(HARD_BOUNCES), n)[hard]
    last[hard] = delivered[hard]
    result[not_sent] = _NOT_SENT
    last[not_sent] = starts[k][not_sent]
    clicked &= ~(hard | soft | not_sent)

    # Arrow takes: ~4 M deliveries at 1 M people, no Python string per row.
    email_text = _text(email)
    deliveries = _table({
        "campaign_id": ids[k], "email": email_text.take(c), "send_result": SEND_RESULTS.take(result),
        "last_update": _fmt_dt_arrow(last),
    })

    # Visited links: one to three links per clicker, the first at the status time.
    who = np.flatnonzero(clicked)
    n_links = np.minimum(1 + rng.poisson(0.5, len(who)), 3)
    rep = np.repeat(who, n_links)
    offset = np.arange(len(rep)) - np.repeat(np.cumsum(n_links) - n_links, n_links)  # 0, 1, .. per clicker
    path = (rng.integers(0, len(LINK_PATHS), len(rep)) + offset) % len(LINK_PATHS)
    url = ("https://linzy-shop.ru" + pd.Series(np.asarray(LINK_PATHS, dtype=object)[path]) + "?utm_source=unisender&utm_campaign="
           + pd.Series(ids[k[rep]]).astype(str)).to_numpy(dtype=object)
    when = np.minimum(click[rep] + offset * rng.integers(20, 900, len(rep)), as_of)
    ip = (pd.Series(rng.integers(5, 220, len(rep))).astype(str) + "." + pd.Series(rng.integers(0, 255, len(rep))).astype(str)
          + "." + pd.Series(rng.integers(0, 255, len(rep))).astype(str) + "." + pd.Series(rng.integers(1, 254, len(rep))).astype(str))
    links = pd.DataFrame({
        "campaign_id": ids[k[rep]], "email": email[c[rep]], "url": url, "request_time": _fmt(when),
        "ip": ip.to_numpy(dtype=object), "count": 1 + rng.poisson(0.3, len(rep)),
    }).drop_duplicates(["campaign_id", "email", "url"])

    out = world.dir("unisender")
    _write(campaigns, out / "campaigns.parquet")
    _write(deliveries, out / "campaign_deliveries.parquet")
    _write(links, out / "visited_links.parquet")
    return {"unisender.campaigns": len(campaigns), "unisender.campaign_deliveries": len(deliveries),
            "unisender.visited_links": len(links)}


# --- Sendsay -------------------------------------------------------------------------------------
def _typo(emails: np.ndarray) -> np.ndarray:
    """A mistyped domain (`mial.ru`, `gmial.com`): the address bounces and links to nobody by e-mail."""
    local, domain = pd.Series(emails, dtype="string").str.split("@", n=1, expand=True).T.to_numpy()
    return (pd.Series(local) + "@" + pd.Series(domain).map(lambda d: d[1] + d[0] + d[2:])).to_numpy(dtype=object)


def _sendsay_names(rng: np.random.Generator, given: np.ndarray, surname: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One "Имя" field on an old sign-up form: the given name, the whole name, or nothing; the
    last name only sometimes."""
    n = len(given)
    draw = rng.random(n)
    first = np.where(draw < 0.65, given, np.where(draw < 0.75, given + " " + surname,
                                                  np.where(draw < 0.8, surname + " " + given, "")))
    last = np.where((draw < 0.65) & (rng.random(n) < 0.45), surname, "")
    yo = rng.random(n) < 0.25
    first = np.where(yo, np.char.replace(first.astype(str), "ё", "е").astype(object), first)
    upper = rng.random(n) < 0.03
    first = np.where(upper, np.char.upper(first.astype(str)).astype(object), first)
    return first.astype(object), last.astype(object)


def build_sendsay(world: World) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, int]]:
    rng = world.rng("sendsay")
    p = world.persons
    old_customer = (p.in_crm | p.in_sheet) & p.has_email
    pick = (old_customer & (rng.random(p.n) < 0.42)) | (p.newsletter_only & (rng.random(p.n) < 0.3))
    idx = np.flatnonzero(pick)
    m = len(idx)
    start, stop = int(datetime(2019, 3, 1).timestamp()), int(datetime(2025, 3, 1).timestamp())
    created = np.sort(rng.integers(start, stop, m))  # account-local seconds
    idx = idx[rng.permutation(m)]  # creation order is not person order
    member_id = 100_000 + np.cumsum(rng.integers(1, 40, m))

    clean = p.email[idx].astype(str)
    typo = rng.random(m) < 0.012
    email = _email_variants(rng, clean.astype(object))
    email[typo] = _typo(clean[typo])
    has_phone = rng.random(m) < np.where(typo, 0.9, 0.45)
    new_number = rng.random(m) < 0.03
    phone = _format_phones(np.where(new_number, p.mobile2[idx], p.mobile[idx]), rng.integers(0, 7, m))
    phone = np.where(has_phone, phone, None)
    first, last = _sendsay_names(rng, p.given[idx], p.surname[idx])

    in_email = rng.random(m) < 0.92
    sms = has_phone & (rng.random(m) < 0.5)
    sms_at = created + rng.integers(0, 86400 * 200, m) * (rng.random(m) < 0.3)
    locked = in_email & ~typo & (rng.random(m) < 0.14)

    issue_dt = np.sort(rng.integers(int(datetime(2022, 2, 1).timestamp()), int(datetime(2025, 8, 20).timestamp()), N_ISSUES))
    issue_dt = issue_dt - issue_dt % 86400 + 11 * 3600  # sent at 11:00 local time
    issue_id = 4100 + np.cumsum(rng.integers(1, 9, N_ISSUES))

    # Unsubscribes: most through an issue's link (its statistics show it), the rest on the
    # preference page; either way the member lands on the stop-list with the date.
    via_issue = np.full(m, -1)
    lockdate = np.zeros(m, dtype=np.int64)
    for i in np.flatnonzero(locked):
        later = np.flatnonzero(issue_dt > created[i])
        if len(later) and rng.random() < 0.65:
            via_issue[i] = rng.choice(later)
        else:
            lockdate[i] = rng.integers(created[i] + 86400, int(datetime(2025, 9, 1).timestamp()))
    p_open, p_click = _engagement(rng, m)
    dead = typo | (rng.random(m) < 0.01)

    rows = []
    for j in range(N_ISSUES):
        on_list = in_email & (created < issue_dt[j]) & (~locked | (via_issue >= j) | ((via_issue < 0) & (lockdate > issue_dt[j])))
        got = np.flatnonzero(on_list & ((rng.random(m) < 0.85) | (via_issue == j)))
        rows.append(pd.DataFrame({"j": j, "i": got}))
    pairs = pd.concat(rows, ignore_index=True)
    j, i = pairs["j"].to_numpy(), pairs["i"].to_numpy()
    n = len(pairs)
    deliv_dt = issue_dt[j] + rng.integers(0, 3600, n)
    unsub_here = via_issue[i] == j
    status = np.where(unsub_here, 0, np.where(dead[i], 2, np.where(rng.random(n) < 0.015, 1, 0)))
    read = (status == 0) & ((rng.random(n) < p_open[i]) | unsub_here)
    first_read = deliv_dt + np.minimum(rng.exponential(18 * 3600, n), 15 * 86400).astype(np.int64)
    click = read & ~unsub_here & (rng.random(n) < p_click[i])
    first_click = first_read + rng.integers(10, 1800, n)
    unsub_dt = first_read + rng.integers(30, 900, n)
    lockdate[i[unsub_here]] = unsub_dt[unsub_here]

    def opt(mask, seconds):
        return np.where(mask, _fmt(seconds), None)

    def opt_arrow(mask, seconds):
        return pc.if_else(mask, _fmt_dt_arrow(seconds), pa.scalar(None, pa.string()))

    stats = _table({
        "issue_id": issue_id[j], "member_id": member_id[i], "email": _text(email).take(i),
        "deliv_status": status, "deliv_dt": _fmt_dt_arrow(deliv_dt),
        "first_read_dt": opt_arrow(read, first_read), "reads": np.where(read, 1 + rng.poisson(0.6, n), 0),
        "first_click_dt": opt_arrow(click, first_click), "clicks": np.where(click, 1 + rng.poisson(0.4, n), 0),
        "unsub_dt": opt_arrow(unsub_here, unsub_dt),
    })
    issues = pd.DataFrame({
        "id": issue_id, "name": [f"Рассылка {pd.Timestamp(x, unit='s'):%d.%m.%Y}" for x in issue_dt],
        "subject": np.asarray(SUBJECTS, dtype=object)[rng.integers(0, len(SUBJECTS), N_ISSUES)],
        "dt": _fmt(issue_dt), "format": "e", "group": SENDSAY_EMAIL_GROUP,
    })
    members = pd.DataFrame({
        "member_id": member_id, "email": email, "created": _fmt(created),
        "first_name": first, "last_name": last, "phone": phone,
        "in_email_group": in_email & ~locked, "in_sms_group": sms & ~locked,
        "sms_consent_dt": opt(sms, sms_at), "locked": locked, "lockdate": opt(locked, lockdate),
    })
    out = world.dir("sendsay")
    groups = [{"id": SENDSAY_EMAIL_GROUP, "name": "Новости магазина", "type": "list", "addr_type": "email"},
              {"id": SENDSAY_SMS_GROUP, "name": "SMS-рассылка", "type": "list", "addr_type": "msisdn"}]
    (out / "groups.json").write_text(json.dumps(groups, ensure_ascii=False), encoding="utf-8")
    _write(members, out / "members.parquet")
    _write(issues, out / "issues.parquet")
    _write(stats, out / "issue_member_stats.parquet")

    truth = pd.DataFrame({"source_system": "sendsay", "source_record_id": member_id.astype(str), "person_id": p.person_id[idx]})
    # Every unsubscribe made with the person's own address stands: their e-mail consent is gone,
    # whatever Unisender or the CRM says today.
    revoked = pd.DataFrame({"email": pd.Series(clean[locked]).str.strip().str.lower(), "revoked_in": "sendsay"})
    return truth, revoked, {"sendsay.members": m, "sendsay.issues": N_ISSUES, "sendsay.issue_member_stats": len(stats)}


def build(world: World) -> SourceData:
    rows = build_unisender(world)
    truth, revoked, ss_rows = build_sendsay(world)
    return SourceData(truth=truth, rows={**rows, **ss_rows}, revoked_emails=revoked)


__all__ = ["build", "SENDSAY_EMAIL_GROUP", "SENDSAY_SMS_GROUP"]
