"""Unisender API constants (../shared/specs/destinations.md §1)."""

IMPORT_BATCH = 500  # importContacts rows per call, documented maximum
# Errors that mean "not now" rather than "never": retried with backoff.
RETRYABLE_CODES = {"retry_later", "api_call_limit_exceeded_for_api_key", "api_call_limit_exceeded_for_ip"}
EXPORT_FIELDS = ["email", "email_status", "email_availability", "email_add_time", "email_list_ids",
                 "email_unsubscribed_list_ids", "email_excluded_list_ids"]
