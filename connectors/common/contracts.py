"""Schema contracts for the columns that matter most: personal data and consent.

Two guards, both loud:
- `PII_CONTRACT` goes on a resource's `schema_contract`: new tables and columns may appear (APIs
  grow), but a column that changes type (a phone that turns into an object, a consent flag that
  turns into text) fails the load with dlt's `DataValidationError` naming table and column, instead
  of dlt quietly creating a `<column>__v_text` variant that staging would never read.
- `require_fields` runs on the first record of each page: if the API stops sending a field we
  read personal data or consent from (renamed upstream), the run stops with `SchemaDrift` naming
  the system, the endpoint and the missing field. Without it a rename would load as all-NULL and
  silently empty the consent mart.
"""

from __future__ import annotations

from typing import Any, Iterable

PII_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}


class SchemaDrift(RuntimeError):
    """The source no longer sends a field the pipeline depends on."""


def require_fields(record: Any, fields: Iterable[str], *, system: str, where: str) -> None:
    """Raise `SchemaDrift` if `record` (a dict) lacks any of `fields` (dotted paths allowed).

    Only presence is checked (a present `null` is fine: many people have no e-mail); values are
    never included in the message, only field names.
    """
    if not isinstance(record, dict):
        return
    missing = [f for f in fields if not _has(record, f.split("."))]
    if missing:
        raise SchemaDrift(
            f"{system}: {where} no longer returns {', '.join(sorted(missing))}; "
            f"the fields seen were {', '.join(sorted(record))}. Personal-data and consent columns "
            f"are under contract: update the connector and staging before loading again."
        )


def _has(record: dict, path: list[str]) -> bool:
    head, *rest = path
    if head not in record:
        return False
    return not rest or (isinstance(record[head], dict) and _has(record[head], rest))
