"""Bitrix24 REST constants (../shared/specs/sources.md §3, apidocs.bitrix24.com)."""

PAGE_SIZE = 50  # fixed by the API: every list method answers 50 rows a page
BATCH_MAX_COMMANDS = 50  # documented maximum of commands in one `batch` call
# List pages fetched per `batch` call after the first page. A batch counts as ONE request against
# the leaky bucket (2/s, burst 50), so 50 pages (2,500 rows) per request keeps a full load of a
# large portal far below the limit.
BATCH_PAGES = 50
WEBHOOK_USER_ID = 1  # the user an incoming webhook belongs to, when the base URL does not say
# `>DATE_MODIFY` is strict and to the second; re-read this many seconds before the last cursor so a
# record saved in the same second as the previous run's last one is not skipped (merge dedupes).
CURSOR_LAG_SECONDS = 300

# The default select (`*` + `UF_*`) leaves out the multi-fields, so they are named explicitly.
CONTACT_SELECT = ["*", "UF_*", "PHONE", "EMAIL"]
DEAL_SELECT = ["*", "UF_*"]
ORDER = {"ID": "ASC"}  # offset paging is stable under edits when ordered by an immutable key

# Fields staging reads personal data, money and the cursor from: if Bitrix24 stops sending one,
# the run stops (connectors.common.contracts.require_fields) instead of loading NULLs.
CONTACT_FIELDS = ("ID", "NAME", "SECOND_NAME", "LAST_NAME", "BIRTHDATE", "HAS_PHONE", "HAS_EMAIL",
                  "DATE_CREATE", "DATE_MODIFY")
DEAL_FIELDS = ("ID", "CONTACT_ID", "OPPORTUNITY", "CURRENCY_ID", "STAGE_ID", "STAGE_SEMANTIC_ID", "CLOSED",
               "CLOSEDATE", "DATE_CREATE", "DATE_MODIFY")
# A flag that promises a multi-field: `HAS_PHONE: Y` with no `PHONE` means it fell out of select.
MULTI_FIELD_FLAGS = {"HAS_PHONE": "PHONE", "HAS_EMAIL": "EMAIL"}
