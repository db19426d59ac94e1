"""The YAML mapping: which inbox files are which kind of data, and what their columns mean.

Shops rename columns, add title blocks and save the same export as csv one month and xlsx the
next, so nothing about a file is assumed: a mapping entry names the file-name globs it claims, the
table it feeds, the header spellings of each field, the date formats and the flag and status
vocabularies. The format is documented in connectors/spreadsheets/README.md.

Each entry is a source system of its own downstream (its `name` is the `source_system`, its
optional `rank` the survivorship rank), and its `kind` says what exported the files: an
unsubscribe exported by an e-mail platform is a standing revocation, one from a CRM is not.

A broken mapping fails the run before any file is read (`MappingError`); a file that does not fit
its entry is the file's problem and goes to quarantine with the columns it does have.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_MAPPING = Path(__file__).with_name("default_mapping.yml")

MEMBER_FIELDS = {
    "full_name", "surname", "given_name", "patronymic", "phone", "phone2", "email", "birthday", "card",
    "email_consent", "email_status", "email_consent_at", "sms_consent", "sms_status", "sms_consent_at", "store",
    "registered_at",
}
ORDER_FIELDS = {
    "order_number", "ordered_at", "amount", "status", "customer_ref", "customer_name", "customer_phone",
    "customer_email", "customer_card", "store",
}
TABLE_FIELDS = {"members": MEMBER_FIELDS, "orders": ORDER_FIELDS}
DATE_FIELDS = {"birthday", "email_consent_at", "sms_consent_at", "registered_at", "ordered_at"}
# Consent per channel: a flag-like consent column (да/нет, ✓, TRUE/FALSE) or a mailing platform's
# subscription-status column (active/unsubscribed/...); both are read with the consent vocabulary.
CONSENT_FIELDS = {"email_consent", "email_status", "sms_consent", "sms_status"}
# What a member row can say about who it is. An entry mapping none of them (ids only) still loads,
# with a warning: orders may name those ids, but nothing can link the records to other systems.
PERSON_FIELDS = {"full_name", "surname", "given_name", "patronymic", "phone", "phone2", "email"}
ORDER_REQUIRED = {"ordered_at", "amount"}

DEFAULT_DATE_FORMATS = ["%d.%m.%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%y"]
# What a consent or status cell means: granted, revoked, or `none` (a known word that is no consent
# event: an unconfirmed or invited address has not said yes; a bounce says the address does not
# work, not that the person said no). An empty cell is no event; any other word quarantines the
# row (never a silent grant). A spam complaint is the strongest "no", so it revokes.
DEFAULT_CONSENT_VALUES = {
    "granted": ["да", "д", "yes", "y", "1", "true", "истина", "+", "✓", "✔", "☑", "v", "x", "х", "согласен",
                "согласна", "согласие", "active", "subscribed", "opted in", "opt-in", "confirmed", "активен",
                "активна", "активный", "подписан", "подписана", "подписался", "подписалась", "подтвержден",
                "подтверждена"],
    "revoked": ["нет", "н", "no", "n", "0", "false", "ложь", "-", "☐", "не согласен", "не согласна", "отказ",
                "отказался", "отказалась", "unsubscribed", "unsubscribe", "opted out", "opt-out", "blocked",
                "blacklisted", "spam", "complained", "отписан", "отписана", "отписался", "отписалась",
                "заблокирован", "заблокирована", "в стоп-листе", "жалоба на спам"],
    "none": ["unconfirmed", "pending", "invited", "new", "bounced", "bounce", "hard bounce", "soft bounce",
             "cleaned", "invalid", "не подтвержден", "не подтверждена", "ожидает подтверждения", "приглашен",
             "приглашена", "новый", "недоступен", "ошибка доставки"],
}
# What exported an entry's files. Only an e-mail (or SMS) platform's unsubscribe is a standing
# revocation (only the person can undo it there); a CRM's or 1C's "no" is a dated revocation.
ENTRY_KINDS = ("crm", "erp", "email_platform", "other")
STANDING_REVOCATION_KINDS = {"email_platform"}
DEFAULT_STATUSES = {
    "complete": ["complete", "completed", "выполнен", "оплачен", "проведен", "пробит", "архивный", "продажа", "закрыт"],
    "cancelled": ["cancelled", "canceled", "отменен", "аннулирован", "отказ"],
    "returned": ["returned", "return", "возврат", "возвращен"],
}
# Where an entry's record ids are unique, so rows of different files never replace each other:
# `file` (an event sign-up's №, a list's row number: every file starts again at 1), `year` (orders
# whose numbers restart every year, as 1C numbers its documents: the order's year joins the id) or
# `entry` (ids stable across exports: a CRM's customer id, a platform's contact, a card number; a
# later export of the same id is the same record, the newest export wins). Default per kind:
# `other` files are anybody's lists (file); the systems' own ids are stable (entry); and an entry
# whose ids orders name (`customer_ref_mapping`) holds business ids, stable by definition (entry).
RECORD_ID_SCOPES = ("file", "year", "entry")
DEFAULT_RECORD_ID_SCOPE = {"crm": "entry", "erp": "entry", "email_platform": "entry", "other": "file"}
ENTRY_KEYS = {
    "name", "kind", "rank", "patterns", "table", "record_id", "record_id_per_sheet", "record_id_scope", "id_prefix",
    "columns",
    "optional", "sheets", "date_formats", "consent_values", "flag_values", "statuses", "default_status", "footer",
    "customer_ref_mapping", "header_search_rows",
}
# Bumped when the rows written for a file change meaning: every file is then read once again.
# 3: record ids carry their scope (file or year) where ids are not unique across an entry's files.
ROW_FORMAT = 3


class MappingError(ValueError):
    """The mapping file itself is wrong: nothing is loaded until it is fixed."""


def fold(text: Any) -> str:
    """How header cells are compared: case, `ё`, NBSP, doubled spaces and a trailing `:`/`*` ignored."""
    text = str(text).replace("\u00a0", " ").replace("ё", "е").replace("Ё", "Е").strip().rstrip(":*").strip()
    return re.sub(r"\s+", " ", text).lower()


@dataclass(frozen=True)
class Entry:
    name: str  # also the rows' source_system downstream
    kind: str  # one of ENTRY_KINDS
    rank: int | None  # survivorship rank of this source system; None: the inbox's
    patterns: tuple[str, ...]
    table: str
    columns: dict[str, tuple[str, ...]]  # field -> accepted header spellings; "record_id" included
    optional: frozenset[str]
    id_prefix: str
    record_id_per_sheet: bool
    record_id_scope: str  # one of RECORD_ID_SCOPES
    sheets: tuple[str, ...]
    date_formats: tuple[str, ...]
    consent: dict[str, str]  # folded value -> granted/revoked/none
    statuses: dict[str, str]  # folded value -> complete/cancelled/returned
    default_status: str | None
    footer: tuple[str, ...]
    customer_ref_mapping: str | None
    header_search_rows: int
    digest: str = field(compare=False)  # changes when the entry changes, so its files are read again

    def claims(self, file_name: str) -> bool:
        return any(fnmatch.fnmatch(file_name.lower(), p.lower()) for p in self.patterns)

    def wants_sheet(self, sheet: str) -> bool:
        name = sheet.lower().replace("ё", "е").strip()
        return not self.sheets or any(fnmatch.fnmatch(name, p.lower().replace("ё", "е").strip()) for p in self.sheets)

    @property
    def standing_revocations(self) -> bool:
        return self.kind in STANDING_REVOCATION_KINDS

    @property
    def has_person_fields(self) -> bool:
        return self.table != "members" or bool(PERSON_FIELDS & self.columns.keys())

    @property
    def required(self) -> list[str]:
        return [f for f in self.columns if f not in self.optional]

    def header_score(self, cells: list[str]) -> int:
        """How many mapped fields a row names: the header is the row that names the most."""
        folded = {fold(c) for c in cells if c}
        return sum(1 for names in self.columns.values() if any(fold(n) in folded for n in names))

    def locate(self, header: list[str]) -> tuple[dict[str, int], list[str]]:
        """Field -> column index (first spelling present wins), and the required fields not found."""
        index: dict[str, int] = {}
        for i, cell in enumerate(header):
            index.setdefault(fold(cell), i)
        found = {}
        for f, names in self.columns.items():
            hit = next((index[fold(n)] for n in names if fold(n) in index), None)
            if hit is not None:
                found[f] = hit
        return found, [f for f in self.required if f not in found]


@dataclass(frozen=True)
class Mapping:
    entries: tuple[Entry, ...]

    def entry_for(self, file_name: str) -> Entry | None:
        return next((e for e in self.entries if e.claims(file_name)), None)

    def by_name(self, name: str) -> Entry:
        return next(e for e in self.entries if e.name == name)


def _spellings(value: Any, where: str) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise MappingError(f"{where}: give a header name or a list of alternative header names")
    return tuple(names)


def _vocabulary(base: dict[str, list[str]], extra: Any, allowed: set[str], where: str) -> dict[str, str]:
    # YAML reads an unquoted `true:` key as a boolean; accept it as the word.
    extra = {str(k).lower(): v for k, v in extra.items()} if isinstance(extra, dict) else extra or {}
    if not isinstance(extra, dict) or set(extra) - allowed:
        raise MappingError(f"{where}: keys must be among {', '.join(sorted(allowed))}")
    out = {fold(v): k for k, values in base.items() for v in values}
    for key, values in extra.items():
        for v in [values] if isinstance(values, str) else (values or []):
            out[fold(v)] = key
    return out


def _consent_vocabulary(raw: dict, where: str) -> dict[str, str]:
    """The built-in consent words, then the older `flag_values` (true -> granted, false -> revoked),
    then `consent_values`: a word listed later moves to its new class. A blank cell is never a word."""
    vocabulary = _vocabulary(DEFAULT_CONSENT_VALUES, None, set(DEFAULT_CONSENT_VALUES), where)
    legacy = _vocabulary({}, raw.get("flag_values"), {"true", "false"}, f"{where} flag_values")
    vocabulary |= {word: "granted" if value == "true" else "revoked" for word, value in legacy.items()}
    vocabulary |= _vocabulary({}, raw.get("consent_values"), set(DEFAULT_CONSENT_VALUES), f"{where} consent_values")
    vocabulary.pop("", None)
    return vocabulary


def _entry(raw: Any, i: int, referenced: set[str] = frozenset()) -> Entry:
    """One validated entry; `referenced`: names of the entries orders name customers in (their ids
    are business ids, so stable across exports: scope `entry` unless the entry says otherwise)."""
    where = f"mapping entry #{i + 1}"
    if not isinstance(raw, dict):
        raise MappingError(f"{where} is not a mapping")
    name = raw.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise MappingError(f"{where}: `name` must be a lower-case identifier (it is the rows' source system "
                           "and prefixes record ids)")
    where = f"mapping entry '{name}'"
    unknown = set(raw) - ENTRY_KEYS
    if unknown:
        raise MappingError(f"{where}: unknown keys {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(ENTRY_KEYS))}")
    table = raw.get("table")
    if table not in TABLE_FIELDS:
        raise MappingError(f"{where}: `table` must be one of {', '.join(TABLE_FIELDS)}, not {table!r}")
    patterns = raw.get("patterns")
    patterns = [patterns] if isinstance(patterns, str) else patterns
    if not patterns or not all(isinstance(p, str) for p in patterns):
        raise MappingError(f"{where}: `patterns` must list file-name globs")
    if "record_id" not in raw:
        raise MappingError(f"{where}: `record_id` names the column that identifies a row")
    columns_raw = raw.get("columns") or {}
    bad = set(columns_raw) - TABLE_FIELDS[table]
    if bad:
        raise MappingError(f"{where}: fields {', '.join(sorted(bad))} do not exist in table {table}; "
                           f"known fields: {', '.join(sorted(TABLE_FIELDS[table]))}")
    columns = {"record_id": _spellings(raw["record_id"], f"{where} record_id")}
    columns |= {f: _spellings(v, f"{where} columns.{f}") for f, v in columns_raw.items()}
    optional = frozenset(raw.get("optional") or [])
    if optional - set(columns):
        raise MappingError(f"{where}: `optional` names unmapped fields {', '.join(sorted(optional - set(columns)))}")
    if "record_id" in optional:
        raise MappingError(f"{where}: the record id cannot be optional")
    if table == "orders" and ORDER_REQUIRED - set(columns):
        raise MappingError(f"{where}: an orders file needs {', '.join(sorted(ORDER_REQUIRED - set(columns)))}")
    default_status = raw.get("default_status")
    if default_status not in (None, *DEFAULT_STATUSES):
        raise MappingError(f"{where}: `default_status` must be one of {', '.join(DEFAULT_STATUSES)}")
    kind = raw.get("kind", "other")
    if kind not in ENTRY_KINDS:
        raise MappingError(f"{where}: `kind` must be one of {', '.join(ENTRY_KINDS)}, not {kind!r}")
    scope = raw.get("record_id_scope", "entry" if name in referenced else DEFAULT_RECORD_ID_SCOPE[kind])
    if scope not in RECORD_ID_SCOPES:
        raise MappingError(f"{where}: `record_id_scope` must be one of {', '.join(RECORD_ID_SCOPES)}, not {scope!r}")
    if scope == "year" and table != "orders":
        raise MappingError(f"{where}: `record_id_scope: year` takes the year of an order's date; use it on orders")
    rank = raw.get("rank")
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or not 1 <= rank <= 99):
        raise MappingError(f"{where}: `rank` must be a whole number from 1 (most trusted) to 99, not {rank!r}")
    date_formats = raw.get("date_formats") or DEFAULT_DATE_FORMATS
    footer = raw.get("footer") or []
    return Entry(
        name=name,
        kind=kind,
        rank=rank,
        patterns=tuple(patterns),
        table=table,
        columns=columns,
        optional=optional,
        id_prefix=str(raw.get("id_prefix", f"{name}:")),
        record_id_per_sheet=bool(raw.get("record_id_per_sheet", False)),
        record_id_scope=scope,
        sheets=tuple(raw.get("sheets") or ()),
        date_formats=tuple([date_formats] if isinstance(date_formats, str) else date_formats),
        consent=_consent_vocabulary(raw, where),
        statuses=_vocabulary(DEFAULT_STATUSES, raw.get("statuses"), set(DEFAULT_STATUSES), f"{where} statuses"),
        default_status=default_status,
        footer=tuple(fold(f) for f in ([footer] if isinstance(footer, str) else footer)),
        customer_ref_mapping=raw.get("customer_ref_mapping"),
        header_search_rows=int(raw.get("header_search_rows", 30)),
        digest=hashlib.sha256(json.dumps({"row_format": ROW_FORMAT, "record_id_scope": scope, **raw}, sort_keys=True, ensure_ascii=False,
                                         default=str).encode()).hexdigest()[:16],
    )


def parse_mapping(spec: Any, origin: str = "mapping") -> Mapping:
    if not isinstance(spec, dict) or not isinstance(spec.get("mappings"), list):
        raise MappingError(f"{origin}: expected a top-level `mappings:` list (see connectors/spreadsheets/README.md)")
    referenced = {raw.get("customer_ref_mapping") for raw in spec["mappings"] if isinstance(raw, dict)}
    entries = tuple(_entry(raw, i, referenced) for i, raw in enumerate(spec["mappings"]))
    names = [e.name for e in entries]
    if len(set(names)) != len(names):
        raise MappingError(f"{origin}: entry names repeat: {', '.join(sorted({n for n in names if names.count(n) > 1}))}")
    prefixes = [e.id_prefix for e in entries]
    if len(set(prefixes)) != len(prefixes):
        raise MappingError(f"{origin}: two entries share an id_prefix, so their record ids could collide")
    for e in entries:
        if e.customer_ref_mapping is None:
            continue
        target = next((t for t in entries if t.name == e.customer_ref_mapping), None)
        if e.table != "orders" or "customer_ref" not in e.columns:
            raise MappingError(f"{origin}: entry '{e.name}' sets customer_ref_mapping without an orders `customer_ref` column")
        if target is None or target.table != "members" or target.record_id_per_sheet:
            raise MappingError(f"{origin}: entry '{e.name}' refers to '{e.customer_ref_mapping}', which is not a members "
                               "entry with file-wide record ids")
        if target.record_id_scope != "entry":
            raise MappingError(f"{origin}: entry '{e.name}' refers to '{target.name}', whose record ids are unique only "
                               f"per {target.record_id_scope}, so an order cannot name one; if its ids are stable across "
                               "exports (a CRM's customer id), give it `record_id_scope: entry`")
    return Mapping(entries)


def load_mapping(path: str | Path | None = None) -> Mapping:
    path = Path(path or DEFAULT_MAPPING)
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: cannot read the mapping: {exc}") from exc
    return parse_mapping(spec, str(path))
