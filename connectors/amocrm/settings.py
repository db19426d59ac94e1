"""amoCRM (Kommo) API v4 constants (../shared/specs/sources.md §2)."""

API_PREFIX = "/api/v4"
PAGE_LIMIT = 250  # documented maximum per page; the API cuts larger values to it
# Seconds re-read before the last cursor value: a record saved in the same second as the last
# one we saw, or committed a moment late with an earlier timestamp, is not missed. Merge on id
# makes the re-read harmless.
CURSOR_OVERLAP_SECONDS = 60
HTTP_ATTEMPTS = 6

# Fields staging reads personal data from; if amoCRM stops sending one, the run stops
# (connectors.common.contracts.require_fields). `custom_fields_values` may be null, never absent.
CONTACT_FIELDS = ("id", "name", "first_name", "last_name", "custom_fields_values", "created_at", "updated_at")
LEAD_FIELDS = ("id", "price", "status_id", "pipeline_id", "created_at", "updated_at", "closed_at", "_embedded")

# Unix-second integers as amoCRM sends them; declared so a page of nulls cannot leave the type
# open, and JSON parts stay JSON columns for staging to unpack. (One dict per column: dlt writes
# the column name into the hint it is given, so a shared dict would rename its siblings.)
def _columns(**types: str) -> dict[str, dict[str, str]]:
    return {name: {"data_type": data_type} for name, data_type in types.items()}


CONTACT_COLUMNS = _columns(
    id="bigint", created_at="bigint", updated_at="bigint", closest_task_at="bigint",
    custom_fields_values="json", _embedded="json", _links="json",
)
LEAD_COLUMNS = _columns(
    id="bigint", created_at="bigint", updated_at="bigint", closed_at="bigint", closest_task_at="bigint",
    price="bigint", status_id="bigint", pipeline_id="bigint", loss_reason_id="bigint",
    custom_fields_values="json", _embedded="json", _links="json",
)
