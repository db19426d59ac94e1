"""Spreadsheet inbox as a dlt source: csv/xlsx files in a folder, mapped by a YAML file.

Each file is read once: its SHA-256 is kept in dlt state and an unchanged file is skipped on the
next run; a changed file is read again and its rows merged on the record id. Good rows land with
our field names plus the whole original row as `payload`; rows that cannot be read (bad bytes,
wrong field count, no record id, a record id repeated in one file) go to `quarantine` with the
file, line and reason. Values are kept as text: staging casts and flags them.

Standalone:  python -m connectors.spreadsheets --inbox data/demo/inbox
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from pathlib import Path
from typing import Any, Iterator

import dlt
import yaml

from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.spreadsheets.readers import read_csv, read_xlsx

DEFAULT_MAPPING = Path(__file__).with_name("default_mapping.yml")
SUFFIXES = {".csv", ".txt", ".xlsx", ".xlsm"}


def load_mapping(path: str | Path | None) -> list[dict[str, Any]]:
    spec = yaml.safe_load(Path(path or DEFAULT_MAPPING).read_text(encoding="utf-8"))
    return spec["files"]


def _entry_for(name: str, mapping: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in mapping if fnmatch.fnmatch(name.lower(), e["pattern"].lower())), None)


def _resolve_columns(header: list[str], wanted: dict[str, Any]) -> tuple[dict[str, int], list[str]]:
    """Our field -> column index; a field may list several header spellings (first present wins)."""
    lowered = {h.strip().lower(): i for i, h in enumerate(header)}
    found: dict[str, int] = {}
    for field, names in wanted.items():
        for name in [names] if isinstance(names, str) else names:
            if name.strip().lower() in lowered:
                found[field] = lowered[name.strip().lower()]
                break
    missing = [] if "record_id" in found else ["record_id"]
    if not {"full_name", "phone", "email"} & set(found):
        missing.append("one of full_name/phone/email")
    return found, missing


def _file_rows(path: Path, file_hash: str, entry: dict[str, Any]) -> Iterator[Any]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        sheets = list(read_xlsx(path))
    else:
        header, rows = read_csv(path)
        sheets = [("", header, rows)]
    for sheet, header, rows in sheets:
        columns, missing = _resolve_columns(header, entry["columns"])
        where = f"{path.name}" + (f" sheet '{sheet}'" if sheet else "")
        if missing:
            yield quarantined("spreadsheets", where, f"header lacks {', '.join(missing)} (mapping '{entry['pattern']}')",
                              {"header": header})
            continue
        seen: dict[str, str] = {}
        batch = []
        for row in rows:
            if row.error:
                yield quarantined("spreadsheets", row.position, row.error, row.raw)
                continue
            record = {f: row.cells[i] for f, i in columns.items()}
            rid = record["record_id"]
            if not rid:
                yield quarantined("spreadsheets", row.position, "record id is empty", row.raw)
                continue
            if rid in seen:
                yield quarantined("spreadsheets", row.position, f"record id repeats {seen[rid]}", row.raw)
                continue
            seen[rid] = row.position
            batch.append({
                **record,
                "source_file": path.name,
                "source_sheet": sheet or None,
                "source_position": row.position,
                "file_sha256": file_hash,
                "payload": json.dumps(dict(zip(header, row.cells)), ensure_ascii=False),
            })
            if len(batch) >= 10_000:
                yield batch
                batch = []
        if batch:
            yield batch


@dlt.source(name="spreadsheets", max_table_nesting=0)
def spreadsheets_source(inbox: str = dlt.config.value, mapping_path: str | None = None):
    mapping = load_mapping(mapping_path)
    folder = Path(inbox)

    @dlt.resource(name="members", primary_key="record_id", write_disposition="merge",
                  columns={f: {"data_type": "text"} for f in ("record_id", "full_name", "phone", "email", "birthday",
                                                               "email_consent", "email_consent_at", "store", "registered_at", "source_sheet")})
    def members() -> Iterator[Any]:
        state = dlt.current.resource_state().setdefault("file_hashes", {})
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES and not p.name.startswith((".", "~$"))):
            file_hash = hashlib.sha256(path.read_bytes()).hexdigest()
            if state.get(path.name) == file_hash:
                continue  # loaded before, unchanged
            entry = _entry_for(path.name, mapping)
            if entry is None:
                yield quarantined("spreadsheets", path.name, "no mapping entry matches this file name", {"file": path.name})
            else:
                yield from _file_rows(path, file_hash, entry)
            state[path.name] = file_hash

    return members, quarantine_resource()
