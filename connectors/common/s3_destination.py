"""Audience files in S3-compatible storage (Yandex Object Storage, MinIO) as a destination: for
someone to upload by hand to a cabinet we have no API for, or to hand to a call centre.

Under the audience's prefix (its ListRef id):
  audience.csv                       the full current audience (identifier, address_type, given_name)
  changes/<stamp>_adds.csv|_removes.csv   what each change added or took away
  manifest.json                      rows, sha256 of audience.csv, the last change, when
`holding` reads audience.csv back, so a deleted or emptied prefix is written again on the next run.
Each add/remove rewrites the whole file: a reader never finds a half-changed audience.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime, timezone
from typing import Sequence

from connectors.common.destination import AddressType, Contact, DestinationError, Holding, ListRef, Outcome

COLUMNS = ("identifier", "address_type", "given_name")


class S3FileDestination:
    system = "s3_file"
    max_batch = 10_000_000  # one file per change; the engine's batches are one call
    min_audience = 0

    def __init__(self, s3, bucket: str, root: str = "audiences"):
        self.s3, self.bucket, self.root = s3, bucket, root.strip("/")
        self._kinds: dict[str, AddressType] = {}

    def _get(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        except Exception as exc:  # botocore's connection and client errors
            raise DestinationError(f"S3 {self.bucket}/{key}: {exc}") from None

    def _put(self, key: str, body: bytes, content_type: str) -> None:
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)
        except Exception as exc:
            raise DestinationError(f"S3 {self.bucket}/{key}: {exc}") from None

    def ensure_list(self, name: str, address_type: AddressType, known: ListRef | None) -> ListRef:
        ref = known or ListRef(f"{self.root}/{hashlib.sha256(name.encode()).hexdigest()[:12]}", name)
        self._kinds[ref.id] = address_type
        return ListRef(ref.id.strip("/"), name)

    def _rows(self, ref: ListRef) -> dict[str, dict[str, str]]:
        body = self._get(f"{ref.id}/audience.csv")
        if body is None:
            return {}
        return {row["identifier"]: row for row in csv.DictReader(io.StringIO(body.decode("utf-8")))}

    def holding(self, ref: ListRef) -> set[str] | None:
        return set(self._rows(ref))

    def describe(self, ref: ListRef) -> Holding:
        manifest = self._get(f"{ref.id}/manifest.json")
        size = len(self._rows(ref))
        return Holding(exists=manifest is not None, size=size, status="written" if manifest else "absent",
                       url=f"s3://{self.bucket}/{ref.id}/audience.csv")

    def _write(self, ref: ListRef, rows: dict[str, dict[str, str]], change: str, changed: list[dict[str, str]]) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        full = _csv(sorted(rows.values(), key=lambda r: r["identifier"]))
        self._put(f"{ref.id}/changes/{stamp}_{change}.csv", _csv(changed), "text/csv; charset=utf-8")
        self._put(f"{ref.id}/audience.csv", full, "text/csv; charset=utf-8")
        manifest = {"list": ref.name, "rows": len(rows), "sha256": hashlib.sha256(full).hexdigest(),
                    "last_change": {"kind": change, "rows": len(changed), "file": f"changes/{stamp}_{change}.csv"},
                    "written_at": stamp, "columns": list(COLUMNS)}
        self._put(f"{ref.id}/manifest.json", json.dumps(manifest, ensure_ascii=False).encode(), "application/json")

    def _row(self, ref: ListRef, c: Contact) -> dict[str, str]:
        return {"identifier": c.identifier, "address_type": c.address_type, "given_name": c.fields.get("given_name", "")}

    def add(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        rows = self._rows(ref)
        new = [self._row(ref, c) for c in contacts]
        for row in new:
            if not row["given_name"] and row["identifier"] in rows:  # a blank keeps what the file holds
                row["given_name"] = rows[row["identifier"]]["given_name"]
            rows[row["identifier"]] = row
        self._write(ref, rows, "adds", new)
        return Outcome(accepted=[c.identifier for c in contacts], detail=f"s3://{self.bucket}/{ref.id}/audience.csv")

    def remove(self, ref: ListRef, identifiers: Sequence[str]) -> Outcome:
        rows = self._rows(ref)
        gone = [rows.pop(i) for i in identifiers if i in rows]
        self._write(ref, rows, "removes", gone)
        return Outcome(accepted=list(identifiers), detail=f"s3://{self.bucket}/{ref.id}/audience.csv")

    def replace(self, ref: ListRef, contacts: Sequence[Contact]) -> Outcome:
        rows = {c.identifier: self._row(ref, c) for c in contacts}
        self._write(ref, rows, "replace", list(rows.values()))
        return Outcome(accepted=list(rows), detail=f"s3://{self.bucket}/{ref.id}/audience.csv")

    def clear(self, ref: ListRef) -> Outcome:
        return self.replace(ref, [])


def _csv(rows: list[dict[str, str]]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")
