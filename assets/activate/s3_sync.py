"""Write an audience as CSV files to S3-compatible storage: the full current list, the change
since the last file (adds and removes), and a manifest. Nothing is uploaded when nothing changed."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime, timezone

import pandas as pd

from assets.activate import state
from assets.activate.audience import Destination


def _csv(frame: pd.DataFrame) -> bytes:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8")


def sync(con, s3_client, bucket: str, dest: Destination, run_id: str, log) -> dict[str, object]:
    prefix = dest.options.get("prefix", f"audiences/{dest.segment}").strip("/")
    target = f"s3://{bucket}/{prefix}"
    minimum = int(dest.options.get("min_contacts", 0))
    size = con.execute(f"select count(*) from {dest.audience_table}").fetchone()[0]
    if size < minimum:
        # Ad cabinets refuse (or cannot use) audiences under their minimum; keep the last good
        # file rather than replace it with one nobody can target.
        log.warning(f"{target}: audience has {size} contacts, fewer than the {minimum} the destination needs; nothing uploaded")
        return {"uploaded": False, "rows": size, "below_minimum": minimum}
    change = state.diff(con, "s3_file", dest.segment, target, dest.audience_table)
    if change.empty:
        log.info(f"{target}: no change since the last file, nothing uploaded")
        return {"uploaded": False, "added": 0, "removed": 0}
    full = con.execute(f"select customer_id, identifier as {dest.identifier} from {dest.audience_table} order by 1").df()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    body = _csv(full)
    files = {
        f"{prefix}/audience.csv": body,
        f"{prefix}/changes/{stamp}_adds.csv": _csv(change.adds[["customer_id", "identifier"]].rename(columns={"identifier": dest.identifier})),
        f"{prefix}/changes/{stamp}_removes.csv": _csv(pd.DataFrame({dest.identifier: change.removes})),
    }
    for key, data in files.items():
        s3_client.put_object(Bucket=bucket, Key=key, Body=data, ContentType="text/csv; charset=utf-8")
    manifest = {"segment": dest.segment, "channel": dest.channel, "rows": len(full), "sha256": hashlib.sha256(body).hexdigest(),
                "added": len(change.adds), "removed": len(change.removes), "generated_at": stamp, "run_id": run_id}
    s3_client.put_object(Bucket=bucket, Key=f"{prefix}/manifest.json", Body=json.dumps(manifest).encode(), ContentType="application/json")
    state.record_sent(con, "s3_file", dest.segment, target, change.adds, "sent", run_id, dest.channel)
    state.record_removed(con, "s3_file", dest.segment, target, change.removes, run_id)
    state.record_batch(con, run_id, "s3_file", dest.segment, target, 1, "file", len(full), len(change.adds), 0, f"removed {len(change.removes)}")
    log.info(f"{target}: wrote {len(full)} rows (+{len(change.adds)} / -{len(change.removes)})")
    return {"uploaded": True, "rows": len(full), "added": len(change.adds), "removed": len(change.removes), "key": f"{prefix}/audience.csv"}
