"""Unisender as a dlt source: every contact with its status and list membership.

The export is Unisender's asynchronous one (`async/exportContacts` → poll → download), the way
the docs recommend for whole bases. Contacts are merged on the (lower-cased) e-mail. The status is
what consent needs: `unsubscribed` here means the person opted out in the mailing tool, which the
CRM usually does not know.

Standalone:  python -m connectors.unisender --base-url http://127.0.0.1:8302 --api-key demo-key
"""

from __future__ import annotations

from typing import Any, Iterator

import dlt

from connectors.common.quarantine import quarantine_resource, quarantined
from connectors.unisender.client import UnisenderClient

__all__ = ["unisender_source", "UnisenderClient"]


@dlt.source(name="unisender", max_table_nesting=0)
def unisender_source(base_url: str = dlt.config.value, api_key: str = dlt.secrets.value):
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    client = UnisenderClient(base_url, api_key)

    @dlt.resource(name="contacts", primary_key="email", write_disposition="merge")
    def contacts() -> Iterator[Any]:
        batch = []
        for line, row in enumerate(client.export_contacts(), start=2):
            email = (row.get("email") or "").strip().lower()
            if "@" not in email:
                yield quarantined("unisender", f"exportContacts line {line}", "row has no e-mail", row)
                continue
            batch.append({**row, "email": email})
            if len(batch) >= 5000:
                yield batch
                batch = []
        if batch:
            yield batch

    @dlt.resource(name="lists", primary_key="id", write_disposition="merge")
    def lists() -> Iterator[Any]:
        yield client.get_lists()

    return contacts, lists, quarantine_resource()
