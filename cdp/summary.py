"""What a run produced, in words a person reads: rows per source, quarantine, rejected values,
identity, consent per address, RFM, segments and syncs. Read-only over the warehouse; used by the
demo and by `python -m orchestration.run`.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import requests


def summary(warehouse: Path, env: dict[str, str] | None = None, data_dir: Path | None = None) -> dict:
    con = duckdb.connect(str(warehouse), read_only=True)
    q = lambda sql: con.execute(sql).fetchall()  # noqa: E731
    env = env or {}
    out: dict = {"rows_per_source": {}, "quarantined": {}, "rejected_values": {}, "identity": {}, "consent": {},
                 "segments": {}, "activation": {}}
    for schema, table in q("select table_schema, table_name from information_schema.tables where table_schema like 'raw\\_%' escape '\\' and table_schema not like '%\\_staging' escape '\\' and table_name not like '\\_dlt%' escape '\\' order by 1, 2"):
        n = q(f'select count(*) from "{schema}"."{table}"')[0][0]
        (out["quarantined"] if table == "quarantine" else out["rows_per_source"])[f"{schema[4:]}.{table}"] = n
    out["rejected_values"] = {f"{s}.{f}: {r}": n for s, f, r, n in q(
        "select source_system, field, reason, count(*) from marts.rejected_values group by all order by 4 desc, 1, 2, 3")}
    records, customers = q("select count(*), count(distinct customer_id) from marts.customer_identity_map")[0]
    multi = q("select count(*) from marts.customer_360 where source_record_count > 1")[0][0]
    out["identity"] = {
        "source_records": records,
        "customers": customers,
        "merged_records": records - customers,
        "customers_in_several_records": multi,
        "records_per_system": dict(q("select source_system, count(*) from marts.customer_identity_map group by 1 order by 2 desc")),
        # Which identifiers did the linking: records that share a usable identifier of this type
        # with at least one other record.
        "linked_by": dict(q("""
            select identifier_type, count(distinct record_key) from (
                select identifier_type, record_key,
                       count(*) over (partition by identifier_type, identifier_value) as holders
                from intermediate.int_identifiers_linkable
            ) where holders > 1 group by 1 order by 2 desc""")),
        "identifiers_not_used_for_linking": [f"one {t} held by {n} records ({r})" for t, _, n, r in q(
            "select identifier_type, identifier_value, record_count, reason from intermediate.int_identifiers_overshared order by record_count desc limit 5")],
        "id_events": dict(q("select event_kind, count(*) from marts.customer_id_history group by 1 order by 1")),
        "known_only_from_orders": q("select count(*) from intermediate.int_source_records_unioned where is_order_only")[0][0],
    }
    out["consent"] = {ch: {"with_consent": y, "revoked_or_not_granted": n, "unknown": customers - y - n,
                           "addresses_with_consent": a, "addresses_revoked_or_not_granted": r} for ch, y, n, a, r in q("""
        select c.channel, count(*) filter (where c.has_consent), count(*) filter (where not c.has_consent),
               any_value(a.yes), any_value(a.no)
        from marts.consent_customers c
        join (select channel, count(*) filter (where has_consent) as yes, count(*) filter (where not has_consent) as no
              from marts.consent_current group by 1) a using (channel)
        group by 1 order by 1""")}
    audiences = {name: n for name, n in (
        (t, q(f"select count(*) from activation.{t}")[0][0])
        for (t,) in q("select table_name from information_schema.tables where table_schema = 'activation' and table_name like 'audience\\_\\_%' escape '\\'")
    )}
    out["rfm_segments"] = dict(q("select rfm_segment, count(*) from marts.rfm group by 1 order by 2 desc"))
    for (seg,) in q("select table_name from information_schema.tables where table_schema = 'segments' order by 1"):
        out["segments"][seg] = {"members": q(f"select count(*) from segments.{seg}")[0][0],
                                "consented": {t.split("__")[1]: n for t, n in audiences.items() if t.endswith(f"__{seg}")}}
    if q("select count(*) from information_schema.tables where table_schema = 'activation' and table_name = 'sync_report'")[0][0]:
        out["activation"] = activation_summary(con)
    out["value"] = value_summary(con)
    if env.get("UNISENDER_BASE_URL"):
        lists = requests.get(f"{env['UNISENDER_BASE_URL']}/_emulator/lists", timeout=10).json()
        out["unisender_emulator_lists"] = {item["title"]: item["active_members"] for item in lists}
    con.close()
    truth = Path(data_dir or ".") / "ground_truth" / "identity.csv"
    if data_dir and truth.exists():
        from cdp.identity_quality import measure

        out["quality"] = measure(warehouse, truth).__dict__
    return out


def activation_summary(con: duckdb.DuckDBPyConnection) -> dict:
    """Per destination: what the latest run of each audience added, removed and had rejected (with
    the destinations' reasons), from activation.sync_report."""
    rows = con.execute("""
        with latest as (
            select * from activation.sync_report
            qualify row_number() over (partition by destination, segment order by reported_at desc) = 1
        )
        select destination, segment, list_name, status, dry_run, audience, added, removed, rejected, rejected_reasons,
               held_after, matched, message
        from latest order by destination, segment""").fetchall()
    out: dict = {}
    for dest, seg, name, status, dry, audience, added, removed, rejected, reasons, held, matched, message in rows:
        per = out.setdefault(dest, {"added": 0, "removed": 0, "rejected": 0, "rejected_reasons": {}, "lists": []})
        per["added"] += added
        per["removed"] += removed
        per["rejected"] += rejected
        for reason, n in json.loads(reasons or "{}").items():
            per["rejected_reasons"][reason] = per["rejected_reasons"].get(reason, 0) + n
        per["lists"].append({"segment": seg, "list": name, "status": status, "dry_run": dry, "audience": audience,
                             "added": added, "removed": removed, "rejected": rejected, "now_holds": held,
                             "matched": matched, "message": message})
    return out


def print_summary(s: dict, warehouse: Path) -> None:
    line = "─" * 72
    print(f"\n{line}\nCDP-lite: what happened\n{line}")
    print("Rows loaded per source table:")
    for k, v in s["rows_per_source"].items():
        print(f"  {k:<32}{v:>10,}")
    total_q = sum(s["quarantined"].values())
    print(f"Quarantined (unreadable) input rows: {total_q}" + "".join(f"\n  {k:<32}{v:>10,}" for k, v in s["quarantined"].items() if v))
    print(f"Rejected values (the record loaded without them; marts.rejected_values): {sum(s['rejected_values'].values())}"
          + "".join(f"\n  {k}: {v:,}" for k, v in list(s["rejected_values"].items())[:10]))
    i = s["identity"]
    print(f"Identity resolution: {i['source_records']:,} source records → {i['customers']:,} customers")
    print("  records per system: " + ", ".join(f"{k} {v:,}" for k, v in i["records_per_system"].items()))
    print(f"  {i['merged_records']:,} records were the same person as another record: {i['customers_in_several_records']:,} "
          f"customers are seen in more than one record")
    print("  records linked through a shared " + ", ".join(f"{k} {v:,}" for k, v in i["linked_by"].items()))
    for item in i["identifiers_not_used_for_linking"]:
        print(f"  not used for linking: {item}")
    print("  customer id events so far: " + ", ".join(f"{k} {v:,}" for k, v in i["id_events"].items()))
    if i["known_only_from_orders"]:
        print(f"  {i['known_only_from_orders']:,} customers are known only as the buyer id of orders (no person file named them)")
    if s.get("quality"):
        qd = s["quality"]
        print(f"  against the generator's ground truth: precision {qd['precision']:.4f}, recall {qd['recall']:.4f}, F1 {qd['f1']:.4f}")
    print("Consent per channel (customers, and addresses; unknown = no source says anything = no consent):")
    for ch, c in s["consent"].items():
        print(f"  {ch:<10} customers with consent {c['with_consent']:>8,}   revoked/not granted {c['revoked_or_not_granted']:>8,}   "
              f"unknown {c['unknown']:>8,}   | addresses with consent {c['addresses_with_consent']:>8,}, without {c['addresses_revoked_or_not_granted']:>8,}")
    print("RFM segments: " + ", ".join(f"{k} {v:,}" for k, v in s["rfm_segments"].items()))
    print("Segments (members → with consent and an identifier, per destination):")
    for k, v in s["segments"].items():
        consented = ", ".join(f"{d} {n:,}" for d, n in v["consented"].items())
        print(f"  {k:<34}{v['members']:>8,}   {consented}")
    print("Activation (latest sync per audience; activation.sync_report):")
    for dest, per in s.get("activation", {}).items():
        print(f"  {dest}: +{per['added']:,} added, -{per['removed']:,} removed, {per['rejected']:,} rejected"
              + "".join(f"\n    rejected: {n:,} × {reason}" for reason, n in per["rejected_reasons"].items()))
        for item in per["lists"]:
            holds = "" if item["now_holds"] is None else f", now holds {item['now_holds']:,}"
            matched = "" if item["matched"] is None else f", matched {item['matched']:,}"
            print(f"    «{item['list']}» ({item['segment']}): {item['status']}{' (dry run)' if item['dry_run'] else ''}, "
                  f"audience {item['audience']:,}, +{item['added']:,} -{item['removed']:,}, {item['rejected']:,} rejected"
                  f"{holds}{matched}" + (f"\n      {item['message']}" if item["message"] else ""))
    if "unisender_emulator_lists" in s:
        print("Unisender emulator lists (active members): " + json.dumps(s["unisender_emulator_lists"], ensure_ascii=False))
    print_value_summary(s.get("value") or {})
    print(f"{line}\nWarehouse: {warehouse}\n  python -c \"import duckdb; print(duckdb.connect('{warehouse}', read_only=True).sql('select * from marts.customer_360 limit 5'))\"")
    print(line)


def _has_table(con, schema: str, table: str) -> bool:
    return bool(con.execute("select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                            [schema, table]).fetchone()[0])


def value_summary(con) -> dict:
    """Predicted customer value: the latest fit, the tiers, the holdout check per frequency bucket
    (predicted against actual purchases), and the latest lift verdict per segment."""
    out: dict = {}
    if not _has_table(con, "marts", "value_model_runs"):
        return out
    run = con.execute("select * from marts.value_model_runs order by run_started_at desc limit 1").df()
    if run.empty:
        return out
    r = run.iloc[0]
    number = lambda v: None if v is None or v != v else round(float(v), 3)  # noqa: E731 (NaN -> None)
    out["model"] = {"as_of": str(r.as_of_date)[:10], "horizon_months": int(r.horizon_months), "status": r.status,
                    "bgnbd": {k: number(r[f"bgnbd_{k}"]) for k in ("r", "alpha", "a", "b")},
                    "gamma_gamma": {k: number(r[f"gamma_gamma_{k}"]) for k in ("p", "q", "v")},
                    "calibration_end": str(r.calibration_end_date)[:10],
                    "holdout_predicted": number(r.holdout_predicted_purchases),
                    "holdout_actual": number(r.holdout_actual_purchases)}
    out["tiers"] = {tier: {"customers": n, "predicted_revenue": float(rev or 0), "mean_probability_alive": number(alive)}
                    for tier, n, rev, alive in con.execute(
        "select coalesce(value_tier, 'not scored'), count(*), sum(predicted_revenue), avg(probability_alive) "
        "from marts.customer_value group by 1 order by 3 desc nulls last").fetchall()}
    out["holdout_check"] = [{"repeat_purchases": b, "customers": n, "predicted": number(p), "actual": number(a)}
                            for b, n, p, a in con.execute(
        "select frequency_bucket, customers, predicted_purchases, actual_purchases from marts.value_holdout_check "
        "where run_id = (select max_by(run_id, run_started_at) from marts.value_holdout_check) order by bucket_order").fetchall()]
    if _has_table(con, "marts", "campaign_lift"):
        out["lift"] = {f"{seg} ({run_id})": verdict for seg, run_id, verdict in con.execute(
            "select segment, run_id, verdict from marts.campaign_lift order by assigned_at desc, segment limit 10").fetchall()}
    return out


def print_value_summary(v: dict) -> None:
    if not v.get("model"):
        return
    m = v["model"]
    print(f"Predicted value (BG/NBD + Gamma-Gamma as of {m['as_of']}, next {m['horizon_months']} months; {m['status']}):")
    if any(x is not None for x in m["bgnbd"].values()):
        print("  BG/NBD " + ", ".join(f"{k} {x}" for k, x in m["bgnbd"].items())
              + "; Gamma-Gamma " + ", ".join(f"{k} {x}" for k, x in m["gamma_gamma"].items()))
    for tier, t in v["tiers"].items():
        print(f"  {tier:<12}{t['customers']:>8,} customers, predicted revenue {t['predicted_revenue']:>16,.0f}, "
              f"mean P(active) {t['mean_probability_alive']}")
    if v["holdout_check"]:
        print(f"  holdout check (fitted on the history to {m['calibration_end']}, purchases since; predicted / actual):")
        print("    " + "   ".join(f"{h['repeat_purchases']} repeat: {h['predicted'] or 0:,.0f}/{h['actual'] or 0:,.0f}"
                                  for h in v["holdout_check"]))
    for send, verdict in (v.get("lift") or {}).items():
        print(f"  lift {send}: {verdict}")
